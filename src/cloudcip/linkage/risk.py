"""The risk score of an account: a number in [0, 100] from named factors with weights, and the tier
its band maps to (G2).

Each factor has a **value** in [0, 1] read from the account's records and a **weight** (points at
value 1) from the CIP policy (``risk_score.weights``); its **contribution** is value × weight, and the
score is the sum, capped at 100. The policy's ``risk_score.bands`` map the score to a tier. The answer
lists every factor with its value, weight, contribution and why, so an analyst and an examiner see the
reasons.

==========================  ===============================================================
factor                      value
==========================  ===============================================================
``ban_evasion_link``        1 when a strong identifier is shared with a flagged customer
``weak_link_to_flagged``    1 when only a weak one is (signup network, hosting ASN, access IP)
``cluster_size``            (members − 1) / 4 of the customer's cluster, at most 1
``access_signals``          open access signals (C4) / 3, at most 1
``shared_indicator``        1 for a confirmed match of a peer's indicator, 0.5 for an open one
``screening_hit``           1 for a confirmed designated-person hit, 0.5 for an open one
``incident_report``         1 when the account was reported for malicious activity
``evidence_failed``         failed verification evidence / 2, at most 1
==========================  ===============================================================

Recomputed (``RiskScorer.recompute``) for the accounts whose evidence, links, signals, hits or
matches changed since the last pass (``changed_accounts``), by ``cloudcip serve`` every 10 minutes
and by ``cloudcip risk recompute``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from cloudcip import clock
from cloudcip.access.schema import account_signal
from cloudcip.errors import NotFound
from cloudcip.incidents.schema import incident_report
from cloudcip.linkage.queries import LinkReader, flags_of
from cloudcip.linkage.schema import link_cluster, link_identifier, risk_score
from cloudcip.screening.schema import screening_hit
from cloudcip.sharing.schema import shared_indicator_match
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, evidence
from cloudcip.verification.risk_policy import DEFAULT_WEIGHTS as RISK_DEFAULT_WEIGHTS
from cloudcip.verification.risk_policy import RISK_FACTORS, RiskScorePolicy

# the defaults the policy's ``risk_score`` starts from (``verification.risk_policy``)
DEFAULT_WEIGHTS: Mapping[str, float] = RISK_DEFAULT_WEIGHTS
DEFAULT_BANDS: tuple[tuple[int, str], ...] = RiskScorePolicy().band_pairs
FACTORS: tuple[str, ...] = RISK_FACTORS


@dataclass(frozen=True)
class ScoreFactor:
    name: str
    value: float
    weight: float
    why: str

    @property
    def contribution(self) -> float:
        return round(self.value * self.weight, 2)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 3), "weight": self.weight,
                "contribution": self.contribution, "why": self.why}


@dataclass(frozen=True)
class RiskScore:
    score: int
    tier: str
    factors: tuple[ScoreFactor, ...]

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "tier": self.tier, "factors": [f.as_json() for f in self.factors]}


def tier_of(score: int, bands: Sequence[tuple[int, str]]) -> str:
    for upper, tier in bands:
        if score <= upper:
            return tier
    return bands[-1][1]


def combine(values: Mapping[str, tuple[float, str]], weights: Mapping[str, float],
            bands: Sequence[tuple[int, str]]) -> RiskScore:
    """The score from each factor's (value, why): every named factor listed, even at 0."""
    factors = tuple(ScoreFactor(name, max(0.0, min(1.0, values.get(name, (0.0, ""))[0])), float(weights.get(name, 0)),
                                values.get(name, (0.0, ""))[1] or "not present") for name in weights)
    total = min(100, round(sum(f.contribution for f in factors)))
    return RiskScore(total, tier_of(total, bands), factors)


def account_values(conn: Connection, reader: LinkReader, account_id: str) -> dict[str, tuple[float, str]]:
    """Each factor's value for one account, from its records."""
    row = conn.execute(select(account.c.customer_id).where(account.c.id == account_id)).first()
    if row is None:
        raise NotFound("no such account")
    customer_id = str(row.customer_id)
    values: dict[str, tuple[float, str]] = {}
    own = conn.execute(select(link_identifier.c.kind, link_identifier.c.token)
                       .where(link_identifier.c.customer_id == customer_id)).all()
    if own:
        others = conn.execute(select(link_identifier.c.customer_id, link_identifier.c.kind)
                              .where(link_identifier.c.token.in_({t for _, t in own}),
                                     link_identifier.c.customer_id != customer_id).limit(200)).all()
        flags = flags_of(conn, [o.customer_id for o in others])
        flagged = [o for o in others if flags.get(o.customer_id)]
        from cloudcip.linkage.identifiers import STRONG_KINDS

        strong = sorted({o.kind for o in flagged if o.kind in STRONG_KINDS})
        if strong:
            values["ban_evasion_link"] = (1.0, f"shares {', '.join(strong)} with a flagged customer")
        elif flagged:
            values["weak_link_to_flagged"] = (1.0, f"shares {', '.join(sorted({o.kind for o in flagged}))} "
                                                   "with a flagged customer")
    cluster = conn.execute(select(link_cluster.c.cluster_id).where(link_cluster.c.subject_type == "customer",
                                                                   link_cluster.c.subject_id == customer_id)).first()
    if cluster is not None:
        size = int(conn.execute(select(func.count()).select_from(link_cluster)
                                .where(link_cluster.c.cluster_id == cluster.cluster_id)).scalar_one())
        if size > 1:
            values["cluster_size"] = ((size - 1) / 4, f"a cluster of {size} linked subjects")
    signals = int(conn.execute(select(func.count()).select_from(account_signal).where(
        account_signal.c.account_id == account_id, account_signal.c.state == "open",
        account_signal.c.kind != "shared_indicator")).scalar_one())
    if signals:
        values["access_signals"] = (signals / 3, f"{signals} open access signal(s)")
    matches = [str(s) for s in conn.execute(select(shared_indicator_match.c.state).where(
        shared_indicator_match.c.subject_id.in_([account_id, customer_id]))).scalars()]
    if "confirmed" in matches:
        values["shared_indicator"] = (1.0, "a confirmed match of a peer's indicator")
    elif "open" in matches:
        values["shared_indicator"] = (0.5, "an open match of a peer's indicator")
    hits = [str(s) for s in conn.execute(select(screening_hit.c.state).where(
        screening_hit.c.subject_type == "customer", screening_hit.c.subject_id == customer_id)).scalars()]
    if "confirmed" in hits:
        values["screening_hit"] = (1.0, "a confirmed designated-person hit")
    elif "open" in hits or "escalated" in hits:
        values["screening_hit"] = (0.5, "a designated-person hit awaiting adjudication")
    if conn.execute(select(incident_report.c.id).where(incident_report.c.account_id == account_id,
                                                       incident_report.c.kind == "malicious_activity")).first():
        values["incident_report"] = (1.0, "reported for malicious activity")
    failed = int(conn.execute(select(func.count()).select_from(evidence).where(
        evidence.c.customer_id == customer_id, evidence.c.result == "failed")).scalar_one())
    if failed:
        values["evidence_failed"] = (failed / 2, f"{failed} failed verification check(s)")
    return values


