"""The incident-report service: make a report from an account, read it, record where it went (G4, B3).

``IncidentService.create`` gathers the account's access history and identifiers (``gather``), adds
the summary, the actions taken and any findings the caller brings (the reseller oversight adds its
own), seals the canonical JSON under the subject customer's data key, stores its SHA-256 and writes
the ledger entry carrying that hash, all in one transaction. Nothing changes a report afterwards:
``verify`` recomputes the hash and compares it with the row and with the ledger entry.
``disclose`` records each time a report, or a bundle made from it, left the provider.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select

from cloudcip import clock
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from cloudcip.incidents.gather import access_history, account_row, identifiers_and_indicators
from cloudcip.incidents.schema import incident_disclosure, incident_report
from cloudcip.ledger.schema import ledger_entry
from cloudcip.ledger.store import Ledger, LedgerAction, UnitOfWork, canonical_json
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged, CustomerStore
from cloudcip.records.roles import Actor, Permission, may
from cloudcip.storage.database import Database

IncidentKind = Literal["malicious_activity", "reseller_noncompliance"]
INCIDENT_KINDS: tuple[str, ...] = ("malicious_activity", "reseller_noncompliance")
CHANNELS: tuple[str, ...] = ("export", "taxii", "email", "portal", "other")
FORMATS: tuple[str, ...] = ("stix-bundle", "document")
MAX_SUMMARY = 4000
MAX_ACTIONS = 50


class IncidentNotFound(NotFound):
    """No incident report with that id."""

    def __init__(self) -> None:
        super().__init__("no such incident report")


class IncidentAccountNotFound(NotFound):
    """The account a report would be about does not exist."""

    def __init__(self) -> None:
        super().__init__("no such account")


class IncidentAltered(Conflict):
    """A stored report no longer matches its hash or its ledger entry."""


@dataclass(frozen=True)
class IncidentReport:
    """One report as kept: its row and its opened content."""

    id: str
    kind: str
    account_id: str
    customer_id: str
    created_at: datetime
    created_by: str
    sha256: str
    content: dict[str, Any]

    def summary_view(self) -> dict[str, Any]:
        """What any reader of reports sees without the identifiers: no personal data."""
        return {"id": self.id, "kind": self.kind, "account_id": self.account_id,
                "created_at": clock.iso(self.created_at), "sha256": self.sha256,
                "indicators": len(self.content.get("indicators", [])),
                "actions_taken": list(self.content.get("actions_taken", []))}


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def _require(actor: Actor, permission: Permission) -> None:
    if not may(actor.role, permission):
        raise Forbidden(f"role {actor.role} may not do this ({permission})")


@dataclass
class IncidentService:
    """Reports of one database, sealed under the customers' keys, each on the ledger."""

    database: Database
    ledger: Ledger
    customers: CustomerStore
    now: Callable[[], datetime] = clock.now

    def _sealer(self, conn: Connection, customer_id: str) -> FieldSealer:
        try:
            return self.customers.sealer_in(conn, customer_id)
        except CustomerPurged:
            raise Gone("the customer record was purged; its incident reports with it") from None
        except CustomerNotFound:
            raise NotFound("no such customer record") from None

    def create(self, account_id: str, summary: str, actor: Actor, *, kind: str = "malicious_activity",
               actions_taken: Sequence[str] = (), findings: dict[str, Any] | None = None,
               purpose: str | None = None) -> IncidentReport:
        """G4: a confirmed case becomes a report, kept immutably; its id, hash and content."""
        with self.ledger.unit_of_work() as work:
            return self.create_in(work, account_id, summary, actor, kind=kind, actions_taken=actions_taken,
                                  findings=findings, purpose=purpose)

    def reseller_report(self, work: UnitOfWork, account_id: str, summary: str, kind: str,
                        findings: dict[str, Any], actor: Actor) -> str:
        """E3, G4: the report of a reseller finding of non-compliance or malicious activity, in the
        finding's unit of work (``resellers.register.IncidentReporter``); its id."""
        return self.create_in(work, account_id, summary, actor, kind=kind, findings=findings,
                              actions_taken=["reseller termination clock started"],
                              purpose="reseller oversight finding").id

    def create_in(self, work: UnitOfWork, account_id: str, summary: str, actor: Actor, *,
                  kind: str = "malicious_activity", actions_taken: Sequence[str] = (),
                  findings: dict[str, Any] | None = None, purpose: str | None = None) -> IncidentReport:
        """:meth:`create` inside the caller's unit of work, so that the report and what made it (a
        reseller finding, say) are written together or not at all."""
        _require(actor, "incident:create")
        summary = summary.strip()
        if not summary or len(summary) > MAX_SUMMARY:
            raise InvalidInput.field("summary", f"between 1 and {MAX_SUMMARY} characters")
        if kind not in INCIDENT_KINDS:
            raise InvalidInput.field("kind", f"one of {', '.join(INCIDENT_KINDS)}")
        actions = [action.strip() for action in actions_taken if action.strip()]
        if len(actions) > MAX_ACTIONS or any(len(action) > 500 for action in actions):
            raise InvalidInput.field("actions_taken", f"at most {MAX_ACTIONS} actions of 500 characters")
        incident_id = str(uuid.uuid4())
        created = self.now()
        conn = work.conn
        row = account_row(conn, account_id)
        if row is None:
            raise IncidentAccountNotFound()
        sealer = self._sealer(conn, row.customer_id)
        access = access_history(conn, account_id)
        identifiers, indicators = identifiers_and_indicators(conn, sealer, row.customer_id, access)
        content: dict[str, Any] = {
            "schema": "cloudcip.incident/1", "id": incident_id, "kind": kind,
            "created_at": clock.iso(created), "summary": summary,
            "account": {"id": account_id, "type": row.type, "channel": row.channel, "state": row.state,
                        "opened_at": clock.iso(clock.utc(row.opened_at)),
                        "closed_at": clock.iso(clock.utc_or_none(row.closed_at))},
            "access": access, "identifiers": identifiers, "indicators": indicators,
            "actions_taken": actions,
        }
        if findings:
            content["findings"] = findings
        digest = content_hash(content)
        conn.execute(insert(incident_report).values(
            id=incident_id, kind=kind, account_id=account_id, customer_id=row.customer_id,
            created_at=created, created_by=actor.name[:64], content_sha256=digest,
            content_sealed=sealer.seal(canonical_json(content), table="incident_report", column="content",
                                       row_id=incident_id)))
        work.log(LedgerAction(actor.name, actor.role, "create", "incident_report", incident_id, purpose=purpose,
                              detail={"sha256": digest, "kind": kind, "account": account_id}))
        return IncidentReport(incident_id, kind, account_id, row.customer_id, created, actor.name[:64], digest,
                              content)

    def load(self, conn: Connection, incident_id: str) -> IncidentReport:
        """The stored report, opened and checked against its hash (no ledger entry: callers log)."""
        row = conn.execute(select(incident_report).where(incident_report.c.id == incident_id)).first()
        if row is None:
            raise IncidentNotFound()
        sealer = self._sealer(conn, row.customer_id)
        content = json.loads(sealer.open(bytes(row.content_sealed), table="incident_report", column="content",
                                         row_id=incident_id))
        if content_hash(content) != row.content_sha256:
            raise IncidentAltered("the incident report does not match its hash")
        return IncidentReport(row.id, row.kind, row.account_id, row.customer_id, clock.utc(row.created_at),
                              row.created_by, row.content_sha256, content)

    def read(self, incident_id: str, actor: Actor, *, purpose: str | None = None) -> IncidentReport:
        """The report in full (identifiers masked, indicators as found); the read is on the ledger."""
        _require(actor, "incident:read")
        with self.ledger.unit_of_work() as work:
            report = self.load(work.conn, incident_id)
            work.log(LedgerAction(actor.name, actor.role, "read", "incident_report", incident_id, purpose=purpose))
        return report

    def reports(self, actor: Actor, *, account_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Reports, newest first, without their content."""
        _require(actor, "incident:read")
        query = select(incident_report.c.id, incident_report.c.kind, incident_report.c.account_id,
                       incident_report.c.created_at, incident_report.c.content_sha256)
        if account_id is not None:
            query = query.where(incident_report.c.account_id == account_id)
        with self.database.engine.connect() as conn:
            rows = conn.execute(query.order_by(incident_report.c.created_at.desc()).limit(limit)).all()
        return [{"id": row.id, "kind": row.kind, "account_id": row.account_id,
                 "created_at": clock.iso(clock.utc(row.created_at)), "sha256": row.content_sha256} for row in rows]

    def disclose(self, conn: Connection, incident_id: str, *, recipient: str, channel: str, format: str,
                 sent: bytes, actor: Actor, tlp: str | None = None, note: str | None = None) -> dict[str, Any]:
        """Record that ``sent`` (the exact bytes) left for ``recipient``; returns the disclosure row.

        Runs inside the caller's unit of work, which also logs the ``disclose`` ledger entry."""
        _require(actor, "incident:disclose")
        recipient = recipient.strip()
        if not recipient or len(recipient) > 200:
            raise InvalidInput.field("recipient", "between 1 and 200 characters")
        if channel not in CHANNELS:
            raise InvalidInput.field("channel", f"one of {', '.join(CHANNELS)}")
        if format not in FORMATS:
            raise InvalidInput.field("format", f"one of {', '.join(FORMATS)}")
        row = {"id": str(uuid.uuid4()), "incident_id": incident_id, "recipient": recipient, "channel": channel,
               "format": format, "tlp": tlp, "content_sha256": hashlib.sha256(sent).hexdigest(),
               "disclosed_at": self.now(), "disclosed_by": actor.name[:64], "note": note}
        conn.execute(insert(incident_disclosure).values(**row))
        return row

    def disclosures(self, incident_id: str, actor: Actor) -> list[dict[str, Any]]:
        """To whom and when the report went, oldest first."""
        _require(actor, "incident:read")
        with self.database.engine.connect() as conn:
            if conn.execute(select(incident_report.c.id).where(incident_report.c.id == incident_id)).first() is None:
                raise IncidentNotFound()
            rows = conn.execute(select(incident_disclosure).where(incident_disclosure.c.incident_id == incident_id)
                                .order_by(incident_disclosure.c.disclosed_at)).all()
        return [{"recipient": row.recipient, "channel": row.channel, "format": row.format, "tlp": row.tlp,
                 "sha256": row.content_sha256, "disclosed_at": clock.iso(clock.utc(row.disclosed_at)),
                 "disclosed_by": row.disclosed_by} for row in rows]

    def verify(self, incident_id: str) -> dict[str, Any]:
        """The stored content, its row's hash and the hash on the ledger entry that recorded it agree."""
        with self.database.engine.connect() as conn:
            report = self.load(conn, incident_id)
            entries = conn.execute(select(ledger_entry.c.idx, ledger_entry.c.leaf_input)
                                   .where(ledger_entry.c.record_type == "incident_report",
                                          ledger_entry.c.record_id == incident_id,
                                          ledger_entry.c.action == "create")).all()
        if len(entries) != 1:
            raise IncidentAltered("the incident report has no single ledger entry recording it")
        recorded = json.loads(entries[0].leaf_input).get("detail", {}).get("sha256")
        if recorded != report.sha256:
            raise IncidentAltered("the incident report's hash differs from the one on the ledger")
        return {"id": incident_id, "sha256": report.sha256, "ledger_index": int(entries[0].idx)}
