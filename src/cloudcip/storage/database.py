"""Engine creation for the embedded default (SQLite, WAL) and PostgreSQL (B1).

``Database`` wraps one SQLAlchemy engine; every capability takes a ``Database`` and opens its own
transactions with ``database.engine.begin()``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# A committing connection checkpoints the write-ahead log once it holds this many pages (SQLite's
# default is 1,000). ``cloudcip serve`` also runs a ``WalCheckpointer``, so the copying is done outside
# any write transaction and the log restarts long before this; the bound holds where nothing else
# checkpoints.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_CHECKPOINT_INTERVAL_S = 0.1  # ``WalCheckpointer``'s passes (see there)
WAL_CHECKPOINT_CATCH_UP_PASSES = 8  # passive passes in a row while writers add to the log meanwhile
WAL_RESTART_PAGES = 4_000  # ``WalCheckpointer`` restarts the log once it holds this many pages
WAL_RESTART_ATTEMPTS = 5  # in one pass, 2 ms apart
WAL_RESTART_RETRY_S = 0.002


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # B2: freed cells and pages are zeroed (records.purge)
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


class WalCheckpointer:
    """SQLite: copies the write-ahead log into the database every ``interval`` seconds from a thread
    of its own, and has the log start again from its beginning once it is all copied, so that a
    committing writer, which holds the one write lock (``WriteGate``), never finds the log at
    ``SQLITE_WAL_AUTOCHECKPOINT_PAGES``. Run by ``cloudcip serve`` (issue 11, B1).

    Why both. Two API workers deciding ~310 signups a second write ~80 pages each, ~25,000 pages a
    second. Copying (``PRAGMA wal_checkpoint(PASSIVE)``: never waits for a lock nor blocks a writer)
    keeps the log's pages in the database, but the log only starts again from its beginning when a
    writer begins while every page of it is copied and nobody reads from it; with writers committing
    every few milliseconds while a pass copies, that seldom happened, the log grew to the bound every
    ~0.4 s, and every commit past it checkpointed inside its write transaction (syncing the log and
    the database) until the log restarted, while the other worker waited: 30-60 ms for each decision
    in flight, the over-HTTP p99 of ``bench signup``.

    So a pass copies until a checkpoint finds nothing left (at most ``WAL_CHECKPOINT_CATCH_UP_PASSES``
    in a row: each copies what was committed during the one before), and once the log holds
    ``WAL_RESTART_PAGES`` or more, all copied, restarts it itself (``wal_checkpoint(RESTART)``) without
    waiting: this connection's busy timeout is 0 for the pass, and when a writer is in its transaction
    or a reader still uses the log it copies again and retries 2 ms later (``WAL_RESTART_ATTEMPTS``
    times), else at the next pass. The restart holds SQLite's write lock for the time of a header
    update; the next commit writes and syncs the log's new header, once per ~50 signups."""

    def __init__(
        self, database: Database, interval: float = WAL_CHECKPOINT_INTERVAL_S, restart_pages: int = WAL_RESTART_PAGES
    ) -> None:
        self.database = database
        self.interval = interval
        self.restart_pages = restart_pages
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int, int]:
        """One pass: (busy, pages in the log, pages copied) of its last checkpoint (after a restart,
        busy 0 and the log's pages before it)."""
        with self.database.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")
            try:
                for attempt in range(WAL_RESTART_ATTEMPTS):
                    if attempt:
                        time.sleep(WAL_RESTART_RETRY_S)  # a writer or a reader was in the log: let it finish
                    for _ in range(WAL_CHECKPOINT_CATCH_UP_PASSES):
                        busy, log, copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                        if busy or copied >= log:
                            break
                    if busy or log < self.restart_pages or copied < log:
                        break
                    busy, log, copied = driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                    if not busy:
                        self.restarts += 1
                        break
            finally:
                driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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
