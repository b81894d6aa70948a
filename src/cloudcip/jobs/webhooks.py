"""The webhook outbox: decision notices (A4, A6) and special-measure notices (D4) to the provider.

Served requirements: A4, A6 (verification decisions, restrictions and deadlines reach the provider's
control plane), D4 (accounts closed or put under a measure's conditions "with notices").

**Outbox pattern.** ``enqueue(conn, event_type, payload)`` inserts a row on the caller's connection,
inside the caller's transaction: a rollback enqueues nothing, and a commit never loses a notice. A
background task (``deliver_due``, run by ``cloudcip.jobs.runner``) posts due rows later.

**Payloads hold ids and states only.** Keys must name an id or a state (``account_id``,
``decision``, ``state``, ``deadline_at`` ... see ``PAYLOAD_KEY``; a key holding an object may have
any snake-case name, its own keys being checked the same way); values are short strings,
integers, booleans, nulls, datetimes (sent as ISO 8601) or lists and objects of those. Anything else
is refused with ``WebhookPayloadError``, which names the key but never the value.

**Signing: Standard Webhooks** (https://www.standardwebhooks.com). The secret is
``whsec_<base64 of 32 random bytes>``; every request carries ``webhook-id`` (the outbox row id, the
same on every attempt), ``webhook-timestamp`` (unix seconds of the attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``. The body is
``{"type": ..., "timestamp": ..., "data": {...}}``, fixed at enqueue time.

**Delivery.** ``deliver_due`` claims up to ``batch`` due rows in one statement (``UPDATE ... WHERE id
IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, the same without the lock clause on
SQLite, where writers are serialised anyway): the claim counts the attempt and pushes
``next_attempt_at`` one lease ahead, so concurrent workers never post the same row at once and no
transaction stays open across HTTP. Each row is then POSTed (httpx, 5 s timeout) and its outcome
committed: 2xx marks it delivered (and redacts the secrets of its payload, ``SECRET_KEYS``: a one-time
code; a dead row's too); anything else schedules a retry with exponential backoff and
jitter (30 s, 1 min, 2 min, ... capped at 6 h), and once the next attempt would fall more than
``give_up_after`` (3 days) after the notice was created the row is *dead*: kept, never retried,
visible through ``outbox_entries(..., state="dead")`` and revivable with ``revive``.

**At-least-once.** A crash after the POST but before the outcome commits leaves the claim in place;
when its lease expires the row is due again and is posted again **with the same webhook-id and body**
(only the timestamp and signature are new). Receivers must dedupe on ``webhook-id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import random
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import Connection, RowMapping, and_, delete, select, update

from cloudcip import clock
from cloudcip.errors import InvalidInput
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.settings import webhook_url
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database

log = logging.getLogger("cloudcip.jobs.webhooks")

WEBHOOK_SECRET_FILE = "webhook-secret.txt"  # noqa: S105 (a file name)
SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix)
REQUEST_TIMEOUT_SECONDS = 5.0

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
PAYLOAD_KEY = re.compile(
    r"^(?:[a-z][a-z0-9]*_)*"
    r"(?:id|ids|state|states|status|decision|outcome|action|actions|kind|type|code|codes|reason|reasons"
    r"|at|on|until|deadline|version|count|left|tier|measure|measures|jurisdiction|jurisdictions"
    r"|restriction|restrictions|step|steps|channel|channels|method|methods)$"
)
OBJECT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # an object groups ids and states under any name
MAX_STRING = 128
MAX_ITEMS = 1000

OutboxState = Literal["pending", "delivered", "dead"]


class WebhookPayloadError(InvalidInput, ValueError):
    """A payload that is not ids and states only; the message names the key, never the value."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where notices go (``None``: delivery disabled, rows wait) and the signing secret."""

    url: str | None
    secret: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and when to give up."""

    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(days=3)
    jitter: float = 0.2  # each delay is stretched by a random fraction in [0, jitter)

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        """The wait after the ``failures``-th failed attempt (1-based): 30 s, 1 min, 2 min, ... 6 h."""
        exponent = min(max(failures - 1, 0), 32)
        base = min(self.first_delay * (2**exponent), self.max_delay)
        stretched: timedelta = base * (1.0 + self.jitter * rng.random())
        return min(stretched, self.max_delay)


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_due`` pass did (counts and ids only)."""

    disabled: bool = False
    attempted: int = 0
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row, read back."""

    id: str
    event_type: str
    data: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    last_status: int | None

    @property
    def state(self) -> OutboxState:
        if self.delivered_at is not None:
            return "delivered"
        return "pending" if self.next_attempt_at is not None else "dead"


# -- the secret ---------------------------------------------------------------------------------------
def new_webhook_secret() -> str:
    """A fresh ``whsec_...`` secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def ensure_webhook_secret(data_dir: Path) -> str:
    """The secret in ``data_dir/webhook-secret.txt``, created (mode 0600) if absent."""
    path = Path(data_dir) / WEBHOOK_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = new_webhook_secret()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secret + "\n")
    secret = path.read_text(encoding="ascii").strip()
    _secret_key(secret)  # refuse a damaged file early
    return secret


