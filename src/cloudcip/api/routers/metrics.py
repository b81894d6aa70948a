"""``GET /metrics``: the service's metrics in Prometheus's text format (``cloudcip.metrics``), for a key
of a role holding ``metrics:read`` (admin, auditor): Prometheus scrapes it with that key as its bearer
token. No personal data in any metric (B3, B4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from cloudcip.api.auth import ServicesDep, require
from cloudcip.metrics import exposition
from cloudcip.records.roles import Actor

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def get_metrics(services: ServicesDep, _actor: Annotated[Actor, Depends(require("metrics:read"))]) -> Response:
    """Decisions by outcome, screening latency, ledger size, outbox backlog, follower lag, job runs,
    break-glass reads."""
    return Response(exposition(services.database), media_type=CONTENT_TYPE_LATEST)
