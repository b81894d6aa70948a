"""The linkage package's side of the sharing hook (``sharing.holders``) (G1, G3).

An e-mail address or a crypto-wallet address named by a peer's indicator is turned into the token the
graph keeps (``linkage.identifiers``: the normalised e-mail's, the wallet's blind index) and looked up:
every customer, beneficial owner and sub-lessee holding it, sub-lessees included once
``cloudcip links backfill`` (or ``serve``'s task every 15 minutes) has taken them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from cloudcip.crypto.blind_index import blind_index
from cloudcip.linkage.identifiers import email_identifier
from cloudcip.linkage.schema import link_identifier
from cloudcip.sharing.holders import HeldKind

MAX_HOLDERS = 1000


@dataclass
class LinkedHolders:
    blind_index_key: bytes

    def token(self, kind: HeldKind, value: str) -> str:
        if kind == "email":
            return email_identifier(self.blind_index_key, value).token
        return blind_index(self.blind_index_key, "wallet", value)

    def holders(self, conn: Connection, kind: HeldKind, value: str) -> Sequence[tuple[str, str]]:
        token = self.token(kind, value)
        rows = conn.execute(select(link_identifier.c.subject_type, link_identifier.c.subject_id).distinct()
                            .where(link_identifier.c.kind == kind, link_identifier.c.token == token)
                            .limit(MAX_HOLDERS)).all()
        return sorted((str(row.subject_type), str(row.subject_id)) for row in rows)

    def holders_many(self, conn: Connection, kind: HeldKind,
                     values: Sequence[str]) -> dict[str, Sequence[tuple[str, str]]]:
        """One statement per 500 values (a batch of indicators), each value's holders as ``holders``."""
        value_of: dict[str, list[str]] = {}
        for value in values:
            value_of.setdefault(self.token(kind, value), []).append(value)
        tokens = sorted(value_of)
        found: dict[str, set[tuple[str, str]]] = {}
        column = link_identifier.c
        for start in range(0, len(tokens), 500):
            rows = conn.execute(select(column.token, column.subject_type, column.subject_id).distinct()
                                .where(column.kind == kind, column.token.in_(tokens[start:start + 500]))).all()
            for row in rows:
                for value in value_of[row.token]:
                    found.setdefault(value, set()).add((str(row.subject_type), str(row.subject_id)))
        return {value: sorted(held)[:MAX_HOLDERS] for value, held in found.items()}
