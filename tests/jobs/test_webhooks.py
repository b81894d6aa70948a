"""The webhook outbox (A4, A6, D4): outbox pattern, Standard Webhooks signing, retries, dead letters.

Delivery goes to a real HTTP server on 127.0.0.1 (ephemeral port); signatures are checked with the
independent ``standardwebhooks`` package. Runs on SQLite and PostgreSQL through ``services``.
"""

from __future__ import annotations

import base64
import json
import random
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from cloudcip.jobs.schema import webhook_outbox
from cloudcip.jobs.webhooks import (
    RetryPolicy,
    WebhookPayloadError,
    WebhookSettings,
    deliver_due,
    enqueue,
    ensure_webhook_secret,
    new_webhook_secret,
    outbox_entries,
    outbox_entry,
    revive,
    sign,
    verify_signature,
    webhook_settings_from_env,
)
from cloudcip.ledger.store import LedgerAction
from cloudcip.runtime import Services

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.next_status()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cloudcip"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


def _count(services: Services) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(webhook_outbox)).scalar_one())


# -- the outbox pattern --------------------------------------------------------------------------------
def test_rollback_enqueues_nothing_and_commit_keeps_the_notice(services: Services) -> None:
    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), services.ledger.unit_of_work() as work:
        enqueue(work.conn, "application.decided", {"application_id": "app-1", "decision": "open"}, now=T0)
        work.log(LedgerAction("svc", "signup", "create", "application", "app-1"))
        raise Boom
    assert _count(services) == 0
    assert services.ledger.size() == 0

    with services.ledger.unit_of_work() as work:
        message_id = enqueue(work.conn, "application.decided", {"application_id": "app-1", "decision": "open"}, now=T0)
        work.log(LedgerAction("svc", "signup", "create", "application", "app-1"))
    entry = outbox_entry(services.database, message_id)
    assert entry is not None
    assert entry.state == "pending"
    assert entry.attempts == 0
    assert entry.next_attempt_at == T0
    assert entry.created_at == T0
    assert entry.data == {"application_id": "app-1", "decision": "open"}
    assert entry.event_type == "application.decided"
    assert message_id.startswith("msg_")


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "someone@example.org"},
        {"account_id": "a1", "name": "Jane Roe"},
        {"customer": {"address": "1 Main St"}},
        {"account_id": "a1", "signup_ip": "192.0.2.1"},
        {"account_id": "x" * 129},
        {"account_id": 1.5},
        {"account_ids": [b"raw"]},
    ],
)
def test_payloads_that_are_not_ids_and_states_are_refused_without_echoing_values(payload: dict[str, object]) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        enqueue(None, "account.restricted", payload)  # type: ignore[arg-type]  # refused before any I/O
    message = str(raised.value)
    for value in ("someone@example.org", "Jane Roe", "1 Main St", "192.0.2.1", "x" * 129):
        assert value not in message


def test_event_type_must_be_dotted_lower_case() -> None:
    with pytest.raises(WebhookPayloadError):
        enqueue(None, "Application Decided", {"application_id": "a"})  # type: ignore[arg-type]


def test_ids_states_dates_and_nested_ids_are_accepted(services: Services) -> None:
    payload = {
        "account_id": "acct-9",
        "measure_id": "m-2",
        "state": "restricted",
        "restrictions": ["no_gpu", "quota_small"],
        "deadline_at": datetime(2026, 4, 1, tzinfo=UTC),
        "beneficial_owner_ids": ["bo-1", "bo-2"],
        "verification": {"case_id": "c-1", "status": "pending", "steps": ["document", "phone_otp"]},
        "attempt_count": 2,
        "channel": "sms",
        "challenge_id": "ch-1",
        "reseller_account": {"account_id": "r-1", "kind": "foreign_reseller"},
    }
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.measure_applied", payload, now=T0)
    entry = outbox_entry(services.database, message_id)
    assert entry is not None
    assert entry.data["deadline_at"] == "2026-04-01T00:00:00+00:00"
    assert entry.data["verification"]["steps"] == ["document", "phone_otp"]


# -- the secret and the signature ----------------------------------------------------------------------
def test_standard_webhooks_reference_vector() -> None:
    # the example of the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    message_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, message_id, 1614265330, body) == expected
    independent = Webhook(secret).sign(message_id, datetime.fromtimestamp(1614265330, tz=UTC), body)
    assert independent == expected
    assert verify_signature(secret, message_id, 1614265330, body, "v1,bm90IGl0 " + expected)
    assert not verify_signature(secret, message_id, 1614265331, body, expected)
    assert not verify_signature(new_webhook_secret(), message_id, 1614265330, body, expected)


