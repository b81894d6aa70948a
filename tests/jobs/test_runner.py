"""The periodic job runner (A4, A6, D4): due tasks, errors contained, the thread, the default tasks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudcip.jobs.runner import WEBHOOK_DELIVERY_TASK, JobRunner, PeriodicTask
from cloudcip.jobs.webhooks import DeliveryReport, enqueue, outbox_entry
from cloudcip.runtime import Services, default_tasks

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    def __call__(self, services: object, now: datetime) -> str:
        self.calls.append(now)
        return "done"


def test_run_once_runs_each_task_when_due() -> None:
    fast, slow = Recorder(), Recorder()
    runner = JobRunner(
        None,  # type: ignore[arg-type]  # these tasks do not touch services
        [PeriodicTask("fast", 10, fast), PeriodicTask("slow", 60, slow)],
    )
    outcomes = runner.run_once(T0)
    assert [(o.name, o.ok, o.result) for o in outcomes] == [("fast", True, "done"), ("slow", True, "done")]
    assert [o.name for o in runner.run_once(T0 + timedelta(seconds=5))] == []
    assert [o.name for o in runner.run_once(T0 + timedelta(seconds=10))] == ["fast"]
    assert [o.name for o in runner.run_once(T0 + timedelta(seconds=60))] == ["fast", "slow"]
    assert fast.calls == [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=60)]
    assert slow.calls == [T0, T0 + timedelta(seconds=60)]


def test_a_failing_task_is_logged_without_its_message_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after = Recorder()

    def failing(services: object, now: datetime) -> None:
        raise ValueError("jane.roe@example.org is not verified")

    runner = JobRunner(None, [PeriodicTask("failing", 1, failing), PeriodicTask("after", 1, after)])  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="cloudcip.jobs"):
        outcomes = runner.run_once(T0)
    assert [(o.name, o.error) for o in outcomes] == [("failing", "ValueError"), ("after", None)]
    assert after.calls == [T0]
    assert caplog.records, "the failure is logged"
    for record in caplog.records:
        assert "jane.roe" not in record.getMessage()
        assert "jane.roe" not in str(record.__dict__)
        assert getattr(record, "task", None) == "failing"
    # the failed task is not retried at once: it waits for its period like any other
    assert runner.run_once(T0 + timedelta(milliseconds=500)) == []


def test_task_names_are_unique() -> None:
    with pytest.raises(ValueError):
        JobRunner(None, [PeriodicTask("a", 1, Recorder()), PeriodicTask("a", 2, Recorder())])  # type: ignore[arg-type]


def test_the_thread_survives_failures_and_stops() -> None:
    second_call = threading.Event()
    calls: list[datetime] = []
    ticks = iter(T0 + timedelta(seconds=n) for n in range(10_000))

    def flaky(services: object, now: datetime) -> None:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("first pass fails")
        second_call.set()

    runner = JobRunner(
        None,  # type: ignore[arg-type]
        [PeriodicTask("flaky", 1, flaky)],
        clock=lambda: next(ticks),
        tick_seconds=0.001,
    )
    runner.start()
    try:
        assert second_call.wait(30), "the runner kept going after the first failure"
        assert runner.running
    finally:
        runner.stop()
    assert not runner.running
    assert calls[0] == T0
    assert calls[1] == T0 + timedelta(seconds=1)


@pytest.fixture
def receiver_url() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(self.headers["webhook-id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()
        server.server_close()


def test_default_tasks_deliver_the_outbox(
    services: Services, receiver_url: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = receiver_url
    assert [task.name for task in default_tasks()] == [WEBHOOK_DELIVERY_TASK, "account-closures",
                                                       "reseller-termination-clocks", "reseller-reviews",
                                                       "exemptions-ended", "retention", "reporting-reminders"]
    tasks = [task for task in default_tasks() if task.name == WEBHOOK_DELIVERY_TASK]

    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.closed", {"account_id": "acct-1", "measure_id": "m-1"}, now=T0)

    monkeypatch.delenv("CLOUDCIP_WEBHOOK_URL", raising=False)
    runner = JobRunner(services, tasks)
    [disabled] = runner.run_once(T0)
    assert isinstance(disabled.result, DeliveryReport) and disabled.result.disabled
    assert (services.settings.data_dir / "webhook-secret.txt").exists()

    monkeypatch.setenv("CLOUDCIP_WEBHOOK_URL", url)
    [outcome] = runner.run_once(T0 + timedelta(minutes=1))
    assert outcome.ok
    assert isinstance(outcome.result, DeliveryReport)
    assert outcome.result.delivered == [message_id]
    assert received == [message_id]
    entry = outbox_entry(services.database, message_id)
    assert entry is not None and entry.state == "delivered"