def webhook_settings_from_env(data_dir: Path, environ: Mapping[str, str] | None = None) -> WebhookSettings:
    """URL from ``CLOUDCIP_WEBHOOK_URL`` (``settings.webhook_url``; unset or empty: disabled);
    secret from the data dir."""
    return WebhookSettings(url=webhook_url(environ), secret=ensure_webhook_secret(data_dir))


# -- signing ------------------------------------------------------------------------------------------
def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    digest = hmac.new(_secret_key(secret), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers plus the content type."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify_signature(secret: str, message_id: str, timestamp: int, body: str, signature_header: str) -> bool:
    """True when any ``v1`` signature in the (space-separated) header matches."""
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signature_header.split(" "))


# -- enqueue ------------------------------------------------------------------------------------------
def _checked(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise WebhookPayloadError(f"payload value at {where} is longer than {MAX_STRING} characters")
        return value
    if isinstance(value, datetime):
        return clock.utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if len(value) > MAX_ITEMS:
            raise WebhookPayloadError(f"payload list at {where} has more than {MAX_ITEMS} items")
        return [_checked(item, f"{where}[]") for item in value]
    if isinstance(value, Mapping):
        return _checked_object(value, where)
    raise WebhookPayloadError(f"payload value at {where} is a {type(value).__name__}, not an id or a state")


def _checked_object(payload: Mapping[Any, Any], where: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in payload.items():
        is_group = isinstance(value, Mapping) and isinstance(key, str) and OBJECT_KEY.match(key) is not None
        if not isinstance(key, str) or not (is_group or PAYLOAD_KEY.match(key)):
            shown = key if isinstance(key, str) and len(key) <= 64 and key.isidentifier() else "<key>"
            raise WebhookPayloadError(f"payload key {where}.{shown} does not name an id or a state")
        checked[key] = _checked(value, f"{where}.{key}")
    return checked


#: a JSON string in a payload as written by ``_body`` (compact, ASCII): its text between the quotes
_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _body(event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    document = {"type": event_type, "timestamp": clock.utc(created_at).isoformat(), "data": data}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def enqueue(conn: Connection, event_type: str, payload: Mapping[str, Any], *, now: datetime | None = None) -> str:
    """Queue a notice in the caller's transaction; returns its id (the ``webhook-id``).

    ``event_type`` is dotted lower case (``application.decided``, ``account.measure_applied``);
    ``payload`` holds ids and states only (see the module docstring).
    """
    if not EVENT_TYPE.match(event_type) or len(event_type) > 64:
        raise WebhookPayloadError("event type must be dotted lower-case words, at most 64 characters")
    data = _checked_object(payload, "data")
    created = clock.utc(now or clock.now())
    message_id = "msg_" + uuid.uuid4().hex
    insert_rows(conn, webhook_outbox, [{  # straight to the driver: on the path of every decision
        "id": message_id, "event_type": event_type, "payload_json": _body(event_type, created, data),
        "created_at": created, "attempts": 0, "next_attempt_at": created,
    }])
    return message_id


def forget_payloads(conn: Connection, ids: Sequence[str]) -> int:
    """Delete the notices whose payload names any of ``ids`` (a purge's: B1, B2); the number deleted.

    One pass over the outbox whatever the number of ids: each payload's JSON strings are looked up in
    the set of ids (a thousand customers' purge used to be one statement of 200 ``LIKE``s per 200 ids,
    each reading the whole outbox)."""
    wanted = set(ids)
    if not wanted:
        return 0
    doomed = [row.id for row in conn.execute(select(webhook_outbox.c.id, webhook_outbox.c.payload_json))
              if any(token in wanted for token in _JSON_STRING.findall(row.payload_json))]
    deleted = 0
    for start in range(0, len(doomed), 500):
        deleted += max(0, conn.execute(delete(webhook_outbox).where(
            webhook_outbox.c.id.in_(doomed[start:start + 500]))).rowcount or 0)
    return deleted


# -- reading ------------------------------------------------------------------------------------------
def _entry(row: RowMapping) -> OutboxEntry:
    body = json.loads(row["payload_json"])
    return OutboxEntry(
        id=row["id"],
        event_type=row["event_type"],
        data=body["data"],
        created_at=clock.utc(row["created_at"]),
        attempts=int(row["attempts"]),
        next_attempt_at=clock.utc(row["next_attempt_at"]) if row["next_attempt_at"] is not None else None,
        delivered_at=clock.utc(row["delivered_at"]) if row["delivered_at"] is not None else None,
        last_error=row["last_error"],
        last_status=row["last_status"],
    )


def outbox_entry(database: Database, message_id: str) -> OutboxEntry | None:
    """One notice by id, or None."""
    with database.engine.connect() as conn:
        row = conn.execute(select(webhook_outbox).where(webhook_outbox.c.id == message_id)).mappings().first()
    return _entry(row) if row is not None else None


def outbox_entries(database: Database, *, state: OutboxState | None = None, limit: int = 100) -> list[OutboxEntry]:
    """Notices, oldest first, optionally only those in one state."""
    query = select(webhook_outbox).order_by(webhook_outbox.c.created_at, webhook_outbox.c.id).limit(limit)
    t = webhook_outbox.c
    if state == "delivered":
        query = query.where(t.delivered_at.is_not(None))
    elif state == "pending":
        query = query.where(t.delivered_at.is_(None), t.next_attempt_at.is_not(None))
    elif state == "dead":
        query = query.where(t.delivered_at.is_(None), t.next_attempt_at.is_(None))
    with database.engine.connect() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def revive(database: Database, message_id: str, now: datetime) -> bool:
    """Make a dead notice due again at ``now`` (an operator's action); False if it is not dead."""
    t = webhook_outbox.c
    with database.engine.begin() as conn:
        result = conn.execute(
            update(webhook_outbox)
            .where(t.id == message_id, t.delivered_at.is_(None), t.next_attempt_at.is_(None))
            .values(next_attempt_at=clock.utc(now))
        )
    return result.rowcount == 1


# -- delivery -----------------------------------------------------------------------------------------
#: payload keys whose values are secrets (a one-time code): kept only until the notice is delivered or
#: given up, then replaced by ``REDACTED`` (B2)
SECRET_KEYS = frozenset({"code"})
REDACTED = "redacted"


def _secrets_redacted(payload_json: str) -> dict[str, str]:
    """``{"payload_json": ...}`` with the secrets of a notice's data redacted, or ``{}`` when it has none."""
    body = json.loads(payload_json)
    data = body.get("data") or {}
    if not SECRET_KEYS & set(data):
        return {}
    body["data"] = {key: (REDACTED if key in SECRET_KEYS else value) for key, value in data.items()}
    return {"payload_json": json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)}


def _claim(database: Database, now: datetime, batch: int, lease: timedelta) -> list[RowMapping]:
    t = webhook_outbox.c
    due = (
        select(t.id)
        .where(t.delivered_at.is_(None), t.next_attempt_at.is_not(None), t.next_attempt_at <= now)
        .order_by(t.next_attempt_at)
        .limit(batch)
    )
    if database.is_postgresql:
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(webhook_outbox)
        .where(t.id.in_(due.scalar_subquery()))
        .values(attempts=t.attempts + 1, next_attempt_at=now + lease)
        .returning(t.id, t.payload_json, t.created_at, t.attempts)
    )
    with database.engine.begin() as conn:
        rows = list(conn.execute(claim).mappings())
    return sorted(rows, key=lambda row: (clock.utc(row["created_at"]), row["id"]))


def _post(client: httpx.Client, settings: WebhookSettings, row: RowMapping, now: datetime) -> tuple[int | None, str]:
    assert settings.url is not None
    body: str = row["payload_json"]
    headers = signed_headers(settings.secret, row["id"], int(now.timestamp()), body)
    headers["user-agent"] = "cloudcip-webhooks"
    try:
        response = client.post(settings.url, content=body.encode("utf-8"), headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, f"HTTP {response.status_code}"


def deliver_due(
    database: Database,
    settings: WebhookSettings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    batch: int = 100,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Post every due notice (at most ``batch``) once, and record each outcome. See the module docstring."""
    if settings.url is None:
        return DeliveryReport(disabled=True)
    now = clock.utc(now)
    jitter = rng or random.Random()
    lease = timedelta(seconds=batch * REQUEST_TIMEOUT_SECONDS + 60)
    rows = _claim(database, now, batch, lease)
    if not rows:
        return DeliveryReport()
    own_client = client is None
    http = client or httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, follow_redirects=False)
    delivered: list[str] = []
    retrying: list[str] = []
    dead: list[str] = []
    t = webhook_outbox.c
    try:
        for row in rows:
            status, reason = _post(http, settings, row, now)
            still_ours = and_(t.id == row["id"], t.delivered_at.is_(None))
            if status is not None and 200 <= status < 300:
                values: dict[str, Any] = {
                    **_secrets_redacted(row["payload_json"]),
                    "delivered_at": now,
                    "next_attempt_at": None,
                    "last_status": status,
                    "last_error": None,
                }
                delivered.append(row["id"])
            else:
                following = now + policy.delay(int(row["attempts"]), jitter)
                give_up = following - clock.utc(row["created_at"]) > policy.give_up_after
                values = {
                    **(_secrets_redacted(row["payload_json"]) if give_up else {}),
                    "next_attempt_at": None if give_up else following,
                    "last_status": status,
                    "last_error": reason,
                }
                (dead if give_up else retrying).append(row["id"])
                log.warning(
                    "webhook delivery failed",
                    extra={
                        "webhook_id": row["id"],
                        "attempts": int(row["attempts"]),
                        "reason": reason,
                        "dead": give_up,
                    },
                )
            with database.engine.begin() as conn:
                conn.execute(update(webhook_outbox).where(still_ours).values(**values))
    finally:
        if own_client:
            http.close()
    log.info(
        "webhook delivery pass",
        extra={"attempted": len(rows), "delivered": len(delivered), "retrying": len(retrying), "dead": len(dead)},
    )
    return DeliveryReport(attempted=len(rows), delivered=delivered, retrying=retrying, dead=dead)
