"""The abuse-deterrence evidence pack of a period (F2; EO 13984 sec. 1(c)).

An exemption request must show what the provider's abuse-deterrence program detects, prevents and
mitigates, how it oversees its resellers, how it cooperates with law enforcement and shares
information. Each figure here is computed from cloudcip's own records for the period
``[from, to)`` by one aggregate SQL statement (so memory stays flat however many events there are),
and carries that statement and its parameters, so anyone can run it again (``docs/exemptions.md``).

Sections: signups decided and how (and the exemptions applied), verification outcomes, screening hits
and how fast a person adjudicated them, special measures applied, access signals raised by kind and
how fast they were handled, accounts closed for abuse, reseller oversight (reviews, findings,
terminations, where the reseller register is installed; otherwise said to be not in use), legal
processes answered and their turnaround, indicators shared and received. A section whose tables hold
nothing in the period says so with zeros; one whose tables do not exist says ``in_use: false``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, inspect, text

from cloudcip import clock
from cloudcip.errors import Forbidden, InvalidInput
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, may
from cloudcip.storage.database import Database

PACK = "cloudcip.exemption-evidence/1"
MAX_DAYS = 3660


def hours(dialect: str, later: str, earlier: str) -> str:
    """SQL for the hours from ``earlier`` to ``later`` (two timestamp expressions) on ``dialect``."""
    if dialect == "sqlite":
        return f"((julianday({later}) - julianday({earlier})) * 24.0)"
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


def days_since_date(dialect: str, later: str, day: str) -> str:
    """SQL for the days from a DATE ``day`` (midnight UTC) to the timestamp ``later``."""
    if dialect == "sqlite":
        return f"(julianday({later}) - julianday({day}))"
    return f"(EXTRACT(EPOCH FROM ({later} - CAST({day} AS TIMESTAMP WITH TIME ZONE))) / 86400.0)"


def _buckets(expr: str) -> str:
    """Counts of ``expr`` (hours) by band, for the charts."""
    return (f"SUM(CASE WHEN {expr} <= 1 THEN 1 ELSE 0 END) AS within_1h, "
            f"SUM(CASE WHEN {expr} > 1 AND {expr} <= 24 THEN 1 ELSE 0 END) AS within_24h, "
            f"SUM(CASE WHEN {expr} > 24 AND {expr} <= 168 THEN 1 ELSE 0 END) AS within_7d, "
            f"SUM(CASE WHEN {expr} > 168 THEN 1 ELSE 0 END) AS over_7d")


def _number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else round(as_float, 2)


@dataclass
class _Run:
    conn: Connection
    period_from: datetime
    period_to: datetime

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def parameters(self) -> dict[str, str | int | None]:
        return {"period_from": clock.iso(self.period_from), "period_to": clock.iso(self.period_to),
                "period_from_ms": int(self.period_from.timestamp() * 1000),
                "period_to_ms": int(self.period_to.timestamp() * 1000),
                "period_from_us": int(self.period_from.timestamp() * 1_000_000),
                "period_to_us": int(self.period_to.timestamp() * 1_000_000)}

    def rows(self, sql: str) -> list[dict[str, Any]]:
        statement = text(sql)
        names = set(statement.compile().params)
        binds = [bindparam(name, type_=DateTime(timezone=True)) for name in ("period_from", "period_to")
                 if name in names]
        values: dict[str, Any] = {"period_from": self.period_from, "period_to": self.period_to,
                                  **{k: v for k, v in self.parameters.items() if k.endswith(("_ms", "_us"))}}
        result = self.conn.execute(statement.bindparams(*binds), {k: v for k, v in values.items() if k in names})
        return [dict(row._mapping) for row in result]

    def figure(self, sql: str, **extra: Any) -> dict[str, Any]:
        """One scalar figure: ``{"value", "query"}``."""
        rows = self.rows(sql)
        return {"value": _number(next(iter(rows[0].values()))) if rows else 0, "query": " ".join(sql.split()),
                **extra}

    def grouped(self, sql: str, key: str = "key") -> dict[str, Any]:
        """Figures grouped by ``key``: ``{"by": {key: {column: n}}, "total", "query"}``."""
        by: dict[str, dict[str, float | int]] = {}
        for row in self.rows(sql):
            name = str(row.pop(key) if row.get(key) is not None else "unknown")
            by[name] = {column: _number(value) for column, value in row.items()}
        total = sum(int(values.get("count", 0)) for values in by.values())
        return {"by": dict(sorted(by.items())), "total": total, "query": " ".join(sql.split())}

    def single(self, sql: str) -> dict[str, Any]:
        """One row of several figures: ``{"values": {column: n}, "query"}``."""
        rows = self.rows(sql)
        values = {column: _number(value) for column, value in (rows[0].items() if rows else [])}
        return {"values": values, "query": " ".join(sql.split())}

    def has(self, *tables: str) -> bool:
        inspector = inspect(self.conn)
        return all(inspector.has_table(name) for name in tables)


def _signups(run: _Run) -> dict[str, Any]:
    first = ("NOT EXISTS (SELECT 1 FROM application p WHERE p.account_id = a.account_id "
             "AND p.created_at < a.created_at)")
    return {
        "title": "Signups decided and how",
        "decided": run.grouped(f"""
            SELECT t.to_state AS key, COUNT(*) AS count
            FROM application a JOIN case_transition t ON t.application_id = a.id AND t.from_state = 'submitted'
            WHERE a.created_at >= :period_from AND a.created_at < :period_to AND {first}
            GROUP BY t.to_state"""),  # noqa: S608 (constant SQL fragments, no input)
        "by_account_type": run.grouped(f"""
            SELECT a.account_type AS key, COUNT(*) AS count FROM application a
            WHERE a.created_at >= :period_from AND a.created_at < :period_to AND {first}
            GROUP BY a.account_type"""),  # noqa: S608 (constant SQL fragments, no input)
        "exemptions_applied": run.figure(f"""
            SELECT COUNT(*) FROM application a
            WHERE a.created_at >= :period_from AND a.created_at < :period_to AND {first}
            AND a.exemption_id IS NOT NULL"""),  # noqa: S608 (constant SQL fragments, no input)
    }


def _verification(run: _Run) -> dict[str, Any]:
    return {
        "title": "Verification outcomes",
        "evidence": run.grouped("""
            SELECT e.method || ':' || e.result AS key, COUNT(*) AS count FROM evidence e
            WHERE e.received_at >= :period_from AND e.received_at < :period_to
            GROUP BY e.method || ':' || e.result"""),
        "case_moves": run.grouped("""
            SELECT t.to_state AS key, COUNT(*) AS count FROM case_transition t
            WHERE t.at >= :period_from AND t.at < :period_to AND t.from_state <> 'submitted'
            GROUP BY t.to_state"""),
        "resolved_unverifiable": run.figure("""
            SELECT COUNT(*) FROM application a WHERE a.resolution IS NOT NULL
            AND a.updated_at >= :period_from AND a.updated_at < :period_to
            AND a.state IN ('refused', 'closed', 'restricted', 'failed')"""),
    }


def _hits(run: _Run) -> dict[str, Any]:
    waited = hours(run.dialect, "h.decided_at", "h.created_at")
    return {
        "title": "Designated-person hits and their adjudication",
        "raised": run.grouped("""
            SELECT h.band AS key, COUNT(*) AS count FROM screening_hit h
            WHERE h.created_at >= :period_from AND h.created_at < :period_to GROUP BY h.band"""),
        "adjudicated": run.grouped(f"""
            SELECT h.state AS key, COUNT(*) AS count, AVG({waited}) AS mean_hours, MAX({waited}) AS max_hours
            FROM screening_hit h WHERE h.decided_at >= :period_from AND h.decided_at < :period_to
            GROUP BY h.state"""),  # noqa: S608 (constant SQL fragments, no input)
        "adjudication_time": run.single(f"""
            SELECT COUNT(*) AS count, {_buckets(waited)} FROM screening_hit h
            WHERE h.decided_at >= :period_from AND h.decided_at < :period_to"""),  # noqa: S608 (constant SQL fragments, no input)
        "open_at_end": run.figure("""
            SELECT COUNT(*) FROM screening_hit h WHERE h.created_at < :period_to
            AND (h.decided_at IS NULL OR h.decided_at >= :period_to)"""),
    }


def _measures(run: _Run) -> dict[str, Any]:
    return {
        "title": "Special measures applied",
        "effects": run.grouped("""
            SELECT f.action AS key, COUNT(*) AS count, COUNT(DISTINCT f.measure_id) AS measures
            FROM special_measure_effect f
            WHERE f.applied_at >= :period_from AND f.applied_at < :period_to GROUP BY f.action"""),
        "signups_refused_or_conditioned": run.figure("""
            SELECT COUNT(*) FROM case_transition t WHERE t.at >= :period_from AND t.at < :period_to
            AND t.from_state = 'submitted' AND (t.reason LIKE '%measure_prohibits%'
            OR t.reason LIKE '%measure_conditions%')"""),
    }


def _signals(run: _Run) -> dict[str, Any]:
    handled = hours(run.dialect, "s.handled_at", "s.at")
    return {
        "title": "Access signals raised and handled",
        "access_events": run.figure("""
            SELECT COUNT(*) FROM access_event e
            WHERE e.time_ms >= :period_from_ms AND e.time_ms < :period_to_ms"""),
        "by_kind": run.grouped(f"""
            SELECT s.kind AS key, COUNT(*) AS count, COUNT(s.handled_at) AS handled,
                   AVG({handled}) AS mean_hours_to_handle, MAX({handled}) AS max_hours_to_handle
            FROM account_signal s WHERE s.at >= :period_from AND s.at < :period_to GROUP BY s.kind"""),  # noqa: S608 (constant SQL fragments, no input)
        "by_outcome": run.grouped("""
            SELECT s.state AS key, COUNT(*) AS count FROM account_signal s
            WHERE s.at >= :period_from AND s.at < :period_to GROUP BY s.state"""),
        "time_to_handle": run.single(f"""
            SELECT COUNT(*) AS count, {_buckets(handled)} FROM account_signal s
            WHERE s.at >= :period_from AND s.at < :period_to AND s.handled_at IS NOT NULL"""),  # noqa: S608 (constant SQL fragments, no input)
    }


def _closures(run: _Run) -> dict[str, Any]:
    return {
        "title": "Accounts closed for abuse",
        "closed_for_abuse": run.figure("""
            SELECT COUNT(*) FROM account a WHERE a.state = 'closed'
            AND a.closed_at >= :period_from AND a.closed_at < :period_to AND (
              EXISTS (SELECT 1 FROM incident_report r WHERE r.account_id = a.id AND r.kind = 'malicious_activity')
              OR EXISTS (SELECT 1 FROM account_signal s WHERE s.account_id = a.id AND s.state = 'actioned')
              OR EXISTS (SELECT 1 FROM shared_indicator_match m WHERE m.subject_type = 'account'
                         AND m.subject_id = a.id AND m.state = 'confirmed'))""",
                                       definition="closed in the period with an incident report of malicious "
                                                  "activity, an actioned access signal or a confirmed peer "
                                                  "indicator match"),
        "closed_by_special_measure": run.figure("""
            SELECT COUNT(DISTINCT f.account_id) FROM special_measure_effect f WHERE f.action = 'closed'
            AND f.applied_at >= :period_from AND f.applied_at < :period_to"""),
        "closed_all": run.figure("""
            SELECT COUNT(*) FROM account a WHERE a.state = 'closed'
            AND a.closed_at >= :period_from AND a.closed_at < :period_to"""),
        "incident_reports": run.grouped("""
            SELECT r.kind AS key, COUNT(*) AS count FROM incident_report r
            WHERE r.created_at >= :period_from AND r.created_at < :period_to GROUP BY r.kind"""),
    }


def _resellers(run: _Run) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": "Reseller oversight",
        "sub_lessees_shared": run.figure("""
            SELECT COUNT(*) FROM sub_lessee l WHERE l.created_at >= :period_from AND l.created_at < :period_to"""),
        "noncompliance_reports": run.figure("""
            SELECT COUNT(*) FROM incident_report r WHERE r.kind = 'reseller_noncompliance'
            AND r.created_at >= :period_from AND r.created_at < :period_to"""),
    }
    if not run.has("reseller", "reseller_review", "reseller_finding", "reseller_termination_clock"):
        section.update(in_use=False, note="the reseller register (reviews, findings, termination clocks) is not "
                                          "installed: reviews, findings and terminations are not in use")
        return section
    section.update(
        in_use=True,
        resellers=run.grouped("""
            SELECT CASE WHEN r.foreign_reseller THEN 'foreign' ELSE 'us' END AS key, COUNT(*) AS count
            FROM reseller r WHERE r.created_at < :period_to
            GROUP BY CASE WHEN r.foreign_reseller THEN 'foreign' ELSE 'us' END"""),
        reviews=run.grouped("""
            SELECT v.kind AS key, COUNT(*) AS count FROM reseller_review v
            WHERE v.started_at >= :period_from AND v.started_at < :period_to GROUP BY v.kind"""),
        findings=run.grouped("""
            SELECT f.kind AS key, COUNT(*) AS count FROM reseller_finding f
            WHERE f.created_at >= :period_from AND f.created_at < :period_to GROUP BY f.kind"""),
        terminations=run.figure("""
            SELECT COUNT(*) FROM reseller_termination_clock c WHERE c.state = 'terminated'
            AND c.terminated_at >= :period_from AND c.terminated_at < :period_to"""),
        remediated=run.figure("""
            SELECT COUNT(*) FROM reseller_termination_clock c WHERE c.state = 'remediated'
            AND c.stopped_at >= :period_from AND c.stopped_at < :period_to"""),
    )
    return section


def _legal(run: _Run) -> dict[str, Any]:
    turnaround = days_since_date(run.dialect, "x.first_production", "x.received_on")
    return {
        "title": "Legal processes answered",
        "received": run.grouped("""
            SELECT p.kind AS key, COUNT(*) AS count FROM legal_process p
            WHERE p.registered_at >= :period_from AND p.registered_at < :period_to GROUP BY p.kind"""),
        "answered": run.single(f"""
            SELECT COUNT(*) AS count, AVG({turnaround}) AS mean_days, MAX({turnaround}) AS max_days
            FROM (SELECT p.received_on AS received_on, MIN(d.created_at) AS first_production
                  FROM legal_process p JOIN production d ON d.process_id = p.id
                  GROUP BY p.id, p.received_on) x
            WHERE x.first_production >= :period_from AND x.first_production < :period_to"""),  # noqa: S608 (constant SQL fragments, no input)
        "holds_placed": run.figure("""
            SELECT COUNT(*) FROM legal_hold h WHERE h.placed_at >= :period_from AND h.placed_at < :period_to"""),
    }


def _sharing(run: _Run) -> dict[str, Any]:
    return {
        "title": "Indicators shared and received",
        "shared": run.grouped("""
            SELECT o.object_type AS key, COUNT(*) AS count FROM sharing_object o
            WHERE o.source = 'local' AND o.date_added_us >= :period_from_us AND o.date_added_us < :period_to_us
            GROUP BY o.object_type"""),
        "reports_disclosed": run.grouped("""
            SELECT d.channel AS key, COUNT(*) AS count FROM incident_disclosure d
            WHERE d.disclosed_at >= :period_from AND d.disclosed_at < :period_to GROUP BY d.channel"""),
        "received": run.grouped("""
            SELECT i.source AS key, COUNT(*) AS count FROM shared_indicator i
            WHERE i.received_at >= :period_from AND i.received_at < :period_to GROUP BY i.source"""),
        "matches": run.grouped("""
            SELECT m.state AS key, COUNT(*) AS count FROM shared_indicator_match m
            WHERE m.created_at >= :period_from AND m.created_at < :period_to GROUP BY m.state"""),
    }


def _exemptions(run: _Run) -> dict[str, Any]:
    return {
        "title": "Exemptions",
        "in_force": run.figure("""
            SELECT COUNT(*) FROM exemption x WHERE x.granted_at < :period_to AND x.expires_at > :period_from
            AND (x.revoked_at IS NULL OR x.revoked_at > :period_from)"""),
        "uses": run.figure("""
            SELECT COUNT(*) FROM exemption_use u WHERE u.used_at >= :period_from AND u.used_at < :period_to"""),
        "notices_sent": run.figure("""
            SELECT COUNT(*) FROM exemption_notice n WHERE n.sent_at >= :period_from AND n.sent_at < :period_to"""),
        "accounts_flagged": run.figure("""
            SELECT COUNT(DISTINCT u.account_id) FROM exemption_use u
            WHERE u.flagged_at >= :period_from AND u.flagged_at < :period_to"""),
    }


SECTIONS: dict[str, Callable[[_Run], dict[str, Any]]] = {
    "signups": _signups, "verification": _verification, "hits": _hits, "special_measures": _measures,
    "signals": _signals, "closures": _closures, "resellers": _resellers, "legal": _legal, "sharing": _sharing,
    "exemptions": _exemptions,
}


@dataclass
class EvidencePackService:
    """Builds the evidence pack from one database; the build is on the ledger (F2, B3)."""

    database: Database
    ledger: Ledger
    now: Callable[[], datetime] = clock.now

    def build(self, actor: Actor, period_from: datetime, period_to: datetime) -> dict[str, Any]:
        if not may(actor.role, "exemption:read"):
            raise Forbidden(f"role {actor.role} may not do this (exemption:read)")
        if period_to <= period_from:
            raise InvalidInput.field("to", "must be after from")
        if (period_to - period_from).days > MAX_DAYS:
            raise InvalidInput.field("to", f"a period of at most {MAX_DAYS} days")
        with self.database.engine.connect() as conn:
            run = _Run(conn, period_from, period_to)
            sections = {name: make(run) for name, make in SECTIONS.items()}
        period = {"from": clock.iso(period_from) or "", "to": clock.iso(period_to) or ""}
        pack: dict[str, Any] = {"pack": PACK, "period": period,
                "generated_at": clock.iso(self.now()) or "", "engine": run.dialect,
                "parameters": run.parameters, "sections": sections}
        with self.ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "render_evidence", "exemption_evidence",
                                  f"{period['from']}/{period['to']}",
                                  purpose="exemption evidence pack (F2)"))
        return pack


def figure_queries(pack: dict[str, Any]) -> list[tuple[str, str]]:
    """Every ``(dotted name, SQL)`` of the pack, in order."""
    found: list[tuple[str, str]] = []
    for section, figures in pack["sections"].items():
        for name, value in figures.items():
            if isinstance(value, dict) and isinstance(value.get("query"), str):
                found.append((f"{section}.{name}", value["query"]))
    return found


__all__ = ["PACK", "SECTIONS", "EvidencePackService", "figure_queries"]
