"""The termination clock a finding of non-compliance starts (E3, B3).

The clock counts calendar days: started on day 0 (the day of the finding), its last day is day
``termination_days`` (the profile's ``resellers.termination_days``, 30 by default). On each earlier
day the job (``cloudcip serve`` daily, or ``cloudcip resellers clock run --as-of DATE``) reminds through
the webhook outbox when 14, 7, 3 and 1 days are left; on the last day it restricts every open account
of the reseller (``no_new_resources``, ``no_sub_lessees``: the account's state becomes ``restricted``,
the restrictions are kept on the clock and sent in the notice), marks the relationship ``terminated``
and notifies. Remediation stops a running clock only with a recorded reason and the evidence; a
terminated relationship cannot be terminated again (409). Every step is on the ledger.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, InvalidInput
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.resellers.register import ResellerRegister, ResellerTerminated, require
from cloudcip.resellers.register_schema import reseller_termination_clock
from cloudcip.storage.schema import account

REMINDER_DAYS: tuple[int, ...] = (14, 7, 3, 1)
RESTRICTIONS: tuple[str, ...] = ("no_new_resources", "no_sub_lessees")
CLOSED_STATES = ("closed", "refused")
MAX_TEXT = 4000


def start_clock(work: UnitOfWork, reseller_id: str, finding_id: str | None, today: date, days: int,
                actor: Actor) -> dict[str, Any]:
    """Start the clock (in the caller's unit of work), or answer the one already running."""
    running = work.conn.execute(select(reseller_termination_clock).where(
        reseller_termination_clock.c.reseller_id == reseller_id,
        reseller_termination_clock.c.state == "running")).first()
    if running is not None:
        return clock_view(running, today)
    clock_id = str(uuid.uuid4())
    ends = today + timedelta(days=days)
    work.conn.execute(insert(reseller_termination_clock).values(
        id=clock_id, reseller_id=reseller_id, finding_id=finding_id, state="running", started_on=today,
        ends_on=ends, days=days, reminders_json="[]"))
    work.log(LedgerAction(actor.name, actor.role, "start_clock", "reseller", reseller_id,
                          purpose="reseller termination clock",
                          detail={"clock_id": clock_id, "finding_id": finding_id, "started_on": today.isoformat(),
                                  "ends_on": ends.isoformat(), "days": days}))
    enqueue(work.conn, "reseller.termination_started",
            {"reseller_id": reseller_id, "clock_id": clock_id, "ends_on": ends.isoformat(), "days_left": days})
    row = work.conn.execute(select(reseller_termination_clock)
                            .where(reseller_termination_clock.c.id == clock_id)).one()
    return clock_view(row, today)


def clock_view(row: Any, today: date) -> dict[str, Any]:
    view: dict[str, Any] = {
        "clock_id": row.id, "reseller_id": row.reseller_id, "finding_id": row.finding_id, "state": row.state,
        "started_on": row.started_on.isoformat(), "ends_on": row.ends_on.isoformat(), "days": row.days,
        "reminders_sent": json.loads(row.reminders_json),
    }
    if row.state == "running":
        view["days_left"] = max(0, (row.ends_on - today).days)
    if row.stop_reason is not None:
        view["stop_reason"] = row.stop_reason
        view["stop_evidence"] = json.loads(row.stop_evidence_json or "null")
    if row.restrictions_json is not None:
        view["restricted_accounts"] = json.loads(row.restrictions_json)
    return view


def restrict_accounts(work: UnitOfWork, customer_id: str, reseller_id: str, actor: Actor) -> list[dict[str, Any]]:
    """Restrict every open account of the reseller (``no_new_resources``, ``no_sub_lessees``)."""
    restricted = []
    for row in work.conn.execute(select(account.c.id, account.c.state).where(account.c.customer_id == customer_id)
                                 .order_by(account.c.id)).all():
        if row.state in CLOSED_STATES:
            continue
        if row.state != "restricted":
            work.conn.execute(update(account).where(account.c.id == row.id).values(state="restricted"))
        item = {"account_id": row.id, "from": row.state, "to": "restricted", "restrictions": list(RESTRICTIONS)}
        restricted.append(item)
        work.log(LedgerAction(actor.name, actor.role, "restrict", "account", row.id,
                              purpose="reseller relationship terminated",
                              detail={"reseller_id": reseller_id, **item}))
    return restricted


class ResellerTermination(ResellerRegister):
    """E3: the running clocks, the daily job, remediation and termination."""

    def running_clocks(self, as_of: date | None = None, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Each running clock with its days left on ``as_of`` (default today), soonest first."""
        if actor is not None:
            require(actor, "reseller:read")
        day = as_of or self.now().date()
        with self.database.engine.connect() as conn:
            rows = conn.execute(select(reseller_termination_clock)
                                .where(reseller_termination_clock.c.state == "running")
                                .order_by(reseller_termination_clock.c.ends_on, reseller_termination_clock.c.id))
            return [clock_view(row, day) for row in rows]

    def clock_of(self, conn: Connection, reseller_id: str) -> Any:
        return conn.execute(select(reseller_termination_clock)
                            .where(reseller_termination_clock.c.reseller_id == reseller_id)
                            .order_by(reseller_termination_clock.c.started_on.desc(),
                                      reseller_termination_clock.c.id.desc()).limit(1)).first()

    def run_clocks(self, actor: Actor, as_of: date | None = None) -> dict[str, Any]:
        """The daily job: reminders at 14, 7, 3 and 1 days left; on the last day, restrict and terminate.
        Only clocks ending within the next 14 days are read (the index on state and last day)."""
        require(actor, "reseller:write")
        day = as_of or self.now().date()
        reminded: list[dict[str, Any]] = []
        terminated: list[dict[str, Any]] = []
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            rows = conn.execute(select(reseller_termination_clock).where(
                reseller_termination_clock.c.state == "running",
                reseller_termination_clock.c.ends_on <= day + timedelta(days=max(REMINDER_DAYS)))
                .order_by(reseller_termination_clock.c.ends_on, reseller_termination_clock.c.id)).all()
            for row in rows:
                days_left = (row.ends_on - day).days
                if days_left <= 0:
                    terminated.append(self._terminate_in(work, self._row(conn, row.reseller_id), row, actor,
                                                         "the termination clock ran out", day))
                    continue
                sent = set(json.loads(row.reminders_json))
                due = [mark for mark in REMINDER_DAYS if days_left <= mark and mark not in sent]
                if not due:
                    continue
                conn.execute(update(reseller_termination_clock).where(reseller_termination_clock.c.id == row.id)
                             .values(reminders_json=json.dumps(sorted(sent | set(due), reverse=True))))
                enqueue(conn, "reseller.termination_reminder",
                        {"reseller_id": row.reseller_id, "clock_id": row.id, "days_left": days_left,
                         "ends_on": row.ends_on.isoformat()})
                work.log(LedgerAction(actor.name, actor.role, "remind", "reseller", row.reseller_id,
                                      purpose="reseller termination clock",
                                      detail={"clock_id": row.id, "days_left": days_left, "as_of": day.isoformat()}))
                reminded.append({"reseller_id": row.reseller_id, "clock_id": row.id, "days_left": days_left})
        return {"as_of": day.isoformat(), "reminded": reminded, "terminated": terminated}

    def _terminate_in(self, work: UnitOfWork, row: Any, running: Any, actor: Actor, reason: str,
                      day: date) -> dict[str, Any]:
        now = self.now()
        restricted = restrict_accounts(work, row.customer_id, row.id, actor)
        if running is not None:
            work.conn.execute(update(reseller_termination_clock).where(reseller_termination_clock.c.id == running.id)
                              .values(state="terminated", terminated_at=now, restrictions_json=json.dumps(restricted)))
        self._set_status(work, row, "terminated", reason, actor)
        work.log(LedgerAction(actor.name, actor.role, "terminate", "reseller", row.id,
                              purpose="reseller relationship terminated",
                              detail={"clock_id": running.id if running is not None else None, "as_of": day.isoformat(),
                                      "accounts": [item["account_id"] for item in restricted]}))
        enqueue(work.conn, "reseller.terminated",
                {"reseller_id": row.id, "clock_id": running.id if running is not None else None,
                 "account_restrictions": [{"account_id": item["account_id"], "restrictions": item["restrictions"]}
                                          for item in restricted]})
        return {"reseller_id": row.id, "clock_id": running.id if running is not None else None,
                "restricted_accounts": restricted}

    def terminate(self, reseller_id: str, reason: str, actor: Actor) -> dict[str, Any]:
        """End the relationship now (before its clock runs out, or without one); 409 when it already is."""
        require(actor, "reseller:write")
        reason = reason.strip()
        if not reason or len(reason) > MAX_TEXT:
            raise InvalidInput.field("reason", f"1 to {MAX_TEXT} characters")
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            if row.status == "terminated":
                raise ResellerTerminated("the reseller relationship is already terminated")
            running = self.clock_of(work.conn, reseller_id)
            if running is not None and running.state != "running":
                running = None
            return self._terminate_in(work, row, running, actor, reason, self.now().date())

    def remediate(self, reseller_id: str, reason: str, evidence: str, actor: Actor) -> dict[str, Any]:
        """Stop the running clock: only with a recorded reason and the evidence the reseller remedied."""
        require(actor, "reseller:write")
        reason, evidence = reason.strip(), evidence.strip()
        if not reason or len(reason) > MAX_TEXT:
            raise InvalidInput.field("reason", f"1 to {MAX_TEXT} characters")
        if not evidence or len(evidence) > MAX_TEXT:
            raise InvalidInput.field("evidence", f"1 to {MAX_TEXT} characters: what shows the remedy")
        now = self.now()
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            if row.status == "terminated":
                raise ResellerTerminated()
            running = self.clock_of(work.conn, reseller_id)
            if running is None or running.state != "running":
                raise Conflict("no termination clock is running for this reseller")
            recorded = {"evidence": evidence, "sha256": hashlib.sha256(evidence.encode()).hexdigest()}
            work.conn.execute(update(reseller_termination_clock).where(reseller_termination_clock.c.id == running.id)
                              .values(state="remediated", stopped_at=now, stop_reason=reason,
                                      stop_evidence_json=json.dumps(recorded)))
            self._set_status(work, row, "active", "remediated", actor)
            work.log(LedgerAction(actor.name, actor.role, "remediate", "reseller", reseller_id,
                                  purpose="reseller remediation",
                                  detail={"clock_id": running.id, "evidence_sha256": recorded["sha256"]}))
            enqueue(work.conn, "reseller.remediated", {"reseller_id": reseller_id, "clock_id": running.id})
            stopped = work.conn.execute(select(reseller_termination_clock)
                                        .where(reseller_termination_clock.c.id == running.id)).one()
            return {**clock_view(stopped, now.date()), "stopped_at": clock.iso(now)}

    def termination_state(self, reseller_id: str, actor: Actor, as_of: date | None = None) -> dict[str, Any] | None:
        """The reseller's latest clock, if any."""
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            self._row(conn, reseller_id)
            row = self.clock_of(conn, reseller_id)
            return None if row is None else clock_view(row, as_of or self.now().date())

