"""``GET /metrics``: the service's metrics in Prometheus's text format (``cloudcip.metrics``), for a key
of a role holding ``metrics:read`` (admin, auditor): Prometheus scrapes it with that key as its bearer
token. No personal data in any metric (B3, B4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from cloudcip.access.follower import CURSOR
from cloudcip.access.schema import access_event, access_signal_cursor
from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.models.files import file_response
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.ledger.schema import ledger_state
from cloudcip.records.roles import Actor
from cloudcip.storage.database import Database
from cloudcip.verification.schema import application

router = APIRouter(tags=["metrics"])


class DatabaseCollector(Collector):
    """What the database says when scraped (one query per figure, each on an index or a small table)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        decisions = GaugeMetricFamily("cloudcip_applications", "Applications by their current decision",
                                      labels=["decision"])
        backlog = GaugeMetricFamily("cloudcip_outbox_backlog", "Webhook notices not delivered", labels=["state"])
        with self.database.engine.connect() as conn:
            for decision, count in conn.execute(select(application.c.decision, func.count())
                                                .group_by(application.c.decision)):
                decisions.add_metric([str(decision)], float(count))
            size = conn.execute(select(ledger_state.c.tree_size)).scalar_one_or_none()
            t = webhook_outbox.c
            pending = conn.execute(select(func.count()).select_from(webhook_outbox).where(
                t.delivered_at.is_(None), t.next_attempt_at.is_not(None))).scalar_one()
            dead = conn.execute(select(func.count()).select_from(webhook_outbox).where(
                t.delivered_at.is_(None), t.next_attempt_at.is_(None))).scalar_one()
            newest = conn.execute(select(func.max(access_event.c.id))).scalar_one_or_none()
            cursor = conn.execute(select(access_signal_cursor.c.last_event_id)
                                  .where(access_signal_cursor.c.name == CURSOR)).scalar_one_or_none()
        yield decisions
        yield GaugeMetricFamily("cloudcip_ledger_entries", "Entries on the tamper-evident ledger",
                                value=float(size or 0))
        backlog.add_metric(["pending"], float(pending))
        backlog.add_metric(["dead"], float(dead))
        yield backlog
        yield GaugeMetricFamily("cloudcip_access_follower_lag_events",
                                "Access events stored but not yet read by the signal follower",
                                value=float(max(0, int(newest or 0) - int(cursor or 0))))


def exposition(database: Database) -> bytes:
    """The text exposition of this process's metrics and the database's figures."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseCollector(database))
    return generate_latest(REGISTRY) + generate_latest(scraped)


@router.get("/metrics", response_class=Response,
            responses={200: file_response("Prometheus text format", CONTENT_TYPE_LATEST)})
def get_metrics(services: ServicesDep, _actor: Annotated[Actor, Depends(require("metrics:read"))]) -> Response:
    """Decisions by outcome, screening latency, ledger size, outbox backlog, follower lag, job runs,
    break-glass reads."""
    return Response(exposition(services.database), media_type=CONTENT_TYPE_LATEST)
