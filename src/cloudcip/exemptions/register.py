"""The exemption register (F1; EO 13984 sec. 1(c)).

An exemption is granted to the provider as a whole (``provider``), to an account type
(``account_type``: ``standard``, ``reseller``, ``trial``) or to a lessee type (``lessee_type``:
``individual``, ``entity``, ``sub_lessee``), on a basis (the abuse-deterrence program it rests on),
from ``granted_at`` until ``expires_at`` (exclusive: at that instant it no longer applies), with its
conditions, for some of the steps ``verification.signup_exemptions.EXEMPTABLE_STEPS`` names. Screening
and special measures are never exempted: asking for them is refused naming ``steps``.

Two exemptions may not both exempt one step for one application at one instant: a grant whose scope
can reach the same applications (the provider reaches all; an account type and a lessee type can
meet in one application; two values of one kind never do), whose period overlaps and which shares a
step with another is refused naming the other. So ``applying`` finds at most one exemption per step.

A revocation ends an exemption at once; :meth:`ExemptionRegister.flag_ended` then (and for the
exemptions that expired, from ``cloudcip exemptions flag-ended``) puts the exempted steps back on the
accounts that used it: their cases owe the evidence again, approved ones are due for re-verification
now. Every change is on the ledger.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.exemptions.schema import exemption, exemption_notice, exemption_use
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, Permission, may
from cloudcip.storage.database import Database
from cloudcip.storage.prepared import Prepared
from cloudcip.verification.schema import application
from cloudcip.verification.signup_exemptions import (
    EXEMPTABLE_STEPS,
    NEVER_EXEMPTED,
    ExemptionInForce,
    SignupContext,
    steps_of_row,
    stored_steps,
)

# every signup asks (F1): the statement is built once, its values bound per signup, run on the driver
# (``storage.prepared``)
_APPLYING = Prepared(select(exemption.c.id, exemption.c.steps_json).where(
    or_(exemption.c.scope_kind == "provider",
        and_(exemption.c.scope_kind == "account_type", exemption.c.scope_value == bindparam("account_type")),
        and_(exemption.c.scope_kind == "lessee_type",
             exemption.c.scope_value.in_(bindparam("lessee_types", expanding=True)))),
    exemption.c.granted_at <= bindparam("at"), exemption.c.expires_at > bindparam("at"),
    or_(exemption.c.revoked_at.is_(None), exemption.c.revoked_at > bindparam("at")))
    .order_by(exemption.c.granted_at, exemption.c.id))

SCOPE_KINDS: tuple[str, ...] = ("provider", "account_type", "lessee_type")
SCOPE_VALUES: dict[str, tuple[str, ...]] = {
    "provider": ("*",),
    "account_type": ("standard", "reseller", "trial"),
    "lessee_type": ("individual", "entity", "sub_lessee"),
}
MAX_BASIS = 20_000
MAX_CONDITIONS = 50
MAX_TEXT = 500


class ExemptionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such exemption")


class ExemptionOverlap(Conflict):
    """The grant would exempt a step another exemption already exempts for the same applications."""

    def __init__(self, other_id: str, steps: Sequence[str]) -> None:
        super().__init__(f"the exemption overlaps exemption {other_id} (scope, period and step "
                         f"{', '.join(steps)}); revoke or narrow that one first")
        self.other_id = other_id


def _require(actor: Actor, permission: Permission) -> None:
    if not may(actor.role, permission):
        raise Forbidden(f"role {actor.role} may not do this ({permission})")


def scopes_meet(kind_a: str, value_a: str, kind_b: str, value_b: str) -> bool:
    """Whether some application falls in both scopes."""
    if "provider" in (kind_a, kind_b) or kind_a != kind_b:
        return True
    return value_a == value_b


def _text(value: str | None, name: str, limit: int = MAX_TEXT, *, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput.field(name, "is required")
        return None
    if len(text) > limit:
        raise InvalidInput.field(name, f"at most {limit} characters")
    return text


def check_steps(steps: Sequence[str]) -> list[str]:
    """The steps asked for, or the error naming ``steps``: never screening or special measures."""
    chosen = sorted({step.strip() for step in steps if step.strip()})
    if not chosen:
        raise InvalidInput.field("steps", f"name at least one of {', '.join(EXEMPTABLE_STEPS)}")
    never = [step for step in chosen if step in NEVER_EXEMPTED]
    if never:
        raise InvalidInput.field("steps", f"{', '.join(never)} can never be exempted (EO 13984 sec. 2: "
                                 "screening and special measures apply to every account)")
    unknown = [step for step in chosen if step not in EXEMPTABLE_STEPS]
    if unknown:
        raise InvalidInput.field("steps", f"unknown step; one of {', '.join(EXEMPTABLE_STEPS)}")
    return chosen


def _ends(row: Any) -> datetime:
    """When an exemption stops applying: its expiry, or its revocation if earlier."""
    end = clock.utc(row.expires_at)
    return min(end, clock.utc(row.revoked_at)) if row.revoked_at is not None else end


def state_of(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if now < clock.utc(row.granted_at):
        return "granted"  # not yet in effect
    return "active" if now < clock.utc(row.expires_at) else "expired"


@dataclass
class ExemptionRegister:
    """The exemptions of one provider, their notices and uses; each change on the ledger (F1, B3)."""

    database: Database
    ledger: Ledger
    now: Callable[[], datetime] = clock.now

    # -- grant -----------------------------------------------------------------------------------
    def grant(self, actor: Actor, *, scope_kind: str, scope_value: str | None, basis: str, steps: Sequence[str],
              granted_at: datetime, expires_at: datetime, conditions: Sequence[str] = (),
              reference: str | None = None) -> dict[str, Any]:
        """Record an exemption granted; refused naming the field at fault, or (409) naming the
        exemption it would overlap."""
        _require(actor, "exemption:write")
        if scope_kind not in SCOPE_KINDS:
            raise InvalidInput.field("scope", f"one of {', '.join(SCOPE_KINDS)}")
        value = "*" if scope_kind == "provider" else (scope_value or "").strip()
        if value not in SCOPE_VALUES[scope_kind]:
            raise InvalidInput.field("scope_value", f"for {scope_kind}, one of {', '.join(SCOPE_VALUES[scope_kind])}")
        basis_text = _text(basis, "basis", MAX_BASIS)
        chosen = check_steps(steps)
        clock.require_aware(granted_at, "granted_at")
        clock.require_aware(expires_at, "expires_at")
        if expires_at <= granted_at:
            raise InvalidInput.field("expires_at", "must be after granted_at")
        kept = [str(_text(item, "conditions")) for item in conditions if item.strip()]
        if len(kept) > MAX_CONDITIONS:
            raise InvalidInput.field("conditions", f"at most {MAX_CONDITIONS}")
        reference_text = _text(reference, "reference", 200, required=False)
        exemption_id = str(uuid.uuid4())
        now = self.now()
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            others = conn.execute(select(exemption).where(
                exemption.c.granted_at < expires_at, exemption.c.expires_at > granted_at)).all()
            for other in sorted(others, key=lambda row: clock.utc(row.granted_at)):
                if _ends(other) <= granted_at or not scopes_meet(scope_kind, value, other.scope_kind,
                                                                   other.scope_value):
                    continue
                shared = sorted(set(chosen) & set(json.loads(other.steps_json)))
                if shared:
                    raise ExemptionOverlap(other.id, shared)
            conn.execute(insert(exemption).values(
                id=exemption_id, scope_kind=scope_kind, scope_value=value, basis=basis_text, reference=reference_text,
                steps_json=json.dumps(chosen), conditions_json=json.dumps(kept), granted_at=granted_at,
                expires_at=expires_at, created_at=now, created_by=actor.name[:64]))
            work.log(LedgerAction(actor.name, actor.role, "grant", "exemption", exemption_id,
                                  purpose="exemption register (F1)",
                                  detail={"scope": f"{scope_kind}:{value}", "steps": chosen,
                                          "granted_at": clock.iso(granted_at), "expires_at": clock.iso(expires_at)}))
            return self._view(conn, self._row(conn, exemption_id), now)

    # -- read ------------------------------------------------------------------------------------
    @staticmethod
    def _row(conn: Connection, exemption_id: str) -> Any:
        row = conn.execute(select(exemption).where(exemption.c.id == exemption_id)).first()
        if row is None:
            raise ExemptionNotFound()
        return row

    @staticmethod
    def _view(conn: Connection, row: Any, now: datetime, *, notices: bool = False) -> dict[str, Any]:
        uses = conn.execute(select(func.count(), func.count(exemption_use.c.flagged_at))
                            .where(exemption_use.c.exemption_id == row.id)).one()
        view: dict[str, Any] = {
            "id": row.id, "scope": {"kind": row.scope_kind, "value": row.scope_value}, "basis": row.basis,
            "reference": row.reference, "steps": json.loads(row.steps_json),
            "conditions": json.loads(row.conditions_json), "granted_at": clock.iso(clock.utc(row.granted_at)),
            "expires_at": clock.iso(clock.utc(row.expires_at)), "state": state_of(row, now),
            "revoked_at": clock.iso(clock.utc_or_none(row.revoked_at)), "revocation_reason": row.revocation_reason,
            "uses": int(uses[0]), "accounts_flagged": int(uses[1]),
        }
        if notices:
            view["notices"] = [
                {"id": n.id, "change": n.change, "changed_at": clock.iso(clock.utc(n.changed_at)),
                 "recipient": n.recipient, "sent_at": clock.iso(clock.utc(n.sent_at)),
                 "recorded_by": n.recorded_by}
                for n in conn.execute(select(exemption_notice).where(exemption_notice.c.exemption_id == row.id)
                                      .order_by(exemption_notice.c.sent_at, exemption_notice.c.id))]
        return view

    def show(self, exemption_id: str, actor: Actor) -> dict[str, Any]:
        _require(actor, "exemption:read")
        with self.database.engine.connect() as conn:
            return self._view(conn, self._row(conn, exemption_id), self.now(), notices=True)

    def list_exemptions(self, actor: Actor, *, state: str | None = None) -> list[dict[str, Any]]:
        """Every exemption, oldest grant first (``state``: only those in that state now)."""
        _require(actor, "exemption:read")
        if state is not None and state not in ("granted", "active", "expired", "revoked"):
            raise InvalidInput.field("state", "one of granted, active, expired, revoked")
        now = self.now()
        with self.database.engine.connect() as conn:
            rows = conn.execute(select(exemption).order_by(exemption.c.granted_at, exemption.c.id)).all()
            return [self._view(conn, row, now) for row in rows if state is None or state_of(row, now) == state]

    # -- revoke, notices ---------------------------------------------------------------------------
    def revoke(self, exemption_id: str, reason: str, actor: Actor) -> dict[str, Any]:
        """End the exemption now, with a reason; the accounts that used it are flagged at once."""
        _require(actor, "exemption:write")
        reason_text = _text(reason, "reason")
        now = self.now()
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, exemption_id)
            if row.revoked_at is not None:
                raise Conflict("the exemption is already revoked")
            if now >= clock.utc(row.expires_at):
                raise Conflict("the exemption has already expired")
            work.conn.execute(update(exemption).where(exemption.c.id == exemption_id).values(
                revoked_at=now, revoked_by=actor.name[:64], revocation_reason=reason_text))
            work.log(LedgerAction(actor.name, actor.role, "revoke", "exemption", exemption_id,
                                  purpose="exemption register (F1)", detail={"reason": reason_text}))
        self.flag_ended(actor)
        with self.database.engine.connect() as conn:
            return self._view(conn, self._row(conn, exemption_id), now, notices=True)

    def notice(self, exemption_id: str, change: str, actor: Actor, *, changed_at: datetime | None = None,
               recipient: str = "U.S. Department of Commerce", sent_at: datetime | None = None) -> dict[str, Any]:
        """Record a notice of significant change to the exempted program, sent to ``recipient``."""
        _require(actor, "exemption:write")
        change_text = _text(change, "change", 4000)
        recipient_text = _text(recipient, "recipient", 200)
        now = self.now()
        changed = changed_at or now
        sent = sent_at or now
        if sent > now:
            raise InvalidInput.field("sent_at", "a notice cannot be sent in the future")
        if changed > sent:
            raise InvalidInput.field("changed_at", "is after the notice was sent")
        notice_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            self._row(work.conn, exemption_id)
            work.conn.execute(insert(exemption_notice).values(
                id=notice_id, exemption_id=exemption_id, change=change_text, changed_at=changed,
                recipient=recipient_text, sent_at=sent, recorded_at=now, recorded_by=actor.name[:64]))
            work.log(LedgerAction(actor.name, actor.role, "notice", "exemption", exemption_id,
                                  purpose="notice of significant change (F1)",
                                  detail={"notice": notice_id, "sent_at": clock.iso(sent)}))
        return {"id": notice_id, "exemption_id": exemption_id, "change": change_text,
                "changed_at": clock.iso(changed), "recipient": recipient_text, "sent_at": clock.iso(sent),
                "recorded_by": actor.name[:64]}

    # -- the signup hook (verification.signup_exemptions) -------------------------------------------
    def applying(self, conn: Connection, context: SignupContext, at: datetime) -> list[ExemptionInForce]:
        """The exemptions in force for ``context`` at ``at``: one per step at most."""
        rows = _APPLYING.all(conn, {"at": at, "account_type": context.account_type,
                                    "lessee_types": sorted(context.lessee_types)})
        taken: set[str] = set()
        found: list[ExemptionInForce] = []
        for exemption_id, steps_json in rows:
            steps = frozenset(json.loads(steps_json)) - taken
            if steps:
                taken |= steps
                found.append(ExemptionInForce(exemption_id, steps))
        return found

    @staticmethod
    def record_use(conn: Connection, used: Sequence[ExemptionInForce], *, application_id: str, account_id: str,
                   customer_id: str, at: datetime) -> None:
        """One row per exemption applied to a signup, in the signup's transaction."""
        conn.execute(insert(exemption_use), [
            {"exemption_id": item.exemption_id, "application_id": application_id, "account_id": account_id,
             "customer_id": customer_id, "steps_json": json.dumps(sorted(item.steps)), "used_at": at}
            for item in used])

    # -- the end of an exemption ---------------------------------------------------------------------
    def flag_ended(self, actor: Actor) -> dict[str, int]:
        """Exemptions that ended (expired or revoked) and whose uses are not flagged yet: the steps go
        back on each case that used them (open cases owe the evidence again; approved ones are due for
        re-verification now), each use is flagged; ``{exemption id: accounts flagged}``."""
        _require(actor, "exemption:write")
        now = self.now()
        flagged: dict[str, int] = {}
        with self.database.engine.connect() as conn:
            ended = [row.id for row in conn.execute(select(exemption.c.id).where(
                or_(exemption.c.expires_at <= now, exemption.c.revoked_at <= now),
                exemption.c.ended_flagged_at.is_(None)))]
        for exemption_id in ended:
            with self.ledger.unit_of_work() as work:
                flagged[exemption_id] = self._flag(work, exemption_id, actor, now)
        return flagged

    @staticmethod
    def _flag(work: Any, exemption_id: str, actor: Actor, now: datetime) -> int:
        conn = work.conn
        accounts: set[str] = set()
        for row in conn.execute(select(application.c.id, application.c.account_id, application.c.state,
                                       application.c.exempted_steps)
                                .where(application.c.exempted_steps.contains(exemption_id))).all():
            left = {step: item.exemption_id for item in steps_of_row(row.exempted_steps) for step in item.steps
                    if item.exemption_id != exemption_id}
            values: dict[str, Any] = {"exempted_steps": stored_steps(left), "updated_at": now}
            if row.state == "approved":
                values["reverify_due"] = now
            conn.execute(update(application).where(application.c.id == row.id).values(**values))
            accounts.add(row.account_id)
            work.log(LedgerAction(actor.name, actor.role, "update", "application", row.id,
                                  purpose="exemption ended: steps back, re-verification due (F1, A7)",
                                  detail={"exemption": exemption_id, "state": row.state}))
        conn.execute(update(exemption_use).where(exemption_use.c.exemption_id == exemption_id,
                                                 exemption_use.c.flagged_at.is_(None)).values(flagged_at=now))
        conn.execute(update(exemption).where(exemption.c.id == exemption_id).values(ended_flagged_at=now))
        work.log(LedgerAction(actor.name, actor.role, "flag_ended", "exemption", exemption_id,
                              purpose="exemption ended (F1)", detail={"accounts": len(accounts)}))
        return len(accounts)


__all__ = ["SCOPE_KINDS", "SCOPE_VALUES", "ExemptionNotFound", "ExemptionOverlap", "ExemptionRegister",
           "check_steps", "scopes_meet", "state_of"]
