"""Who on record holds an identifier a peer's indicator names (G3): a Protocol the wiring fills.

``sharing`` does not import ``linkage`` (linkage reads sharing's matches); ``runtime.indicator_intake``
passes the linkage package's implementation in (``linkage.indicators.LinkedHolders``). Given an
indicator's observable (an e-mail address, a crypto-wallet address), ``holders`` answers the
customers, beneficial owners and **sub-lessees** of Reseller Accounts that carry it, compared as keyed
blind indexes in the linkage graph: no plaintext on record is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from sqlalchemy import Connection

HeldKind = Literal["email", "wallet"]


class IdentifierHolders(Protocol):
    def holders(self, conn: Connection, kind: HeldKind, value: str) -> Sequence[tuple[str, str]]:
        """``(subject_type, subject_id)`` of each holder: ``customer``, ``beneficial_owner``, ``sub_lessee``."""
        ...

    def holders_many(self, conn: Connection, kind: HeldKind,
                     values: Sequence[str]) -> dict[str, Sequence[tuple[str, str]]]:
        """``holders`` of many values at once (a batch of indicators): each value with a holder."""
        ...

    def token(self, kind: HeldKind, value: str) -> str:
        """The graph's token of the observable (kept with the indicator, so a subject that arrives later
        is matched by it: ``ingest.match_new_subject``)."""
        ...
