"""The background job runner: periodic tasks in one daemon thread (A4, A6, D4).

Served requirements: A4, A6, D4 (delivery of decision and measure notices through the webhook
outbox). The tasks that need the wiring (B1: the daily retention run and the account closures of the
access-event stream; the reporting reminders) are built in ``cloudcip.runtime.default_tasks``,
which every cloudcip process runs; ``cloudcip serve`` appends the others (verification deadlines,
re-screening, links, risk scores).

On several nodes sharing PostgreSQL, ``JobRunner(..., leadership=JobLeadership(database))`` runs
its passes only on the node holding the jobs' lock (``jobs/leadership.py``).

``JobRunner(services, tasks)`` runs each ``PeriodicTask`` when it is due (never run yet, or
``every_seconds`` have passed since it last started). A task that raises is logged by name and
exception class only (no message, which might carry personal data) and the runner carries on; it
never dies of a task's error. ``run_once(now)`` runs one pass synchronously, for tests and for a
CLI ``jobs run-once``; ``start()`` / ``stop()`` drive the thread with an injectable clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.jobs.leadership import JobLeadership
from cloudcip.jobs.webhooks import deliver_due, webhook_settings_from_env
from cloudcip.metrics import JOB_RUNS
from cloudcip.services import Services

log = logging.getLogger("cloudcip.jobs")

WEBHOOK_DELIVERY_TASK = "webhook_delivery"


@dataclass(frozen=True)
class PeriodicTask:
    """A named piece of background work and how often it runs."""

    name: str
    every_seconds: float
    run: Callable[[Services, datetime], object]


@dataclass(frozen=True)
class TaskOutcome:
    """One task run in one pass: its name and, if it raised, the exception class name."""

    name: str
    error: str | None = None
    result: object = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


class JobRunner:
    """Runs periodic tasks, one at a time, in a daemon thread (or a pass at a time with ``run_once``)."""

    def __init__(
        self,
        services: Services,
        tasks: list[PeriodicTask],
        *,
        clock: Clock = clocks.now,
        tick_seconds: float = 1.0,
        leadership: JobLeadership | None = None,
    ) -> None:
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError("periodic task names must be unique")
        self.services = services
        self.tasks = list(tasks)
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.leadership = leadership
        self._last_started: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> list[PeriodicTask]:
        """The tasks that would run in a pass at ``now``."""
        return [
            task
            for task in self.tasks
            if task.name not in self._last_started
            or now - self._last_started[task.name] >= timedelta(seconds=task.every_seconds)
        ]

    def run_once(self, now: datetime) -> list[TaskOutcome]:
        """Run every due task once at ``now``, in order; errors are logged and reported, never raised.
        With a ``leadership``, only while this node holds it (one node of many runs the jobs)."""
        outcomes: list[TaskOutcome] = []
        if self.leadership is not None and not self.leadership.held():
            return outcomes
        with self._lock:
            for task in self.due(now):
                self._last_started[task.name] = now
                try:
                    result = task.run(self.services, now)
                except Exception as exc:
                    log.error("periodic task failed", extra={"task": task.name, "error": type(exc).__name__})
                    outcomes.append(TaskOutcome(task.name, error=type(exc).__name__))
                    JOB_RUNS.labels(task=task.name, outcome="error").inc()
                else:
                    outcomes.append(TaskOutcome(task.name, result=result))
                    JOB_RUNS.labels(task=task.name, outcome="ok").inc()
        return outcomes

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(self.clock())
            except Exception as exc:  # the clock or the bookkeeping itself: log and go on
                log.error("job runner pass failed", extra={"error": type(exc).__name__})
            self._stop.wait(self.tick_seconds)

    def start(self) -> None:
        """Start the daemon thread (idempotent while running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cloudcip-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the thread to stop after the task in progress, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def deliver_webhooks(services: Services, now: datetime) -> object:
    """The webhook delivery task: settings read afresh each pass (URL from ``CLOUDCIP_WEBHOOK_URL``)."""
    settings = webhook_settings_from_env(services.settings.data_dir)
    return deliver_due(services.database, settings, now)
