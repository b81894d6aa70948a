"""What a purge forgets of the linkage graph (B1, B2, G1, G2): the purged customers' identifiers
(blind-index tokens and masked displays), their place in a cluster, and their accounts' risk scores.
Clusters the purged record joined are made whole again by ``cloudcip links rebuild``."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from cloudcip.linkage.schema import link_cluster, link_identifier, risk_score
from cloudcip.records.purge import PurgeScope, chunks
from cloudcip.storage.idlist import any_of


def forget_links(conn: Connection, scope: PurgeScope) -> int:
    """The purge's hook (``records.purge``); the number of rows deleted."""
    deleted = 0
    for chunk in chunks(scope.customer_ids):
        for table in (link_identifier, link_cluster):
            deleted += max(0, conn.execute(delete(table).where(any_of(table.c.customer_id, chunk))).rowcount or 0)
    for chunk in chunks(scope.account_ids):
        deleted += max(0, conn.execute(delete(risk_score).where(any_of(risk_score.c.account_id, chunk))).rowcount or 0)
    return deleted


__all__ = ["forget_links"]
