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
# ``WalCheckpointer`` catches up with the writers, so that the next one starts the log over, once the
# log holds this many frames (half the bound above; a quarter tripled the thread's syncs over HTTP)...
SQLITE_WAL_RESTART_FRAMES = SQLITE_WAL_AUTOCHECKPOINT_PAGES // 2
# ... and copies the last commits' frames under the write gate when outpaced with the log this long
SQLITE_WAL_FORCE_FRAMES = SQLITE_WAL_AUTOCHECKPOINT_PAGES * 3 // 4
CATCH_UP_PASSES = 8  # at most, after a tick's pass (see ``WalCheckpointer``)


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
    nothing left to checkpoint. Run by ``cloudcip serve`` (B1).

    Every 0.1 s (``WAL_CHECKPOINT_INTERVAL_S``): two API workers deciding ~310 signups a second write
    ~80 pages each, ~12,000 pages in 0.5 s, so with a pass every 0.5 s the log crossed
    ``SQLITE_WAL_AUTOCHECKPOINT_PAGES`` every ~0.4 s and the worker whose commit crossed it copied
    thousands of pages inside its write transaction while the other waited: 30-60 ms for every
    decision in flight, the over-HTTP p99 of ``bench signup`` (issue 11). A pass every 0.1 s copies
    ~3,000 pages (10-15 ms of this thread), and a crossing finds little left to copy.

    The log starts over from its first frame only when a writer begins while every frame of it is
    copied; a pass copies the frames present when it began, and under a steady stream of signups
    another commit has always landed by the time it ends, so the log used to grow to
    ``SQLITE_WAL_AUTOCHECKPOINT_PAGES`` and the writer whose commit crossed it checkpointed it
    itself: it synced the log and the database inside its decision (8-15 ms wall, once every ~140
    signups, the in-process tail of issue 11). Once the log holds ``restart_frames``, a pass is
    followed by short ones, each copying what was committed during the one before, until one finds
    nothing new (``CATCH_UP_PASSES`` at most, none of them waiting for anything): the next writer
    then starts the log over, at the cost of syncing the log's header (SQLite does it on every
    restart, whatever ``synchronous`` says). Every commit stays as durable as before: a pass syncs
    the log before copying it and the database after.

    The thread runs its passes on one connection of its own, taken from the engine once: a pass is
    then a statement and its row, little work holding the interpreter's lock that the decisions of
    the same process wait for (the pool's checkout and return, per pass, were several times that)."""

    def __init__(self, database: Database, interval: float = WAL_CHECKPOINT_INTERVAL_S,
                 restart_frames: int = SQLITE_WAL_RESTART_FRAMES, force_frames: int = SQLITE_WAL_FORCE_FRAMES) -> None:
        self.database = database
        self.interval = interval
        self.restart_frames = restart_frames
        self.force_frames = force_frames
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None  # the pooled connection the passes run on (SQLAlchemy's fairy)

    def run_once(self) -> tuple[int, int, int]:
        """One passive checkpoint, and the catch-up passes above when the log is long: (busy,
        frames in the log, frames copied) of the first."""
        first = busy, log, copied = self._pass()
        if busy or copied < log or log < self.restart_frames:
            return first  # a reader holds older frames, or another checkpoint runs: the next tick
        for _ in range(CATCH_UP_PASSES):
            version = self._data_version()
            busy, now, copied = self._pass()
            if busy or copied < now or now < log:
                return first  # a reader holds older frames, another checkpoint runs, or the log started over
            if now == log:
                # nothing committed since the pass before, which copied every frame; under the gate
                # no writer holds a snapshot older than now: unless one committed since ``version``
                # was read (it would then have written after the last copied frame), the next
                # writer starts the log over. Held for two statements, no I/O.
                with self.database.write_gate():
                    if self._data_version() == version:
                        return first
            log = now
        if log >= self.force_frames:
            # the writers outpaced the passes (slow syncs): copy the last few commits' frames with no
            # writer running rather than leave the log to the committing writer's checkpoint at
            # SQLITE_WAL_AUTOCHECKPOINT_PAGES, which would sync everything since the last pass
            with self.database.write_gate():
                self._pass()
        return first

    def _driver(self) -> Any:
        if self._connection is None:
            self._connection = self.database.engine.raw_connection()
        return self._connection.driver_connection

    def _pass(self) -> tuple[int, int, int]:
        busy, log, copied = self._driver().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(log), int(copied)

    def _data_version(self) -> int:
        """Changes whenever another connection has committed (``PRAGMA data_version``)."""
        return int(self._driver().execute("PRAGMA data_version").fetchone()[0])

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
        if self._connection is not None and (self._thread is None or not self._thread.is_alive()):
            connection, self._connection = self._connection, None
            connection.close()  # back to the engine's pool

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception as exc:  # a locked or missing file: try again at the next tick
                if self._connection is not None:
                    connection, self._connection = self._connection, None
                    connection.invalidate()  # a fresh connection at the next tick
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