def changed_accounts(conn: Connection, since: datetime) -> set[str]:
    """Accounts whose signals, matches, hits, evidence, links or reports changed after ``since``."""
    changed: set[str] = set()
    changed.update(conn.execute(select(account_signal.c.account_id).distinct()
                                .where(account_signal.c.at > since)).scalars())
    customers: set[str] = set()
    for subject_type, subject_id in conn.execute(select(shared_indicator_match.c.subject_type,
                                                        shared_indicator_match.c.subject_id).where(
            (shared_indicator_match.c.created_at > since) | (shared_indicator_match.c.decided_at > since))).all():
        (changed if subject_type == "account" else customers).add(subject_id)
    customers.update(conn.execute(select(screening_hit.c.subject_id).where(
        screening_hit.c.subject_type == "customer",
        (screening_hit.c.created_at > since) | (screening_hit.c.decided_at > since))).scalars())
    customers.update(conn.execute(select(evidence.c.customer_id).where(evidence.c.received_at > since)).scalars())
    linked = set(conn.execute(select(link_identifier.c.token).where(link_identifier.c.created_at > since)).scalars())
    if linked:
        customers.update(conn.execute(select(link_identifier.c.customer_id)
                                      .where(link_identifier.c.token.in_(linked))).scalars())
    changed.update(conn.execute(select(incident_report.c.account_id).where(incident_report.c.created_at > since))
                   .scalars())
    if customers:
        changed.update(conn.execute(select(account.c.id).where(account.c.customer_id.in_(customers))).scalars())
    return changed


@dataclass
class RiskScorer:
    database: Database
    weights: Mapping[str, float]
    bands: Sequence[tuple[int, str]]
    now: Callable[[], datetime] = clock.now

    @classmethod
    def of_policy(cls, database: Database, scoring: RiskScorePolicy, now: Callable[[], datetime] = clock.now
                  ) -> RiskScorer:
        """The scorer of the policy in force: its ``risk_score`` weights and bands (G2)."""
        return cls(database, dict(scoring.weights), scoring.band_pairs, now)

    def score_account(self, conn: Connection, account_id: str) -> RiskScore:
        return combine(account_values(conn, LinkReader(self.database), account_id), self.weights, self.bands)

    def recompute(self, account_ids: Iterable[str]) -> int:
        """Score and store each account; how many."""
        ids = sorted(set(account_ids))
        now = self.now()
        done = 0
        for low in range(0, len(ids), 500):
            batch = ids[low:low + 500]
            with self.database.engine.connect() as conn:
                rows = []
                for account_id in batch:
                    try:
                        scored = self.score_account(conn, account_id)
                    except NotFound:
                        continue
                    rows.append({"account_id": account_id, "score": scored.score, "tier": scored.tier,
                                 "factors_json": json.dumps(scored.as_json()["factors"]), "computed_at": now})
            with self.database.write_gate(), self.database.engine.begin() as conn:
                conn.execute(delete(risk_score).where(risk_score.c.account_id.in_([r["account_id"] for r in rows])))
                insert_rows(conn, risk_score, rows)
            done += len(rows)
        return done

    def recompute_changed(self) -> int:
        """The accounts changed since the last pass (all of them the first time)."""
        with self.database.engine.connect() as conn:
            last = conn.execute(select(func.max(risk_score.c.computed_at))).scalar()
            if last is None:
                ids = set(conn.execute(select(account.c.id)).scalars())
            else:
                ids = changed_accounts(conn, clock.utc(last))
        return self.recompute(ids)

    def stored(self, account_id: str) -> dict[str, Any] | None:
        with self.database.engine.connect() as conn:
            row = conn.execute(select(risk_score).where(risk_score.c.account_id == account_id)).first()
        if row is None:
            return None
        return {"account_id": account_id, "score": int(row.score), "tier": row.tier,
                "factors": json.loads(row.factors_json), "computed_at": clock.iso(clock.utc(row.computed_at))}
