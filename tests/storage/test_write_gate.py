"""B1, B3: on SQLite, write transactions of several processes (``serve --workers 2``, a CLI beside the
service) take the one writer in turn; none fails with "database is locked", the ledger stays whole."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from sqlalchemy import select

from cloudcip.ledger.schema import ledger_state
from cloudcip.ledger.store import LedgerAction
from cloudcip.runtime import initialise, open_services
from cloudcip.settings import Settings
from cloudcip.storage.database import Database, WalCheckpointer, WriteGate, open_database

WRITES = 150


def _writer(data_dir: str, url: str, name: str) -> None:
    services = open_services(Settings(data_dir=Path(data_dir), database_url=url))
    try:
        for number in range(WRITES):
            with services.ledger.unit_of_work() as work:
                # read, then write, while the other process does the same
                work.conn.execute(select(ledger_state.c.tree_size)).scalar_one()
                work.log(LedgerAction(name, "analyst", "read", "customer", f"{name}-{number}", purpose="review"))
    finally:
        services.close()


def test_two_processes_write_in_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloudcip.db'}"
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    initialise(settings)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(settings.data_dir), url, f"w{n}")) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    services = open_services(settings)
    try:
        report = services.ledger.verify()
        assert report.ok and report.tree_size >= 2 * WRITES
        assert services.ledger.size() == report.tree_size
    finally:
        services.close()


def test_gate_is_reentrant_and_excludes_other_holders(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'gate.db'}")
    assert (tmp_path / "gate.db-writer.lock").exists() is False  # made on first use
    gate = database.write_gate()
    assert isinstance(gate, WriteGate)
    entered = threading.Event()
    with gate, gate:  # re-entrant within a thread
        assert (tmp_path / "gate.db-writer.lock").exists()
        other = WriteGate(tmp_path / "gate.db-writer.lock")  # as another process would hold it
        thread = threading.Thread(target=lambda: (other.__enter__(), entered.set(), other.__exit__()))
        thread.start()
        assert not entered.wait(0.3)  # held here: the other holder waits
    assert entered.wait(5)  # released on leaving the outermost level
    thread.join()
    database.dispose()


def test_wal_checkpointer_copies_the_log_outside_the_writes(tmp_path: Path) -> None:
    """B1: a committing connection leaves up to SQLITE_WAL_AUTOCHECKPOINT_PAGES in the log; the
    serve process's checkpointer copies them into the database from its own thread."""
    from sqlalchemy import text

    from cloudcip.storage.database import SQLITE_WAL_AUTOCHECKPOINT_PAGES, WalCheckpointer, open_database

    database = open_database(f"sqlite:///{tmp_path}/wal.db")
    with database.engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_AUTOCHECKPOINT_PAGES
        connection.execute(text("CREATE TABLE t (v BLOB)"))
        for _ in range(200):
            connection.execute(text("INSERT INTO t VALUES (randomblob(4000))"))
    checkpointer = WalCheckpointer(database, interval=0.01)
    busy, log, copied = checkpointer.run_once()
    assert busy == 0 and log > 200 and copied == log  # all of it was left in the log, and is now copied
    checkpointer.start()
    assert checkpointer._thread is not None and checkpointer._thread.is_alive()
    checkpointer.stop()
    assert checkpointer._thread is not None and not checkpointer._thread.is_alive()
    database.dispose()


class _CommitDuringFirstPass(WalCheckpointer):
    """A writer whose transaction began before the tick's first pass commits while it copies, as a
    signup does under load: its snapshot is older than the copy, so it appends to the log."""

    committed = False

    def _pass(self) -> tuple[int, int, int]:
        if self.committed:
            return super()._pass()
        import sqlite3

        self.committed = True
        writer = sqlite3.connect(str(self.database.engine.url.database), isolation_level=None)
        writer.execute("BEGIN")
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
        result = super()._pass()
        writer.execute("COMMIT")
        writer.close()
        return result


