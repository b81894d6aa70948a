"""Engine creation for the embedded default (SQLite, WAL) and PostgreSQL (B1).

``Database`` wraps one SQLAlchemy engine; every capability takes a ``Database`` and opens its own
transactions with ``database.engine.begin()``.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# A committing connection checkpoints the write-ahead log once it holds this many pages (SQLite's
# default is 1,000). ``cloudcip serve`` also runs a ``WalCheckpointer``, so the copying is mostly
# done outside any write transaction; this bound holds where nothing else checkpoints.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
WAL_CHECKPOINT_INTERVAL_S = 0.1  # ``WalCheckpointer``'s passes (see there)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # B2: freed cells and pages are zeroed (records.purge)
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


class WalCheckpointer:
    """SQLite: copies the write-ahead log into the database every ``interval`` seconds from a thread
    of its own (``PRAGMA wal_checkpoint(PASSIVE)``: it never waits for a lock nor blocks a writer),
    so that a committing writer, which holds the one write lock (``WriteGate``), finds little or
    nothing left to checkpoint. Run by ``cloudcip serve``.

    Every 0.1 s (``WAL_CHECKPOINT_INTERVAL_S``): two API workers deciding ~310 signups a second write
    ~80 pages each, ~12,000 pages in 0.5 s, so with a pass every 0.5 s the log crossed
    ``SQLITE_WAL_AUTOCHECKPOINT_PAGES`` every ~0.4 s and the worker whose commit crossed it copied
    thousands of pages inside its write transaction while the other waited: 30-60 ms for every
    decision in flight, the over-HTTP p99 of ``bench signup`` (issue 11). A pass every 0.1 s copies
    ~3,000 pages (10-15 ms of this thread), and a crossing finds little left to copy."""

    def __init__(self, database: Database, interval: float = WAL_CHECKPOINT_INTERVAL_S) -> None:
        self.database = database
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, frames in the log, frames copied)."""
        with self.database.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            busy, log, copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(log), int(copied)

    def start(self) -> None:
        if not self.database.is_sqlite or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cloudcip-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception as exc:  # a locked or missing file: try again at the next tick
                import structlog

                structlog.get_logger("cloudcip.storage").warning("checkpoint failed", error=type(exc).__name__)


class WriteGate:
    """SQLite's one writer, taken in turn: threads of a process queue on a lock, and processes (the
    API workers of ``serve --workers N``, a CLI beside the service) on an advisory file lock beside
    the database, so a waiting writer wakes the moment the other commits instead of sleeping in
    SQLite's busy handler, and a transaction that reads before it writes never meets a newer
    snapshot (SQLITE_BUSY_SNAPSHOT). Re-entrant within a thread."""

    def __init__(self, lock_path: Path | None) -> None:
        self._threads = threading.RLock()
        self._lock_path = lock_path
        self._depth = 0
        self._descriptor: int | None = None

    def __enter__(self) -> WriteGate:
        self._threads.acquire()
        try:
            if self._depth == 0 and self._lock_path is not None:
                # opened per transaction: a descriptor inherited across fork would share the lock
                descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
                except BaseException:
                    os.close(descriptor)
                    raise
                self._descriptor = descriptor
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._descriptor is not None:
            descriptor, self._descriptor = self._descriptor, None
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
        self._threads.release()


@dataclass
class Database:
    """One database, SQLite or PostgreSQL, reached through ``engine``."""

    url: str
    engine: Engine
    _writer: WriteGate = field(default_factory=lambda: WriteGate(None), repr=False)

    def write_gate(self) -> AbstractContextManager[object]:
        """Serialises write transactions on SQLite, which has one writer at a time (see ``WriteGate``).
        A no-op on PostgreSQL."""
        return self._writer if self.is_sqlite else nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, schema: str | None = None) -> Database:
    """Create the engine for ``url``; ``schema`` (PostgreSQL only) sets the search path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            gate = WriteGate(Path(f"{parsed.database}-writer.lock"))
            return Database(url=url, engine=engine, _writer=gate)
    elif parsed.get_backend_name() == "postgresql":
        options: dict[str, Any] = {}
        if schema:
            options["connect_args"] = {"options": f"-csearch_path={schema}"}
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options)
    else:
        engine = create_engine(url, poolclass=NullPool)
    return Database(url=url, engine=engine)