def test_secret_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ensure_webhook_secret(data_dir)
    path = data_dir / "webhook-secret.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert ensure_webhook_secret(data_dir) == first

    disabled = webhook_settings_from_env(data_dir, environ={})
    assert disabled == WebhookSettings(url=None, secret=first)
    enabled = webhook_settings_from_env(data_dir, environ={"CLOUDCIP_WEBHOOK_URL": "https://hooks.example/x"})
    assert enabled.url == "https://hooks.example/x"
    assert first not in repr(enabled)


# -- delivery ------------------------------------------------------------------------------------------
def test_delivery_to_a_real_server_is_signed_per_standard_webhooks(
    services: Services, receiver: Receiver, secret: str
) -> None:
    now = datetime.now(UTC)  # the independent verifier checks the timestamp against the wall clock
    with services.database.engine.begin() as conn:
        first = enqueue(conn, "application.decided", {"application_id": "app-1", "decision": "refused"}, now=now)
        second = enqueue(conn, "account.closed", {"account_id": "acct-7", "measure_id": "m-1"}, now=now)

    report = deliver_due(services.database, WebhookSettings(receiver.url, secret), now)

    assert report.attempted == 2
    assert sorted(report.delivered) == sorted([first, second])
    assert len(receiver.requests) == 2
    by_id = {request.headers["webhook-id"]: request for request in receiver.requests}
    assert set(by_id) == {first, second}
    for request in receiver.requests:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
        document = Webhook(secret).verify(request.body, request.headers)
        assert set(document) == {"type", "timestamp", "data"}
    assert json.loads(by_id[first].body)["data"] == {"application_id": "app-1", "decision": "refused"}
    assert json.loads(by_id[second].body)["type"] == "account.closed"
    with pytest.raises(Exception, match="signature"):
        Webhook(new_webhook_secret()).verify(by_id[first].body, by_id[first].headers)

    entry = outbox_entry(services.database, first)
    assert entry is not None
    assert entry.state == "delivered"
    assert entry.delivered_at is not None
    assert entry.last_status == 200
    assert entry.attempts == 1

    again = deliver_due(services.database, WebhookSettings(receiver.url, secret), now + timedelta(hours=1))
    assert again.attempted == 0
    assert len(receiver.requests) == 2


def test_failure_then_success_retries_with_backoff_and_the_same_id(
    services: Services, receiver: Receiver, secret: str
) -> None:
    receiver.statuses = [500]
    settings = WebhookSettings(receiver.url, secret)
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.restricted", {"account_id": "acct-1", "state": "restricted"}, now=T0)

    first = deliver_due(services.database, settings, T0, rng=random.Random(7))
    assert first.retrying == [message_id]
    entry = outbox_entry(services.database, message_id)
    assert entry is not None and entry.next_attempt_at is not None
    assert entry.state == "pending"
    assert entry.attempts == 1
    assert entry.last_status == 500
    assert entry.last_error == "HTTP 500"
    assert T0 + timedelta(seconds=30) <= entry.next_attempt_at < T0 + timedelta(seconds=36)

    not_yet = deliver_due(services.database, settings, T0 + timedelta(seconds=29), rng=random.Random(7))
    assert not_yet.attempted == 0

    second = deliver_due(services.database, settings, entry.next_attempt_at, rng=random.Random(7))
    assert second.delivered == [message_id]
    done = outbox_entry(services.database, message_id)
    assert done is not None
    assert done.state == "delivered"
    assert done.attempts == 2
    assert done.last_status == 200
    assert done.last_error is None

    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [message_id, message_id]
    assert receiver.requests[0].body == receiver.requests[1].body
    for request in receiver.requests:
        timestamp = int(request.headers["webhook-timestamp"])
        assert verify_signature(
            secret, message_id, timestamp, request.body.decode(), request.headers["webhook-signature"]
        )
        expected = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, tz=UTC), request.body.decode())
        assert request.headers["webhook-signature"] == expected


def test_gives_up_after_about_three_days_and_keeps_the_dead_notice(
    services: Services, receiver: Receiver, secret: str
) -> None:
    receiver.statuses = [503] * 1000
    settings = WebhookSettings(receiver.url, secret)
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.closed", {"account_id": "acct-2"}, now=T0)

    now = T0
    delays: list[timedelta] = []
    rng = random.Random(3)
    for _ in range(100):
        report = deliver_due(services.database, settings, now, rng=rng)
        assert report.attempted == 1
        entry = outbox_entry(services.database, message_id)
        assert entry is not None
        if entry.state == "dead":
            assert report.dead == [message_id]
            break
        assert entry.next_attempt_at is not None
        delays.append(entry.next_attempt_at - now)
        now = entry.next_attempt_at
    else:
        pytest.fail("never gave up")

    assert entry.next_attempt_at is None and entry.delivered_at is None
    assert entry.last_status == 503
    assert entry.attempts == len(delays) + 1
    assert timedelta(days=2) < now - T0 <= timedelta(days=3)
    # exponential from 30 s (with up to 20 % jitter), capped at 6 h
    assert timedelta(seconds=30) <= delays[0] < timedelta(seconds=36)
    assert timedelta(seconds=60) <= delays[1] < timedelta(seconds=72)
    assert timedelta(seconds=120) <= delays[2] < timedelta(seconds=144)
    assert max(delays) == timedelta(hours=6)
    assert all(delay <= timedelta(hours=6) for delay in delays)

    assert deliver_due(services.database, settings, now + timedelta(days=30)).attempted == 0
    assert [dead.id for dead in outbox_entries(services.database, state="dead")] == [message_id]
    assert outbox_entries(services.database, state="pending") == []

    later = now + timedelta(days=1)
    assert revive(services.database, message_id, later)
    assert not revive(services.database, message_id, later)
    receiver.statuses = []
    assert deliver_due(services.database, settings, later).delivered == [message_id]


