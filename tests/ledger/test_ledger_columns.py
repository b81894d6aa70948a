"""B3: every stored column of a ledger entry is checked by ``cloudcip ledger verify`` against the
hashed entry, and reading a record's entries trusts only what is hashed.

Editing ``purpose``, ``role``, ``legal_basis`` or ``at`` alone (leaving the hashed ``leaf_input``
as it was) used to go unnoticed; every column now has a row in ``EDITS`` and the test fails for a
column the table forgets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.ledger.schema import ledger_entry
from cloudcip.ledger.store import CHECKED_COLUMNS, LedgerAction
from cloudcip.runtime import Services

# column -> how a tamperer rewrites it (the hashed leaf_input and leaf_hash stay as they were)
EDITS: dict[str, Any] = {
    "at": lambda value: value + timedelta(days=1),
    "actor": lambda _value: "apikey:someoneelse",
    "role": lambda _value: "auditor",
    "action": lambda _value: "read",
    "record_type": lambda _value: "application",
    "record_id": lambda _value: "c-other",
    "purpose": lambda _value: "innocent",
    "legal_basis": lambda _value: "subpoena 1",
}
# columns whose tampering the position, leaf-hash and chain checks catch (tests/ledger/test_ledger_store.py)
STRUCTURAL = {"idx", "leaf_input", "leaf_hash"}


def _fill(services: Services) -> None:
    for number in range(6):
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction("apikey:k1", "legal", "read_unmasked", "customer", f"c-{number}",
                                  purpose="court order 17", legal_basis="subpoena 2026-04"))


def _verify_cli(services: Services) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(services.settings.data_dir), "ledger", "verify"],
                                env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})
    return result.exit_code, result.stdout


def test_every_column_of_the_table_is_checked() -> None:
    columns = {column.name for column in ledger_entry.columns}
    missing = columns - set(EDITS) - STRUCTURAL
    assert not missing, f"ledger_entry columns with no tampering case in EDITS: {sorted(missing)}"
    assert columns == set(CHECKED_COLUMNS), "ledger.store.CHECKED_COLUMNS must name every stored column"


@pytest.mark.requirement("B3")
@pytest.mark.parametrize("column", sorted(EDITS))
def test_editing_one_column_alone_is_caught_by_ledger_verify(services: Services, column: str) -> None:
    _fill(services)
    assert _verify_cli(services)[0] == 0
    with services.database.engine.begin() as conn:
        value = conn.execute(select(ledger_entry.c[column]).where(ledger_entry.c.idx == 3)).scalar_one()
        conn.execute(update(ledger_entry).where(ledger_entry.c.idx == 3)
                     .values({column: EDITS[column](value)}))
    code, out = _verify_cli(services)
    assert code == 1 and "first_bad_index=3" in out, (column, out)


@pytest.mark.requirement("B3")
def test_entries_for_a_record_are_read_from_the_hashed_entry(services: Services) -> None:
    _fill(services)
    # a tamperer re-labels another record's entry with this record's type: it is not this record's
    with services.database.engine.begin() as conn:
        conn.execute(update(ledger_entry).where(ledger_entry.c.idx == 2).values(record_type="account"))
    assert services.ledger.entries_for_record("account", "c-2") == []
    assert [e["index"] for e in services.ledger.entries_for_record("customer", "c-2")] == [2]
