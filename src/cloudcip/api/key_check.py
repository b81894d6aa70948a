"""The API key of a request, checked against its stored row on every request, cheaply (B4).

``records.api_keys.authenticate`` reads the key's row through SQLAlchemy: ~0.1 ms of a worker's CPU
per request, a fifth of the HTTP layer of a signup. A key's role and expiry never change once it is
created (only its revocation and last use are written), so a worker keeps them for each key it has
authenticated (by the digest of the key presented) and reads on every request only what can change:
the stored row's secret hash and revocation, one primary-key read through the driver (~10 us).

A key is let through from what is kept only when its row is still there, unrevoked, with the secret
hash it had when the key was authenticated, and it has not expired by now. Anything else (a key not
seen yet, revoked, expired, replaced, gone) goes to ``authenticate``, which decides as it always has:
a revocation is seen by the very next request of every worker and node, as before.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.sql.compiler import SQLCompiler

from cloudcip import clock
from cloudcip.errors import Internal
from cloudcip.records import api_keys
from cloudcip.records.roles import Actor
from cloudcip.storage.schema import api_key

#: what may change of a key's row, read on every request
_CURRENT = select(api_key.c.secret_hash, api_key.c.revoked_at).where(api_key.c.id == bindparam("key_id"))

#: at most this many keys kept per process (the table is emptied when it is full)
KEPT_KEYS = 10_000


class _Known(NamedTuple):
    key_id: str
    secret_hash: str  # as stored when the key was authenticated
    actor: Actor
    expires_at: datetime | None


class KeyCheck:
    """One process's keys: ``actor_of(conn, presented, now)`` is ``authenticate``'s answer."""

    def __init__(self) -> None:
        self._known: dict[bytes, _Known] = {}
        self._statements: dict[str, tuple[str, bool]] = {}

    def actor_on(self, engine: Engine, presented: str, now: datetime) -> Actor | None:
        """``actor_of`` on a connection of ``engine``'s pool: a key kept is checked on the pooled driver
        connection itself (no SQLAlchemy ``Connection`` built around it: ~5 us a request), any other
        (or one that fails the check) by ``actor_of`` on a ``Connection``, as before."""
        known = self._known.get(hashlib.sha256(presented.encode()).digest())
        if known is not None:
            pooled = engine.raw_connection()
            try:
                current = self._read(pooled.driver_connection, engine.dialect, known.key_id)
            finally:
                pooled.close()
            if _valid(known, current, now):
                return known.actor
        with engine.connect() as conn:
            return self.actor_of(conn, presented, now)

    def actor_of(self, conn: Connection, presented: str, now: datetime) -> Actor | None:
        digest = hashlib.sha256(presented.encode()).digest()
        known = self._known.get(digest)
        if known is not None:
            if _valid(known, self._current(conn, known.key_id), now):
                return known.actor
            del self._known[digest]
        actor = api_keys.authenticate(conn, presented, now)
        if actor is not None:
            self._keep(conn, digest, presented, actor)
        return actor

    def _keep(self, conn: Connection, digest: bytes, presented: str, actor: Actor) -> None:
        key_id = api_keys.key_id_of(presented)
        current = self._current(conn, key_id) if key_id is not None else None
        if key_id is None or current is None:
            return
        info = api_keys.get_api_key(conn, key_id)
        if len(self._known) >= KEPT_KEYS:
            self._known.clear()
        self._known[digest] = _Known(key_id, current[0], actor, info.expires_at)

    def _current(self, conn: Connection, key_id: str) -> tuple[str, Any] | None:
        """(secret hash, revoked at) of the stored key, or None when there is none: the statement is
        compiled once per database dialect and run on the driver's own cursor."""
        return self._read(conn.connection.driver_connection, conn.dialect, key_id)

    def _read(self, driver: Any, dialect: Any, key_id: str) -> tuple[str, Any] | None:
        statement = self._statements.get(dialect.name)
        if statement is None:
            statement = self._statements[dialect.name] = _compiled(dialect)
        sql, positional = statement
        arguments: Any = (key_id,) if positional else {"key_id": key_id}
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.execute(sql, arguments)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else (str(row[0]), row[1])


def _compiled(dialect: Any) -> tuple[str, bool]:
    """``_CURRENT`` as the dialect's driver takes it: its SQL, and whether its one parameter (the key's
    id, with no bind processing on either engine) is passed by position or by name."""
    compiled: SQLCompiler = _CURRENT.compile(dialect=dialect)
    if compiled.positional and tuple(compiled.positiontup or ()) != ("key_id",):
        raise Internal(f"the key's statement takes {compiled.positiontup}, not (key_id,)")
    return compiled.string, bool(compiled.positional)


def _valid(known: _Known, current: tuple[str, Any] | None, now: datetime) -> bool:
    """Whether the key kept may be let through: its row still there, unrevoked, with the secret hash it
    had, and not expired by ``now``."""
    return (current is not None and current[1] is None and current[0] == known.secret_hash
            and (known.expires_at is None or clock.utc(known.expires_at) > clock.utc(now)))
