"""``cloudcip access consume``: access events from a NATS JetStream subject (C1, C2).

A durable pull consumer (default subject ``cloudcip.access``, stream ``CLOUDCIP_ACCESS`` created if
absent, durable name ``cloudcip-access``). Each message holds one event, JSON lines or a JSON array in
one of the intake formats (plain or gzip). The messages of one fetch are stored in one transaction
and acknowledged only after it commits; if the commit fails they are negatively acknowledged and
come back. A crash between commit and acknowledgement makes the server redeliver: harmless, since
intake is idempotent on the event ``id`` (producers must set ids for exactly-once effect).

A message that fails validation is rejected whole (``term``: never redelivered) and logged with its
stream sequence and the reasons, never its content.

When the NATS servers do not answer, the consumer does not wait silently: connecting gives up after
``connect_timeout`` seconds and each of ``connect_attempts`` tries with :class:`NatsUnavailable` (a
503 kind: the CLI exits 7 saying so); a lost connection is reported through ``notify`` while the
client reconnects, and ends the run the same way once it gives up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudcip.access.batch import DEFAULT_ENRICHMENT
from cloudcip.access.events import AccessBatchError, EventRow
from cloudcip.access.formats import parse_rows, row_parser
from cloudcip.access.store import IngestResult, ingest
from cloudcip.errors import Unavailable
from cloudcip.storage.database import Database

DEFAULT_SUBJECT = "cloudcip.access"
DEFAULT_STREAM = "CLOUDCIP_ACCESS"
DEFAULT_DURABLE = "cloudcip-access"
DEFAULT_SERVERS = "nats://127.0.0.1:4222"

log = logging.getLogger(__name__)


class NatsUnavailable(Unavailable):
    """The NATS servers did not answer, or the connection was lost for good (503; CLI exit 7)."""


@dataclass
class ConsumeStats:
    """What one run of the consumer did."""

    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected_messages: int = 0
    batches: int = 0
    rejections: list[tuple[int, list[tuple[int, str]]]] = field(default_factory=list)  # (seq, errors)


async def ensure_stream(js: Any, stream: str, subject: str) -> None:
    """Create the stream for ``subject`` unless a stream of that name exists."""
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=[subject])


def _sequence(message: Any) -> int:
    try:
        return int(message.metadata.sequence.stream)
    except (AttributeError, TypeError, ValueError):
        return -1


async def consume(
    database: Database,
    *,
    servers: str = DEFAULT_SERVERS,
    subject: str = DEFAULT_SUBJECT,
    stream: str = DEFAULT_STREAM,
    durable: str = DEFAULT_DURABLE,
    fmt: str = "jsonl",
    batch: int = 1000,
    fetch_timeout: float = 1.0,
    max_messages: int | None = None,
    exit_when_idle: bool = False,
    stop: asyncio.Event | None = None,
    ack_wait: float = 30.0,
    enrich: Any = DEFAULT_ENRICHMENT,
    signal_policy: Any = None,
    store: Callable[[list[EventRow]], IngestResult] | None = None,
    connect_timeout: float = 5.0,
    connect_attempts: int = 3,
    notify: Callable[[str], None] | None = None,
) -> ConsumeStats:
    """Pull, store and acknowledge until ``stop`` is set, ``max_messages`` were handled, or (with
    ``exit_when_idle``) a fetch comes back empty. ``store`` replaces the default ``ingest`` call;
    ``notify`` hears of a lost and a regained connection. :class:`NatsUnavailable` when the servers do
    not answer."""
    import nats
    from nats.errors import ConnectionClosedError, NoServersError
    from nats.errors import TimeoutError as NatsTimeoutError
    from nats.js.api import AckPolicy, ConsumerConfig

    row_parser(fmt)
    stats = ConsumeStats()

    def default_store(rows: list[EventRow]) -> IngestResult:
        return ingest(database, rows, enrich=enrich, signal_policy=signal_policy)

    write = store if store is not None else default_store
    tell = notify or (lambda message: log.warning("%s", message))
    closing = False

    async def disconnected() -> None:
        if not closing:
            tell("the connection to NATS was lost; reconnecting")

    async def reconnected() -> None:
        tell("reconnected to NATS")

    async def quiet(_error: Exception) -> None:
        """Errors are reported once, as ``NatsUnavailable``, not as the client's traceback per attempt."""

    unavailable = (f"NATS does not answer at the servers given ({connect_attempts} attempt(s) of "
                   f"{connect_timeout:g} s); is it running, with JetStream enabled?")
    try:
        connection = await nats.connect(servers, connect_timeout=connect_timeout,
                                        max_reconnect_attempts=max(0, connect_attempts - 1), reconnect_time_wait=1,
                                        error_cb=quiet, disconnected_cb=disconnected, reconnected_cb=reconnected)
    except (NoServersError, OSError, TimeoutError, NatsTimeoutError) as exc:
        raise NatsUnavailable(unavailable) from exc
    try:
        js = connection.jetstream()
        await ensure_stream(js, stream, subject)
        subscription = await js.pull_subscribe(
            subject, durable=durable, stream=stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait),
        )
        while stop is None or not stop.is_set():
            want = batch
            if max_messages is not None:
                want = min(batch, max_messages - stats.messages)
                if want <= 0:
                    break
            try:
                messages = await subscription.fetch(want, timeout=fetch_timeout)
            except (TimeoutError, NatsTimeoutError):  # nats-py raises either when nothing came
                if connection.is_closed:
                    raise NatsUnavailable("the connection to NATS was lost and could not be made again") from None
                if exit_when_idle:
                    break
                continue
            except ConnectionClosedError:
                raise NatsUnavailable("the connection to NATS was lost and could not be made again") from None
            good: list[Any] = []
            rows: list[EventRow] = []
            for message in messages:
                try:
                    message_rows = parse_rows(message.data, fmt)
                except AccessBatchError as exc:
                    sequence = _sequence(message)
                    stats.rejected_messages += 1
                    stats.rejections.append((sequence, exc.errors))
                    log.warning("access message rejected: stream sequence %s, %s",
                                sequence, "; ".join(f"line {n}: {r}" for n, r in exc.errors[:20]))
                    await message.term()
                    continue
                good.append(message)
                rows.extend(message_rows)
            stats.messages += len(messages)
            if good:
                try:
                    result = await asyncio.to_thread(write, rows)
                except Exception:
                    for message in good:
                        await message.nak()
                    await connection.flush()
                    raise
                for message in good:
                    await message.ack()
                await connection.flush()
                stats.accepted += result.accepted
                stats.duplicates += result.duplicates
                stats.batches += 1
    except NatsTimeoutError as exc:  # JetStream did not answer a request (stream info, consumer)
        raise NatsUnavailable("NATS answered but JetStream did not; is JetStream enabled?") from exc
    finally:
        closing = True
        if not connection.is_closed:
            await connection.drain()
    return stats


def run_consumer(database: Database, **options: Any) -> ConsumeStats:
    """Blocking wrapper of ``consume`` for the CLI."""
    return asyncio.run(consume(database, **options))
