"""Hits found at signup, once a person decides them (D5).

Every non-clear hit of an application's people is in the hit register from the moment the
application is decided, with the decision it caused; a ``block`` may refuse the application (per the
policy's ``screening_block`` trigger) but the hit stays ``open`` until a person confirms or clears
it. When a person clears as a false positive a hit of an application, the application is decided
again without it:

- a **refused** application whose refusal no longer stands is re-opened (``hit_cleared``) to the new
  decision (pending evidence with a new deadline, review, or approved), and the provider is told
  through the ``application.decision`` webhook;
- an application still **open** (pending evidence, in review) is re-evaluated in place;
- a settled application whose other reasons still refuse it stays as it is.

A confirmed or escalated hit changes nothing here: the decision it caused stands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from cloudcip.domain.verification_case import CaseState
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import StoredHit
from cloudcip.screening.schema import screening_hit
from cloudcip.verification.certification_gate import HELD
from cloudcip.verification.decision import decide
from cloudcip.verification.risk import BASELINE, TIER_RANK
from cloudcip.verification.schema import application

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

ORDER = {"clear": 0, "review": 1, "block": 2}


def _band_without_cleared(work: UnitOfWork, application_id: str) -> tuple[str, set[str]]:
    """The screening band of the application's hits that are not cleared, and the cleared ids."""
    band = "clear"
    cleared: set[str] = set()
    for row in work.conn.execute(select(screening_hit.c.id, screening_hit.c.band, screening_hit.c.state)
                                 .where(screening_hit.c.application_id == application_id)):
        if row.state == "false_positive":
            cleared.add(row.id)
        elif ORDER.get(row.band, 0) > ORDER[band]:
            band = row.band
    return band, cleared


def _tier_without_match(answer: dict[str, Any], band: str) -> str | None:
    """G2: the risk tier once a cleared hit no longer counts (``None`` when nothing changes): the match
    factor goes when no hit of the application remains, the other factors and the provider's tier stay."""
    risk = answer.get("risk") or {}
    factors = [f for f in risk.get("factors", []) if f.get("name") != "screening_match" or band != "clear"]
    if len(factors) == len(risk.get("factors", [])):
        return None
    tier = max((str(f["tier"]) for f in factors), key=TIER_RANK.__getitem__, default=BASELINE)
    requested = risk.get("requested")
    if requested and TIER_RANK[requested] > TIER_RANK[tier]:
        tier = requested
    risk.update({"tier": tier, "factors": factors})
    answer["risk"], answer["risk_tier"] = risk, tier
    return tier


def hit_decided(service: ApplicationService, work: UnitOfWork, hit: StoredHit, actor: Actor) -> None:
    """Decide again the application a cleared hit had a part in (see the module docstring)."""
    if hit.application_id is None or hit.state != "false_positive":
        return
    from cloudcip.verification.successors import _facts_of_answer, reevaluate

    now = service.clock()
    row, case = service.load(work.conn, hit.application_id)
    answer: dict[str, Any] = json.loads(row.response_json)
    band, cleared = _band_without_cleared(work, row.id)
    answer["screening"]["band"] = band
    tier = _tier_without_match(answer, band)
    if tier is not None:
        work.conn.execute(update(application).where(application.c.id == row.id).values(risk_tier=tier))
        row = work.conn.execute(select(application).where(application.c.id == row.id)).one()
    for item in answer["screening"].get("hits", []):
        if item.get("hit_id") in cleared:
            item["state"] = "false_positive"
    note = f"hit {hit.id} cleared as a false positive"
    work.log(LedgerAction(actor.name, actor.role, "redecide", "application", row.id, purpose="screening adjudication",
                          detail={"hit_id": hit.id, "band": band}))
    if case.state in (CaseState.pending_evidence, CaseState.in_review):
        work.conn.execute(update(application).where(application.c.id == row.id).values(
            response_json=json.dumps(answer)))
        reevaluate(service, work, row.id, note, actor, carry_evidence=True)
        return
    if case.state is not CaseState.refused:
        work.conn.execute(update(application).where(application.c.id == row.id).values(
            response_json=json.dumps(answer)))
        return
    facts = _facts_of_answer(service, row, case, answer, carry_evidence=True)
    decided = decide(facts, service.policy, now)
    decision = service.gated(decided, facts)
    if decision is not decided:  # H1: held by the certification gate
        answer[HELD] = decision.reasons[-1]
    if decision.decision == "refused":
        work.conn.execute(update(application).where(application.c.id == row.id).values(
            response_json=json.dumps(answer)))
        return
    move = case.reopen("hit_cleared", decision.decision, note, actor.name, now)
    case.deadline = decision.deadline
    answer.update({"restrictions": [r.label for r in decision.restrictions],
                   "reasons": [move.reason, *decision.reasons]})
    service.save(work, row, case, [move], actor, now, note, answer=answer, keep_reasons=True)
