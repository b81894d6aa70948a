"""Matches of indicators shared by peers, for a person to adjudicate (G3, D5-like adjudication).

- ``GET /v1/sharing/matches?state=open``: accounts (access IP within the indicator's window) and
  customers (wallet, through the blind index) flagged by peers' indicators.
- ``POST /v1/sharing/matches/{id}/decision``: ``confirmed`` or ``false_positive`` with a reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import ErrorBody
from cloudcip.records.roles import Actor
from cloudcip.sharing.ingest import decide_match, list_matches

router = APIRouter(prefix="/v1/sharing", tags=["sharing"])
Adjudicator = Annotated[Actor, Depends(require("sharing:adjudicate"))]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or unknown API key"},
    403: {"model": ErrorBody, "description": "the role may not adjudicate matches"},
    404: {"model": ErrorBody, "description": "no such match"},
    409: {"model": ErrorBody, "description": "the match was already decided"},
    422: {"model": ErrorBody, "description": "a field at fault, named"},
}


class Match(BaseModel):
    id: str
    indicator_id: str
    source: str
    tlp: str | None
    subject_type: str
    subject_id: str
    matched_on: str
    first_seen: str | None
    last_seen: str | None
    state: str
    decided_by: str | None
    reason: str | None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirmed", "false_positive"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


@router.get("/matches", responses=ERRORS)
def matches(services: ServicesDep, actor: Adjudicator,
            state: Annotated[Literal["open", "confirmed", "false_positive", "all"], Query()] = "open",
            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Match]:
    rows = list_matches(services.database, actor, state=None if state == "all" else state, limit=limit)
    return [Match(**row) for row in rows]


@router.post("/matches/{match_id}/decision", responses=ERRORS)
def decide(match_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")], body: Decision,
           services: ServicesDep, actor: Adjudicator) -> Match:
    return Match(**decide_match(services.ledger, match_id, body.decision, body.reason, actor))