def _log_frames(database_path: Path) -> int:
    import sqlite3

    with sqlite3.connect(database_path) as connection:  # frames in the log (and copies any left)
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_wal_checkpointer_catches_up_so_the_next_writer_restarts_the_log(tmp_path: Path) -> None:
    """B1, issue 11: a pass copies the frames present when it began; a commit landing meanwhile used
    to leave the log never fully copied, so it grew until a committing writer checkpointed it itself
    (syncing the log and the database inside its transaction). The catch-up passes copy it too, and
    the next writer starts the log over."""
    database = open_database(f"sqlite:///{tmp_path}/wal.db")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (v BLOB)")
        for _ in range(200):
            connection.exec_driver_sql("INSERT INTO t VALUES (randomblob(4000))")
    checkpointer = _CommitDuringFirstPass(database, restart_frames=100)
    busy, log, copied = checkpointer.run_once()
    assert checkpointer.committed and busy == 0 and copied == log > 200
    with database.write_gate(), database.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (randomblob(4000))")
    assert _log_frames(tmp_path / "wal.db") < 10  # this commit's frames alone: the log started over
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 202
    checkpointer.stop()
    database.dispose()


class _Scripted(WalCheckpointer):
    """Passes that return what a script says, noting whether the write gate was held."""

    def __init__(self, database: Database, results: list[tuple[int, int, int]], versions: list[int]) -> None:
        super().__init__(database, restart_frames=1_000, force_frames=5_000)
        self.results, self.versions = results, versions
        self.passes: list[bool] = []  # gate held, per pass
        self.checks: list[bool] = []  # gate held, per reading of the data version

    def _pass(self) -> tuple[int, int, int]:
        gate = self.database._writer
        self.passes.append(gate._depth > 0)
        return self.results.pop(0)

    def _data_version(self) -> int:
        self.checks.append(self.database._writer._depth > 0)
        return self.versions.pop(0)


def test_wal_checkpointer_catch_up_stops_when_nothing_was_committed(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path}/wal.db")
    # 1,200 frames, then 60 more came during that pass, then nothing new: checked under the gate
    checkpointer = _Scripted(database, [(0, 1200, 1200), (0, 1260, 1260), (0, 1260, 1260)], [1, 2, 2])
    assert checkpointer.run_once() == (0, 1200, 1200)
    assert checkpointer.passes == [False, False, False] and checkpointer.checks == [False, False, True]
    # a commit between that check's reading and the gate: the catch-up goes on
    checkpointer = _Scripted(database, [(0, 1200, 1200), (0, 1200, 1200), (0, 1260, 1260), (0, 1260, 1260)],
                             [1, 2, 3, 3, 3])
    checkpointer.run_once()
    assert checkpointer.passes == [False] * 4 and checkpointer.checks == [False, True, False, False, True]
    # short logs, or a reader holding older frames: one pass, nothing else
    for first in [(0, 900, 900), (0, 1200, 1100), (1, -1, -1)]:
        checkpointer = _Scripted(database, [first], [])
        assert checkpointer.run_once() == first and checkpointer.passes == [False]
    database.dispose()


def test_wal_checkpointer_copies_the_last_frames_under_the_gate_when_outpaced(tmp_path: Path) -> None:
    """When the writers commit during every catch-up pass and the log nears the writers' own
    checkpoint, the last few commits are copied with no writer running (a small copy) rather than
    left to the writer that crosses SQLITE_WAL_AUTOCHECKPOINT_PAGES (everything since the last pass)."""
    from cloudcip.storage.database import CATCH_UP_PASSES

    database = open_database(f"sqlite:///{tmp_path}/wal.db")
    growing = [(0, 6000 + 60 * n, 6000 + 60 * n) for n in range(CATCH_UP_PASSES + 1)]
    checkpointer = _Scripted(database, [*growing, (0, 9999, 9999)], list(range(CATCH_UP_PASSES)))
    checkpointer.run_once()
    assert checkpointer.passes == [False] * (CATCH_UP_PASSES + 1) + [True]
    below = [(0, 2000 + 60 * n, 2000 + 60 * n) for n in range(CATCH_UP_PASSES + 1)]
    checkpointer = _Scripted(database, below, list(range(CATCH_UP_PASSES)))
    checkpointer.run_once()  # far from the writers' bound: left to the next tick
    assert checkpointer.passes == [False] * (CATCH_UP_PASSES + 1)
    database.dispose()
