"""What a purge forgets of a customer's applications (B1, B2): the sealed signup IP, the one-time-code
rows, the U.S./foreign determinations with their evidence, and the provider's notices about them.

The application row itself stays (its state, decision and answer hold no personal data), so the
counts the certification and the roster report do not change when a record is purged.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from cloudcip.jobs.webhooks import forget_payloads
from cloudcip.records.purge import PurgeScope, chunks
from cloudcip.storage.idlist import any_of
from cloudcip.verification.schema import application, otp_challenge, person_determination


def forget_applications(conn: Connection, scope: PurgeScope) -> int:
    """The purge's hook (``records.purge``); the number of rows deleted or shredded."""
    application_ids: list[str] = []
    for chunk in chunks(scope.customer_ids):
        application_ids += [str(i) for i in conn.execute(select(application.c.id)
                                                         .where(any_of(application.c.customer_id, chunk))).scalars()]
    touched = 0
    for chunk in chunks(application_ids):
        touched += max(0, conn.execute(delete(otp_challenge).where(any_of(otp_challenge.c.application_id, chunk)))
                       .rowcount or 0)
        touched += max(0, conn.execute(delete(person_determination)
                                       .where(any_of(person_determination.c.application_id, chunk))).rowcount or 0)
        conn.execute(update(application).where(any_of(application.c.id, chunk)).values(signup_ip_sealed=None))
    touched += forget_payloads(conn, application_ids + list(scope.subject_ids))
    return touched


__all__ = ["forget_applications"]
