"""The cases waiting on a person, riskiest and oldest first, and what a reviewer's decision would
change before it is made (A6).

Read-only: the console's review queue and its preview pages ask here; the decision itself goes
through ``ApplicationService.review``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, select

from cloudcip import clock
from cloudcip.domain.verification_case import CaseState
from cloudcip.errors import NotFound
from cloudcip.storage.keyset import QueueKey, ordered_keys
from cloudcip.storage.schema import account
from cloudcip.verification.schema import application

#: risk tiers, riskiest first (a tier not named here sorts after them)
RISK_ORDER: tuple[str, ...] = ("high", "standard", "low")


@dataclass(frozen=True)
class CaseInReview:
    id: str
    customer_id: str
    account_id: str
    account_type: str
    channel: str
    risk_tier: str
    policy_rule: str
    state: str
    created_at: datetime
    reasons: list[str]
    measures: list[str]
    reseller_account_id: str | None


@dataclass(frozen=True)
class CaseFilter:
    """What the queue is narrowed to; ``None`` leaves a criterion open."""

    rule: str | None = None
    reason: str | None = None  # words contained in one of the case's reasons
    measure: str | None = None  # a special measure's id
    reseller: str | None = None  # the Reseller Account the account hangs under
    opened_before: datetime | None = None  # age: opened before this instant


def _conditions(flt: CaseFilter) -> list[Any]:
    conditions: list[Any] = [application.c.state == CaseState.in_review.value]
    if flt.rule:
        conditions.append(application.c.policy_rule == flt.rule)
    if flt.reason:
        conditions.append(application.c.response_json.contains(flt.reason))
    if flt.measure:
        conditions.append(application.c.response_json.contains(json.dumps(flt.measure)))
    if flt.reseller:
        conditions.append(account.c.parent_account_id == flt.reseller)
    if flt.opened_before is not None:
        conditions.append(application.c.created_at <= flt.opened_before)
    return conditions


def _risk_rank() -> Any:
    return case({tier: rank for rank, tier in enumerate(RISK_ORDER)}, value=application.c.risk_tier,
                else_=len(RISK_ORDER))


def case_keys(conn: Connection, flt: CaseFilter = CaseFilter(), *, limit: int = 50, after: QueueKey | None = None,
              before: QueueKey | None = None) -> list[QueueKey]:
    """The queue positions of the cases in review (ids and times only), riskiest then oldest first."""
    rank = _risk_rank()
    query = (select(rank, application.c.created_at, application.c.id)
             .join_from(application, account, account.c.id == application.c.account_id).where(*_conditions(flt)))
    return ordered_keys(conn, rank, application.c.created_at, application.c.id, query, limit=limit, after=after,
                        before=before)


def _case_query() -> Select[Any]:
    return (select(application.c.id, application.c.customer_id, application.c.account_id,
                   application.c.account_type, application.c.channel, application.c.risk_tier,
                   application.c.policy_rule, application.c.state, application.c.created_at,
                   application.c.response_json, account.c.parent_account_id)
            .join_from(application, account, account.c.id == application.c.account_id))


def _case(row: Any) -> CaseInReview:
    answer = json.loads(row.response_json)
    return CaseInReview(
        row.id, row.customer_id, row.account_id, row.account_type, row.channel, row.risk_tier, row.policy_rule,
        row.state, clock.utc(row.created_at), [str(r) for r in answer.get("reasons") or []],
        [str(m.get("id")) for m in (answer.get("screening") or {}).get("measures") or []],
        row.parent_account_id)


def cases_by_id(conn: Connection, ids: list[str]) -> dict[str, CaseInReview]:
    """These cases (a queue page's), by id."""
    if not ids:
        return {}
    return {row.id: _case(row) for row in conn.execute(_case_query().where(application.c.id.in_(ids)))}


def cases_in_review(conn: Connection, flt: CaseFilter = CaseFilter(), *, limit: int = 50,
                    offset: int = 0) -> list[CaseInReview]:
    """Cases in review, riskiest first, then oldest first."""
    query = (_case_query().where(*_conditions(flt))
             .order_by(_risk_rank(), application.c.created_at, application.c.id)
             .limit(max(1, min(limit, 1000))).offset(max(0, offset)))
    return [_case(row) for row in conn.execute(query)]


def count_cases_in_review(conn: Connection, flt: CaseFilter = CaseFilter()) -> int:
    query = (select(func.count()).select_from(application)
             .join(account, account.c.id == application.c.account_id).where(*_conditions(flt)))
    return int(conn.execute(query).scalar_one())


def rules_in_review(conn: Connection) -> list[str]:
    """The policy rules of the cases in review (the queue's filter offers these)."""
    return sorted(conn.execute(select(application.c.policy_rule).distinct()
                               .where(application.c.state == CaseState.in_review.value)).scalars())


@dataclass(frozen=True)
class ReviewPreview:
    """What a reviewer's decision would change: the case's and the account's state, and whether the
    state machine allows it at all (``refusal`` says why not)."""

    application_id: str
    decision: str
    case_from: str
    case_to: str
    account_from: str | None
    account_to: str | None
    allowed: bool
    refusal: str | None
    needs_second_person: bool  # redress of a refused or closed account (four eyes)


def preview_review(conn: Connection, application_id: str, decision: str) -> ReviewPreview:
    """What ``ApplicationService.review(application_id, decision, ...)`` would do now."""
    from cloudcip.verification.applications import ACCOUNT_STATE

    row = conn.execute(select(application.c.state, account.c.state.label("account_state"))
                       .join_from(application, account, account.c.id == application.c.account_id)
                       .where(application.c.id == application_id)).first()
    if row is None:
        raise NotFound("no such case")
    from cloudcip.verification.redress import REDRESSABLE

    current = CaseState(row.state)
    target = CaseState.in_review if decision == "redress" else CaseState(decision)
    refusal = None
    if decision == "redress":
        if current not in REDRESSABLE:
            refusal = f"redress re-opens refused, closed or restricted cases; this case is {current.value}"
    elif current is not CaseState.in_review:
        refusal = f"only a case in review can be decided; this case is {current.value}"
    from cloudcip.domain.verification_case import ALLOWED_TRANSITIONS

    if refusal is None and decision != "redress" and target not in ALLOWED_TRANSITIONS[current]:
        refusal = f"a case may not go from {current.value} to {target.value}"
    return ReviewPreview(application_id, decision, current.value, target.value, row.account_state,
                         ACCOUNT_STATE.get(target.value), refusal is None, refusal,
                         decision == "redress" and current in (CaseState.refused, CaseState.closed))
