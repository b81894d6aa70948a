"""The sub-lessees of Reseller Accounts whose retention ended (B1, E2).

A sub-lessee's fields are sealed under the reseller customer's data key, so purging that customer
shreds them; ``delete_sub_lessees`` then removes the rows and their screening hits. The records
capability's one purge (``records.purge``, the administrator's and the retention run's) calls it
through ``forget_sub_lessees`` (wired in ``runtime``) inside the purge's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from cloudcip.records.purge import PurgeScope
from cloudcip.resellers.schema import sub_lessee
from cloudcip.screening.schema import screening_hit
from cloudcip.storage.idlist import any_of


def delete_sub_lessees(conn: Connection, reseller_account_ids: Sequence[str]) -> int:
    """Delete the sub-lessees of ``reseller_account_ids`` and their hits; the number of sub-lessees."""
    deleted = 0
    for start in range(0, len(reseller_account_ids), 500):
        chunk = list(reseller_account_ids[start:start + 500])
        ids = [str(i) for i in conn.execute(select(sub_lessee.c.id)
                                            .where(any_of(sub_lessee.c.reseller_account_id, chunk))).scalars()]
        for begin in range(0, len(ids), 500):
            conn.execute(delete(screening_hit).where(screening_hit.c.subject_type == "sub_lessee",
                                                     any_of(screening_hit.c.subject_id, ids[begin:begin + 500])))
        result = conn.execute(delete(sub_lessee).where(any_of(sub_lessee.c.reseller_account_id, chunk)))
        deleted += max(0, result.rowcount or 0)
    return deleted


def forget_sub_lessees(conn: Connection, scope: PurgeScope) -> int:
    """The purge's hook (``records.purge``): the sub-lessees of the purged Reseller Accounts go too."""
    return delete_sub_lessees(conn, scope.reseller_account_ids)


__all__ = ["delete_sub_lessees", "forget_sub_lessees"]
