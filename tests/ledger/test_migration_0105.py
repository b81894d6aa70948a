"""B3: migration 0105 (the ledger's keys INTEGER on SQLite, so each is the table's rowid) keeps every
entry and signed tree head as written: the ledger written before it verifies after it, and grows on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table, select
from tests.migrations import redo, undo

from cloudcip.ledger.schema import ledger_entry, ledger_tree_head
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services
from cloudcip.storage.database import Database


def _fill(services: Services, start: int) -> None:
    services.customers.create(list(SyntheticCustomers(seed=start).records(3)), Actor("test:signup", "signup-service"))
    for number in range(start, start + 4):
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction("test:analyst", "analyst", "read", "customer", f"c-{number}", purpose="review"))


def _rows(database: Database, table: Table) -> list[Any]:
    with database.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]


def _autoindexes(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return {name for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'ledger%'")}


@pytest.mark.requirement("B3")
def test_the_ledger_written_before_0105_verifies_after_it(services: Services) -> None:
    database = services.database
    undo(database, "0105")
    if database.is_sqlite:
        assert {"sqlite_autoindex_ledger_entry_1", "sqlite_autoindex_ledger_tree_head_1"} <= _autoindexes(database)
    _fill(services, 1)
    entries, heads = _rows(database, ledger_entry), _rows(database, ledger_tree_head)
    assert len(entries) == 7 and len(heads) == 5

    redo(database)
    assert _rows(database, ledger_entry) == entries and _rows(database, ledger_tree_head) == heads
    if database.is_sqlite:  # each key is the rowid: no index of its own beside the table
        assert not {name for name in _autoindexes(database) if name.startswith("sqlite_autoindex")}
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM ledger_entry WHERE rowid != idx").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM ledger_tree_head WHERE rowid != tree_size").scalar() == 0
    report = services.ledger.verify()
    assert report.ok and report.tree_size == 7 and report.heads_checked == 5
    _fill(services, 20)
    report = services.ledger.verify()
    assert report.ok and report.tree_size == 14 and report.heads_checked == 10
