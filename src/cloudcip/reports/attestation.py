"""The annual attestation, out-of-cycle updates, and what reporting is due when (H2, H3).

The attestation states five points, each with the evidence drawn from cloudcip's own records over
the period since the last attestation (or since the start):

- ``reviewed``: the CIP policy in force (id, version, fingerprint) and the filings of the period;
- ``updated_for_services``: whether the policy's rules changed since the last filing, with the diff
  of the policy text between the last attestation and now;
- ``updated_for_threats``: the special measures determined or revoked and the list publications
  imported in the period;
- ``compliant``: a certification is filed, no CIP copy request is overdue, no case is unresolved;
- ``unverifiable_cases_resolved``: every case that ended unverified (failed, refused, closed,
  restricted) records how it was resolved; those that do not are listed.

``due`` lists what is owed and when: the attestation (the profile's interval after the last one, or
after the certification), open CIP copy requests (their 10-day clock), and an **out-of-cycle update**
whenever the policy's rules or the CIP contact changed since the last filing. ``send_reminders`` (a
daily job) sends a ``reporting.due`` webhook for each item due within 14 days or overdue, once a day.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from cloudcip import clock
from cloudcip.errors import Forbidden
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import Ledger
from cloudcip.records.roles import Actor, may
from cloudcip.reports.certification import CertificationService, policy_fingerprint
from cloudcip.reports.schema import certification_filing, cip_contact, cip_copy_request, reporting_reminder
from cloudcip.screening.schema import list_snapshot, special_measure
from cloudcip.storage.database import Database
from cloudcip.verification.policy import CipPolicy, policy_to_yaml
from cloudcip.verification.schema import application

FORM = "cloudcip-cip-attestation-v1"
UNVERIFIED_STATES = ("failed", "refused", "closed", "restricted")
REMIND_DAYS = 14


@dataclass
class AttestationService:
    database: Database
    ledger: Ledger
    certifications: CertificationService
    policy: CipPolicy
    interval_days: int
    clock: Callable[[], datetime] = clock.now

    # -- the attestation -------------------------------------------------------------------------
    def render(self, actor: Actor, as_of: date | None = None) -> dict[str, Any]:
        if not may(actor.role, "certification:read"):
            raise Forbidden(f"role {actor.role} may not read the attestation")
        day = as_of or self.clock().date()
        fingerprint = policy_fingerprint(self.policy)
        text = policy_to_yaml(self.policy)
        with self.database.engine.connect() as conn:
            last = _newest(conn, ("attestation",))
            since = clock.utc(last.filed_at) if last is not None else None
            previous = json.loads(last.document_json) if last is not None else {}
            newest = _newest(conn, ("certification", "attestation", "out_of_cycle_update"))
            filed_policy = (json.loads(newest.document_json).get("policy") or {}) if newest is not None else {}
            measures = [{"id": r.id, "kind": r.kind, "measure": r.measure,
                         "determined": r.determination_date.isoformat(), "revoked": clock.iso(r.revoked_at)}
                        for r in conn.execute(select(special_measure).order_by(special_measure.c.created_at))
                        if since is None or clock.utc(r.created_at) > since
                        or (r.revoked_at is not None and clock.utc(r.revoked_at) > since)]
            imports = [{"source": r.source, "version": int(r.version), "imported_at": clock.iso(r.imported_at)}
                       for r in conn.execute(select(list_snapshot).order_by(list_snapshot.c.imported_at))
                       if since is None or clock.utc(r.imported_at) > since]
            unresolved = [str(i) for i in conn.execute(select(application.c.id).where(
                application.c.state.in_(UNVERIFIED_STATES), application.c.resolution.is_(None))
                .order_by(application.c.id)).scalars()]
            settled = int(conn.execute(select(func.count()).select_from(application).where(
                application.c.state.in_(UNVERIFIED_STATES))).scalar_one())
            certified = _newest(conn, ("certification",)) is not None
            overdue = [r["id"] for r in _open_requests(conn) if r["due"] < day.isoformat()]
        diff = "".join(difflib.unified_diff(
            str(previous.get("policy_text", "")).splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile="policy at the last attestation", tofile="policy now")) if previous else ""
        return {
            "form": FORM, "as_of": day.isoformat(), "generated_at": clock.iso(self.clock()),
            "period": {"from": clock.iso(since), "to": day.isoformat()},
            "policy": fingerprint, "policy_text": text,
            "points": {
                "reviewed": {"value": True, "evidence": {"policy": fingerprint, "attested_by": actor.name}},
                "updated_for_services": {
                    "value": bool(filed_policy) and filed_policy.get("rules_sha256") != fingerprint["rules_sha256"],
                    "evidence": {"policy_diff": diff, "policy_at_last_filing": filed_policy or None}},
                "updated_for_threats": {"value": bool(measures or imports),
                                        "evidence": {"special_measures": measures, "list_imports": imports}},
                "compliant": {"value": certified and not overdue and not unresolved,
                              "evidence": {"certification_filed": certified, "overdue_cip_copy_requests": overdue,
                                           "unresolved_cases": len(unresolved)}},
                "unverifiable_cases_resolved": {"value": not unresolved,
                                                "evidence": {"unverified_cases": settled, "unresolved": unresolved}},
            },
        }

    def file(self, actor: Actor, as_of: date | None = None, *, out_of_cycle: bool = False) -> dict[str, Any]:
        """File the attestation (or an out-of-cycle update): stored hashed, on the ledger."""
        if not may(actor.role, "certification:file"):
            raise Forbidden(f"role {actor.role} may not file the attestation")
        form = self.render(actor, as_of)
        with self.database.engine.connect() as conn:
            form["cip_contact"] = _contact(conn)
        return self.certifications.store_filing(form, "out_of_cycle_update" if out_of_cycle else "attestation",
                                                actor)

    # -- what is due ---------------------------------------------------------------------------
    def due(self, as_of: date | None = None) -> list[dict[str, Any]]:
        """Every reporting item owed, with its due date and whether it is overdue on ``as_of``."""
        day = as_of or self.clock().date()
        items: list[dict[str, Any]] = []
        with self.database.engine.connect() as conn:
            certification = _newest(conn, ("certification",))
            attestation = _newest(conn, ("attestation",))
            if certification is None:
                items.append({"item": "certification", "due": day.isoformat(),
                              "why": "no CIP certification is filed (H1)"})
            anchor = attestation or certification
            if anchor is not None:
                due = clock.utc(anchor.filed_at).date() + timedelta(days=self.interval_days)
                items.append({"item": "attestation", "due": due.isoformat(),
                              "why": "the annual attestation (H2)"})
            for request in _open_requests(conn):
                items.append({"item": f"cip_copy_request:{request['id']}", "due": request["due"],
                              "why": "copies of the written CIP requested (H3)"})
            newest = _newest(conn, ("certification", "attestation", "out_of_cycle_update"))
            if newest is not None:
                filed = json.loads(newest.document_json)
                filed_policy = filed.get("policy") or {}
                filed_contact = filed.get("cip_contact") or (filed.get("items") or {}).get("cip_contact")
                current = _contact(conn)
                changes = []
                if filed_policy.get("rules_sha256") != policy_fingerprint(self.policy)["rules_sha256"]:
                    changes.append("the CIP policy's rules changed")
                if filed_contact is not None and current is not None and \
                        (filed_contact.get("email"), filed_contact.get("name")) != (current["email"], current["name"]):
                    changes.append("the CIP contact changed")
                if changes:
                    items.append({"item": "out_of_cycle_update", "due": day.isoformat(),
                                  "why": "; ".join(changes) + " since the last filing (H2)"})
        for item in items:
            item["overdue"] = item["due"] < day.isoformat()
        return sorted(items, key=lambda i: (i["due"], i["item"]))

    def send_reminders(self, as_of: date | None = None) -> int:
        """The daily job: one ``reporting.due`` webhook per item due within 14 days or overdue, per day."""
        day = as_of or self.clock().date()
        horizon = (day + timedelta(days=REMIND_DAYS)).isoformat()
        sent = 0
        with self.database.write_gate(), self.database.engine.begin() as conn:
            for item in self.due(day):
                if item["due"] > horizon:
                    continue
                key = item["item"][:80]
                if conn.execute(select(reporting_reminder.c.item).where(
                        reporting_reminder.c.item == key, reporting_reminder.c.day == day)).first() is not None:
                    continue
                conn.execute(insert(reporting_reminder).values(item=key, day=day, sent_at=self.clock()))
                kind, _, item_id = item["item"].partition(":")
                enqueue(conn, "reporting.due", {"item_kind": kind, "item_id": item_id or None, "due_on": item["due"],
                                                "status": "overdue" if item["overdue"] else "due"})
                sent += 1
        return sent


def _newest(conn: Connection, kinds: tuple[str, ...]) -> Any:
    return conn.execute(select(certification_filing).where(certification_filing.c.kind.in_(kinds))
                        .order_by(certification_filing.c.filed_at.desc()).limit(1)).first()


def _contact(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(cip_contact).order_by(cip_contact.c.id.desc()).limit(1)).first()
    return None if row is None else {"name": row.name, "email": row.email, "title": row.title, "phone": row.phone}


def _open_requests(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": r.id, "due": r.due_on.isoformat()} for r in conn.execute(
        select(cip_copy_request).where(cip_copy_request.c.answered_at.is_(None)).order_by(cip_copy_request.c.due_on))]


__all__ = ["FORM", "AttestationService"]