def test_unreachable_receiver_is_a_retry_with_no_status(services: Services, receiver: Receiver, secret: str) -> None:
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.closed", {"account_id": "acct-3"}, now=T0)
    closed_port = WebhookSettings("http://127.0.0.1:9/unreachable", secret)
    report = deliver_due(services.database, closed_port, T0)
    assert report.retrying == [message_id]
    entry = outbox_entry(services.database, message_id)
    assert entry is not None
    assert entry.last_status is None
    assert entry.last_error == "ConnectError"


def test_without_a_url_nothing_is_claimed(services: Services, secret: str) -> None:
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.closed", {"account_id": "acct-4"}, now=T0)
    report = deliver_due(services.database, WebhookSettings(None, secret), T0)
    assert report.disabled
    entry = outbox_entry(services.database, message_id)
    assert entry is not None and entry.attempts == 0 and entry.state == "pending"


def test_a_claimed_notice_is_not_posted_twice_at_once(services: Services, secret: str) -> None:
    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "account.closed", {"account_id": "acct-5"}, now=T0)
    settings = WebhookSettings("https://receiver.example/hooks", secret)
    nested: list[int] = []
    posted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(request.headers["webhook-id"])
        # a second worker polling while the first is mid-POST finds nothing due
        nested.append(deliver_due(services.database, settings, T0, client=httpx.Client()).attempted)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        report = deliver_due(services.database, settings, T0, client=client)
    assert report.delivered == [message_id]
    assert posted == [message_id]
    assert nested == [0]


def test_a_crash_between_post_and_commit_causes_one_redelivery_with_the_same_id(
    services: Services, secret: str
) -> None:
    class Crash(BaseException):
        pass

    with services.database.engine.begin() as conn:
        message_id = enqueue(conn, "application.decided", {"application_id": "app-9", "decision": "open"}, now=T0)
    settings = WebhookSettings("https://receiver.example/hooks", secret)
    seen: list[tuple[str, bytes]] = []

    def crashing(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["webhook-id"], request.content))
        raise Crash  # the process dies after the receiver got the request, before the outcome commits

    with httpx.Client(transport=httpx.MockTransport(crashing)) as client, pytest.raises(Crash):
        deliver_due(services.database, settings, T0, client=client)
    entry = outbox_entry(services.database, message_id)
    assert entry is not None and entry.state == "pending" and entry.next_attempt_at is not None
    assert deliver_due(services.database, settings, T0 + timedelta(seconds=1)).attempted == 0  # lease held

    def answering(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["webhook-id"], request.content))
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answering)) as client:
        report = deliver_due(services.database, settings, entry.next_attempt_at, client=client)
    assert report.delivered == [message_id]
    assert [item[0] for item in seen] == [message_id, message_id]
    assert seen[0][1] == seen[1][1]


def test_batch_limits_one_pass_and_oldest_go_first(services: Services, receiver: Receiver, secret: str) -> None:
    with services.database.engine.begin() as conn:
        ids = [
            enqueue(conn, "account.closed", {"account_id": f"acct-{n}"}, now=T0 + timedelta(seconds=n))
            for n in range(5)
        ]
    settings = WebhookSettings(receiver.url, secret)
    first = deliver_due(services.database, settings, T0 + timedelta(minutes=1), batch=3)
    assert first.delivered == ids[:3]
    second = deliver_due(services.database, settings, T0 + timedelta(minutes=1), batch=3)
    assert second.delivered == ids[3:]


def test_retry_policy_schedule() -> None:
    policy = RetryPolicy(jitter=0.0)
    rng = random.Random(0)
    schedule = [policy.delay(n, rng).total_seconds() for n in range(1, 14)]
    assert schedule[:5] == [30, 60, 120, 240, 480]
    assert schedule[-1] == 6 * 3600
    assert schedule == sorted(schedule)
