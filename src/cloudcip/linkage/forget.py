"""What a purge forgets of the linkage graph (B1, B2, G1, G2): the purged customers' identifiers
(blind-index tokens and masked displays), their place in a cluster, and their accounts' risk scores.

The clusters the purged records belonged to are split in the purge's own transaction when the purged
subjects were what held them together: each such cluster's remaining members are regrouped over the
strong identifiers they still share (union-find over that cluster alone, a bounded local rebuild:
every subject sharing a strong identifier is already in the same cluster). The largest remaining
group keeps the cluster's id, every other group gets a new one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, delete, select, update

from cloudcip import clock
from cloudcip.linkage.identifiers import STRONG_KINDS
from cloudcip.linkage.schema import link_cluster, link_identifier, risk_score
from cloudcip.records.purge import PurgeScope, chunks
from cloudcip.storage.idlist import any_of

Subject = tuple[str, str]


def forget_links(conn: Connection, scope: PurgeScope) -> int:
    """The purge's hook (``records.purge``); the number of rows deleted."""
    deleted = 0
    touched: set[str] = set()
    for chunk in chunks(scope.customer_ids):
        touched.update(conn.execute(select(link_cluster.c.cluster_id).distinct()
                                    .where(any_of(link_cluster.c.customer_id, chunk))).scalars())
        for table in (link_identifier, link_cluster):
            deleted += max(0, conn.execute(delete(table).where(any_of(table.c.customer_id, chunk))).rowcount or 0)
    for chunk in chunks(scope.account_ids):
        deleted += max(0, conn.execute(delete(risk_score).where(any_of(risk_score.c.account_id, chunk))).rowcount or 0)
    for cluster_id in sorted(touched):
        split_cluster(conn, cluster_id)
    return deleted


def split_cluster(conn: Connection, cluster_id: str) -> int:
    """Regroup what is left of one cluster over the strong identifiers its members still share; the
    number of clusters it became (0 when nothing is left of it)."""
    members: list[Subject] = [(str(row.subject_type), str(row.subject_id)) for row in conn.execute(
        select(link_cluster.c.subject_type, link_cluster.c.subject_id).where(link_cluster.c.cluster_id == cluster_id))]
    if len(members) < 2:
        return len(members)
    parent: dict[Subject, Subject] = {subject: subject for subject in members}

    def find(item: Subject) -> Subject:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    holders: dict[tuple[str, str], list[Subject]] = defaultdict(list)
    for subject_type in sorted({subject[0] for subject in members}):
        ids = [subject[1] for subject in members if subject[0] == subject_type]
        for chunk in chunks(ids):
            column = link_identifier.c
            for row in conn.execute(select(column.subject_id, column.kind, column.token)
                                    .where(link_identifier.c.subject_type == subject_type,
                                           any_of(link_identifier.c.subject_id, chunk),
                                           link_identifier.c.kind.in_(sorted(STRONG_KINDS)))):
                holders[(str(row.kind), str(row.token))].append((subject_type, str(row.subject_id)))
    for held in holders.values():
        for other in held[1:]:
            a, b = find(held[0]), find(other)
            if a != b:
                parent[a] = b
    groups: dict[Subject, list[Subject]] = defaultdict(list)
    for subject in members:
        groups[find(subject)].append(subject)
    if len(groups) == 1:
        return 1
    now = clock.now()
    ordered = sorted(groups.values(), key=lambda group: (-len(group), min(group)))
    for group in ordered[1:]:  # the largest keeps the cluster's id
        _move(conn, group, str(uuid.uuid4()), now)
    return len(groups)


def _move(conn: Connection, group: Sequence[Subject], cluster_id: str, now: object) -> None:
    for subject_type in sorted({subject[0] for subject in group}):
        ids = [subject[1] for subject in group if subject[0] == subject_type]
        for chunk in chunks(ids):
            conn.execute(update(link_cluster).where(link_cluster.c.subject_type == subject_type,
                                                    any_of(link_cluster.c.subject_id, chunk))
                         .values(cluster_id=cluster_id, updated_at=now))


__all__ = ["forget_links", "split_cluster"]
