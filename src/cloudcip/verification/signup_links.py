"""The hook through which a signup asks about linked accounts (G1): a Protocol the wiring fills.

``verification`` does not import ``linkage``; ``runtime.gate_applications`` passes the linkage
package's implementation in (``linkage.hook.LinkageSignupHook``). Before the decision, ``check`` names
the links of the new record to flagged customers (an account refused, closed or restricted, a confirmed
hit): a link with ``review`` set (a strong one: card, bank account, wallet, national ID, phone, e-mail,
device) is a **ban-evasion signal**: the policy's ``ban_evasion_link`` trigger sends the application to
a person with its ``reason`` (which names the link, masked); the others (a shared /24 or /64, a hosting
ASN) are notes and never decide. In the signup's transaction, ``record`` adds the new customer's
identifiers to the graph (``owners``: the ids of its beneficial owners' records by ``beneficial_owner:<n>``,
which the signup has just written, else looked up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "strength": self.strength, "review": self.review, "reason": self.reason}


class SignupLinks(Protocol):
    def check(self, conn: Connection, record: CustomerRecord, *, signup_ip: str | None,
              device_id: str | None) -> Sequence[SignupLink]: ...

    def record(self, conn: Connection, customer_id: str, record: CustomerRecord, *, signup_ip: str | None,
               device_id: str | None, owners: Mapping[str, str] | None = None) -> None: ...


def links_of_answer(items: Iterable[dict[str, Any]]) -> list[SignupLink]:
    """The links a stored answer carries (a re-evaluation decides with them again)."""
    return [SignupLink(str(item["kind"]), str(item["strength"]), bool(item["review"]), str(item["reason"]))
            for item in items]


def review_reasons(links: Sequence[SignupLink]) -> tuple[str, ...]:
    """The reasons of the ban-evasion links (the decision's ``links``)."""
    return tuple(link.reason for link in links if link.review)


def link_notes(links: Sequence[SignupLink]) -> tuple[str, ...]:
    """The reasons of the weak links: notes that explain, never decide."""
    return tuple(link.reason for link in links if not link.review)
