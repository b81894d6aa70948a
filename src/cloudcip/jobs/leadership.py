"""Which node runs the periodic jobs when several ``cloudcip serve`` share one PostgreSQL database (B1, C4).

Any number of ``serve`` processes, on any number of machines, answer the API. The periodic jobs
(webhook delivery, verification deadlines, re-screening, retention, links, risk, peers' indicators)
and the signal follower run on **one** of them at a time: the node that holds the jobs' PostgreSQL
advisory lock. The lock is a session lock, held by one connection of its own that the node keeps
open; it is namespaced by the database schema (two deployments in two schemas of one database do
not share it). Each pass of the job runner (and each round of the follower) first asks
:meth:`JobLeadership.held`: the holder checks its connection still answers, another node tries to
take the lock. When the holding node dies (SIGKILL, a lost machine), PostgreSQL ends its session
and releases the lock; the next pass of another node takes it, and the jobs go on there (their
state is in the database, so nothing is run twice: the webhook outbox claims rows with
``SKIP LOCKED``, the follower moves its cursor by compare and set).

The holding connection is named ``cloudcip-jobs <host> <pid>`` (``application_name``), so an operator
sees which node leads::

    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND l.classid = 1667 AND l.granted;

SQLite has one machine and one ``serve``: that process always leads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from sqlalchemy import Connection, text

from cloudcip.storage.database import Database

log = logging.getLogger("cloudcip.jobs")

JOBS_LOCK_CLASS = 1667  # the first key of the two-key advisory lock; the second is the schema's hash


class JobLeadership:
    """Whether this process runs the periodic jobs now (see the module's docstring)."""

    def __init__(self, database: Database, *, name: str | None = None) -> None:
        self.database = database
        self.name = name or f"cloudcip-jobs {socket.gethostname()} {os.getpid()}"
        self._connection: Connection | None = None
        self._guard = threading.Lock()

    def held(self) -> bool:
        """True while this process holds the jobs' lock (taking it when it is free)."""
        if not self.database.is_postgresql:
            return True
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    return True
                except Exception as exc:  # the session is gone, and the lock with it
                    log.warning("job leadership lost", extra={"error": type(exc).__name__})
                    self._close()
            return self._try_take()

    def _try_take(self) -> bool:
        try:
            connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            log.warning("job leadership: database unreachable", extra={"error": type(exc).__name__})
            return False
        try:
            connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": self.name[:63]})
            taken = bool(connection.execute(text(
                "SELECT pg_try_advisory_lock(:lock_class, hashtext(current_schema()))"),
                {"lock_class": JOBS_LOCK_CLASS}).scalar_one())
        except Exception as exc:
            log.warning("job leadership: lock not taken", extra={"error": type(exc).__name__})
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        log.info("job leadership taken", extra={"node": self.name})
        self._connection = connection
        return True

    def _close(self) -> None:
        if self._connection is not None:
            try:
                # closed for real, not returned to the pool with the session lock still on it
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # already broken: nothing to release
                log.debug("job leadership connection closed broken")
            self._connection = None

    def release(self) -> None:
        """Give the lead up (at shutdown): another node takes it on its next pass."""
        with self._guard:
            self._close()
