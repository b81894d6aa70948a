"""NATS JetStream consumer (C1, C2) against the real server at 127.0.0.1:4222: stream created if
absent, acknowledgement only after commit, redelivery harmless, bad messages rejected whole."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid

import pytest
from sqlalchemy import func, select

from cloudcip.access.consumer import consume
from cloudcip.access.events import EventRow
from cloudcip.access.schema import access_event
from cloudcip.access.store import IngestResult, ingest
from cloudcip.storage.database import Database

SERVER = "nats://127.0.0.1:4222"


def _nats_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=2):
            return True
    except OSError:
        return False


if os.environ.get("CLOUDCIP_REQUIRE_NATS") == "1" and not _nats_reachable():
    raise RuntimeError("NATS at 127.0.0.1:4222 is unreachable, and CLOUDCIP_REQUIRE_NATS=1 requires it")
pytestmark = pytest.mark.skipif(not _nats_reachable(), reason="NATS server at 127.0.0.1:4222 is unreachable")


def event(n: int) -> bytes:
    return json.dumps({"id": f"nats-{n}", "account_id": f"acct-{n % 3}", "principal": "p",
                       "time": "2026-04-01T00:00:00.000Z", "ip": f"192.0.2.{n % 250}", "action": "x",
                       "kind": "access"}).encode()


async def publish(subject: str, stream: str, bodies: list[bytes]) -> None:
    import nats

    connection = await nats.connect(SERVER)
    js = connection.jetstream()
    try:
        await js.stream_info(stream)
    except Exception:
        await js.add_stream(name=stream, subjects=[subject])
    for body in bodies:
        await js.publish(subject, body)
    await connection.drain()


async def delete_stream(stream: str) -> None:
    import nats

    connection = await nats.connect(SERVER)
    try:
        await connection.jetstream().delete_stream(stream)
    finally:
        await connection.drain()


def count(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(access_event)).scalar_one())


def names() -> tuple[str, str, str]:
    token = uuid.uuid4().hex[:10]
    return f"cloudcip.test.{token}", f"CLOUDCIP_TEST_{token}", f"test-{token}"


def test_consumer_stores_acks_and_dedupes_redelivery(db: Database) -> None:
    subject, stream, durable = names()

    async def scenario() -> None:
        try:
            # the consumer creates the stream itself
            first = await consume(db, servers=SERVER, subject=subject, stream=stream, durable=durable,
                                  exit_when_idle=True, fetch_timeout=0.5)
            assert first.messages == 0
            bodies = [event(n) for n in range(40)] + [event(n) for n in range(10)]  # 10 redelivered
            bodies.append(b"\n".join(event(n) for n in range(40, 45)))  # JSON lines in one message
            bodies.append(b'{"id": "broken"')
            await publish(subject, stream, bodies)
            stats = await consume(db, servers=SERVER, subject=subject, stream=stream, durable=durable,
                                  batch=16, exit_when_idle=True, fetch_timeout=0.5)
            assert (stats.messages, stats.accepted, stats.duplicates, stats.rejected_messages) == (52, 45, 10, 1)
            assert stats.rejections[0][1] == [(1, "invalid JSON (Expecting ',' delimiter at column 16)")]
            again = await consume(db, servers=SERVER, subject=subject, stream=stream, durable=durable,
                                  exit_when_idle=True, fetch_timeout=0.5)
            assert again.messages == 0  # everything was acknowledged
        finally:
            await delete_stream(stream)

    asyncio.run(scenario())
    assert count(db) == 45


def test_failed_commit_is_not_acknowledged_and_comes_back(db: Database) -> None:
    subject, stream, durable = names()

    def failing_store(_rows: list[EventRow]) -> IngestResult:
        raise RuntimeError("database went away")

    def real_store(rows: list[EventRow]) -> IngestResult:
        return ingest(db, rows)

    async def scenario() -> None:
        try:
            await publish(subject, stream, [event(n) for n in range(20)])
            with pytest.raises(RuntimeError):
                await consume(db, servers=SERVER, subject=subject, stream=stream, durable=durable,
                              exit_when_idle=True, fetch_timeout=0.5, store=failing_store)
            stats = await consume(db, servers=SERVER, subject=subject, stream=stream, durable=durable,
                                  exit_when_idle=True, fetch_timeout=2.0, store=real_store, max_messages=20)
            assert (stats.messages, stats.accepted) == (20, 20)
        finally:
            await delete_stream(stream)

    asyncio.run(scenario())
    assert count(db) == 20
