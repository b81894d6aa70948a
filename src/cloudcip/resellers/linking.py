"""The hook through which a shared sub-lessee joins the linkage graph on arrival (E2, G1, G3): a Protocol
the wiring fills.

``resellers`` does not import ``linkage`` (linkage reads the sub-lessee table); the API and the CLI pass
``runtime.sub_lessee_links`` into ``sub_lessees.share_sub_lessees``. For each sub-lessee created or
changed, in the share's transaction, ``record``:

- adds its identifiers (the normalised e-mail, each document by issuing country) to the graph, as
  blind-index tokens;
- names its links to flagged subjects (a customer refused, closed, restricted, with a confirmed hit,
  peer indicator or incident report; a refused sub-lessee): a strong one (e-mail, document) is
  ``review`` and becomes an ``account_signal`` of kind ``sub_lessee_link`` on the Reseller Account for a
  person; a weak one is a note;
- matches it against the peers' indicators already stored (an e-mail a peer reported): each match is
  open for a person to adjudicate (``cloudcip sharing matches list``).

Answers carry kinds, strengths and masked reasons only: never a value, nor the other subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection


@dataclass(frozen=True)
class SubLesseeLink:
    kind: str
    strength: str
    review: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "strength": self.strength, "review": self.review, "reason": self.reason}


@dataclass(frozen=True)
class SubLesseeLinking:
    """What joining the graph found: links to flagged subjects, and open matches of peers' indicators."""

    links: tuple[SubLesseeLink, ...] = ()
    indicator_matches: int = 0
    signals: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"links": [link.as_json() for link in self.links], "indicator_matches": self.indicator_matches}


class SubLesseeLinks(Protocol):
    def record(self, conn: Connection, sub_lessee_id: str, reseller_account_id: str, reseller_customer_id: str,
               email: str | None, documents: Sequence[dict[str, str]], *,
               wallet: str | None = None) -> SubLesseeLinking: ...
