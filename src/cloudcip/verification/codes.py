"""One-time codes of an application's case (A4 non-documentary methods): issue, confirm, and the
contact they verify. Codes are stored hashed; a code leaves only once, through the provider's
webhook (``otp.deliver``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select, update

from cloudcip import clock
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import contact
from cloudcip.verification import otp
from cloudcip.verification.errors import ApplicationNotFound, EvidenceRefused
from cloudcip.verification.schema import application, otp_challenge

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

# a confirmation's statements, built once and run on the driver (``storage.prepared``)
_LATEST_CHALLENGE = Prepared(
    select(otp_challenge.c.id, otp_challenge.c.code_hash, otp_challenge.c.expires_at, otp_challenge.c.attempts,
           otp_challenge.c.max_attempts, otp_challenge.c.verified_at)
    .where(otp_challenge.c.application_id == bindparam("application_id"),
           otp_challenge.c.channel == bindparam("channel"))
    .order_by(otp_challenge.c.created_at.desc()).limit(1))
_ATTEMPTED = Prepared(update(otp_challenge).where(otp_challenge.c.id == bindparam("challenge_id")).values(
    attempts=otp_challenge.c.attempts + 1, verified_at=bindparam("verified_at")))
_CONTACT_VERIFIED = Prepared(update(contact).where(contact.c.customer_id == bindparam("customer_id"),
                                                   contact.c.kind == bindparam("kind"))
                             .values(verification_state="verified", verified_at=bindparam("verified_at")))


def issue_otp(service: ApplicationService, application_id: str, channel: str, actor: Actor) -> dict[str, Any]:
    """Issue a code: stored hashed; it leaves only once, through the provider's webhook."""
    now = service.clock()
    code = otp.new_code()
    challenge_id = str(uuid.uuid4())
    expires = now + otp.DEFAULT_TTL
    with service.services.ledger.unit_of_work() as work:
        row = work.conn.execute(select(application.c.id, application.c.state).where(
            application.c.id == application_id)).first()
        if row is None:
            raise ApplicationNotFound(application_id)
        if row.state not in ("pending_evidence", "in_review"):
            raise EvidenceRefused(f"the case is {row.state}; no code is needed")
        work.conn.execute(insert(otp_challenge), dict(
            id=challenge_id, application_id=application_id, channel=channel,
            code_hash=otp.hash_code(otp.code_key(service.services.keyring.blind_index_key()), challenge_id, code),
            created_at=now, expires_at=expires, attempts=0,
            max_attempts=otp.DEFAULT_MAX_ATTEMPTS))
        enqueue(work.conn, "otp.deliver", {"application_id": application_id, "channel": channel,
                                           "challenge_id": challenge_id, "code": code,
                                           "expires_at": clock.iso(expires)})
        work.log(LedgerAction(actor.name, actor.role, "issue_otp", "application", application_id,
                              purpose="verification", detail={"channel": channel}))
    return {"challenge_id": challenge_id, "channel": channel, "expires_at": clock.iso(expires)}


def confirm_otp(service: ApplicationService, application_id: str, channel: str, code: str,
                actor: Actor) -> dict[str, Any]:
    """Check a presented code; a verified one becomes ``email_otp``/``phone_otp`` evidence."""
    now = service.clock()
    with service.services.database.engine.begin() as conn:
        challenge = _LATEST_CHALLENGE.first(conn, {"application_id": application_id, "channel": channel})
        if challenge is None:
            raise EvidenceRefused(f"no {channel} code was issued for this application")
        challenge_id, code_hash, expires_at, attempts, max_attempts, verified_at = challenge
        result = otp.check_code(key=otp.code_key(service.services.keyring.blind_index_key()),
                                challenge_id=challenge_id, code_hash=code_hash, presented=code,
                                expires_at=clock.utc(expires_at), attempts=attempts,
                                max_attempts=max_attempts, verified_at=verified_at, now=now)
        if result.reason != "already_used":
            _ATTEMPTED.execute(conn, {"challenge_id": challenge_id, "verified_at": now if result.verified else None})
    if not result.verified:
        raise EvidenceRefused(f"{channel} code not accepted: {result.reason.replace('_', ' ')}")
    return service.add_evidence(application_id, f"{channel}_otp", "verified", actor, reference=challenge_id)


def mark_contact_verified(conn: Connection, customer_id: str, method: str, outcome: str, now: datetime) -> None:
    """A verified code verifies the contact it went to."""
    if method in ("email_otp", "phone_otp") and outcome == "verified":
        _CONTACT_VERIFIED.execute(conn, {"customer_id": customer_id, "kind": method.split("_")[0],
                                         "verified_at": now})
