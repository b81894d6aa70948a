"""The service's metrics for Prometheus (``GET /metrics``; prometheus-client), with no personal data
in any name, label or value (B3, B4).

Counted in the process (each process exposes its own): screening latency, periodic job runs by task
and outcome, break-glass reads. Read from the database when scraped (the same in every process and
on every node): applications by decision, the ledger's size, the webhook outbox's backlog, the access
signal follower's lag.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from cloudcip.storage.database import Database

SCREENING_SECONDS = Histogram(
    "cloudcip_screening_seconds", "Time to screen one person or entity against the lists and measures",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
JOB_RUNS = Counter("cloudcip_job_runs_total", "Runs of the periodic jobs by task and outcome", ["task", "outcome"])
BREAK_GLASS_READS = Counter("cloudcip_break_glass_reads_total", "Records read by breaking the glass")


class DatabaseCollector(Collector):
    """What the database says when scraped (one query per figure, each on an index or a small table)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from cloudcip.access.follower import CURSOR
        from cloudcip.access.schema import access_event, access_signal_cursor
        from cloudcip.jobs.schema import webhook_outbox
        from cloudcip.ledger.schema import ledger_state
        from cloudcip.verification.schema import application

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


__all__ = ["BREAK_GLASS_READS", "JOB_RUNS", "SCREENING_SECONDS", "DatabaseCollector", "exposition"]
