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
from cloudcip.storage.database import WriteGate, open_database

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
