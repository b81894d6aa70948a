"""The hook through which a signup asks about linked accounts (G1): a Protocol the wiring fills.

``verification`` does not import ``linkage``; ``runtime.build_applications`` passes the linkage
package's implementation in. Before the decision, ``check`` names the links of the new record to
flagged customers: a link with ``review`` set sends the application to a person, with its ``reason``
(which names the link); the others are notes. In the signup's transaction, ``record`` adds the new
customer's identifiers to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from cloudcip.domain.customer import CustomerRecord


@dataclass(frozen=True)
class SignupLink:
    """One link of a signup to a flagged customer: its kind, strength, whether it asks for review, and
    the reason the answer carries (no personal data)."""

    kind: str
    strength: str
    review: bool
    reason: str


class SignupLinks(Protocol):
    def check(self, conn: Connection, record: CustomerRecord, *, signup_ip: str | None,
              device_id: str | None) -> Sequence[SignupLink]: ...

    def record(self, conn: Connection, customer_id: str, record: CustomerRecord, *, signup_ip: str | None,
               device_id: str | None) -> None: ...
