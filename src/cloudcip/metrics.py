"""The service's metrics for Prometheus (``GET /metrics``; prometheus-client), with no personal data
in any name, label or value (B3, B4).

Counted in the process (each process exposes its own): screening latency, periodic job runs by task
and outcome, break-glass reads. This module imports no capability (they count here); what the
database says (applications by decision, the ledger's size, the webhook outbox's backlog, the access
signal follower's lag) is read when scraped by the collector of ``api.routers.metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SCREENING_SECONDS = Histogram(
    "cloudcip_screening_seconds", "Time to screen one person or entity against the lists and measures",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
JOB_RUNS = Counter("cloudcip_job_runs_total", "Runs of the periodic jobs by task and outcome", ["task", "outcome"])
BREAK_GLASS_READS = Counter("cloudcip_break_glass_reads_total", "Records read by breaking the glass")


__all__ = ["BREAK_GLASS_READS", "JOB_RUNS", "SCREENING_SECONDS"]
