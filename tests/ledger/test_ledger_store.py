"""B3: every access is on the ledger; tampering of any kind is caught and named by index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from cloudcip.ledger.schema import ledger_entry, ledger_state, ledger_tree_head
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "offline_verifier.py"


def _fill(services: Services, singles: int = 12) -> None:
    """Entries in several commit batches: one batch of 5, then single commits."""
    signup = Actor("test:signup", "signup-service")
    services.customers.create(list(SyntheticCustomers(seed=1).records(5)), signup)
    for number in range(singles):
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction("test:analyst", "analyst", "read", "customer", f"c-{number}", purpose="review"))


def _verify(services: Services) -> tuple[bool, int | None]:
    report = services.ledger.verify()
    return report.ok, report.first_bad_index


def test_untouched_ledger_verifies(services: Services) -> None:
    _fill(services)
    report = services.ledger.verify()
    assert report.ok and report.tree_size == 17 and report.heads_checked == 13
    assert report.root_hash == services.ledger.latest_head().root_hash  # type: ignore[union-attr]


def test_every_read_create_and_purge_is_an_entry_with_its_purpose(services: Services) -> None:
    signup = Actor("test:signup", "signup-service")
    [cid] = services.customers.create(list(SyntheticCustomers(seed=2).records(1)), signup, purpose="signup")
    services.customers.read(cid, Actor("k1", "analyst"))
    services.customers.read(cid, Actor("k2", "compliance-officer"), purpose="case 17", unmask=True)
    services.customers.read(cid, Actor("k3", "admin"), break_glass="incident 4")
    services.customers.purge_guard = None  # the shredding itself; the retention guard: tests/records
    services.customers.purge(cid, Actor("k3", "admin"), purpose="retention ended")
    entries = services.ledger.entries_for_record("customer", cid)
    assert [(e["action"], e["role"], e["purpose"]) for e in entries] == [
        ("create", "signup-service", "signup"),
        ("read", "analyst", None),
        ("read_unmasked", "compliance-officer", "case 17"),
        ("break_glass_read", "admin", "incident 4"),
        ("purge", "admin", "retention ended"),
    ]
    # the ledger holds references, never the personal data itself
    record = next(SyntheticCustomers(seed=2).records(1))
    text = json.dumps(entries)
    assert record.email not in text and record.phone not in text


def _edit(services: Services, index: int) -> None:
    with services.database.engine.begin() as conn:
        leaf = conn.execute(select(ledger_entry.c.leaf_input).where(ledger_entry.c.idx == index)).scalar_one()
        entry = json.loads(leaf)
        entry["purpose"] = "innocent"
        conn.execute(update(ledger_entry).where(ledger_entry.c.idx == index).values(
            leaf_input=json.dumps(entry, sort_keys=True, separators=(",", ":")), purpose="innocent"))


def _edit_and_rehash(services: Services, index: int) -> None:
    from cloudcip.ledger.merkle import leaf_hash

    _edit(services, index)
    with services.database.engine.begin() as conn:
        leaf = conn.execute(select(ledger_entry.c.leaf_input).where(ledger_entry.c.idx == index)).scalar_one()
        conn.execute(update(ledger_entry).where(ledger_entry.c.idx == index).values(leaf_hash=leaf_hash(leaf.encode())))


def _delete(services: Services, index: int) -> None:
    with services.database.engine.begin() as conn:
        conn.execute(delete(ledger_entry).where(ledger_entry.c.idx == index))


def _reorder(services: Services, index: int) -> None:
    with services.database.engine.begin() as conn:
        a, b = (conn.execute(select(ledger_entry).where(ledger_entry.c.idx == i)).one()._asdict()
                for i in (index, index + 1))
        for target, source in ((index, b), (index + 1, a)):
            values = {k: v for k, v in source.items() if k != "idx"}
            conn.execute(update(ledger_entry).where(ledger_entry.c.idx == target).values(**values))


def _insert(services: Services, index: int) -> None:
    with services.database.engine.begin() as conn:
        rows = [r._asdict() for r in conn.execute(select(ledger_entry).where(ledger_entry.c.idx >= index)
                                                  .order_by(ledger_entry.c.idx.desc()))]
        for row in rows:  # shift the tail up by one, from the end
            conn.execute(update(ledger_entry).where(ledger_entry.c.idx == row["idx"]).values(idx=row["idx"] + 1))
        forged = dict(rows[-1], idx=index, actor="forger")
        conn.execute(ledger_entry.insert().values(**forged))


def _truncate(services: Services, keep: int) -> None:
    """Delete the newest entries together with their tree heads and fix the state: only the
    checkpoint outside the database can tell."""
    with services.database.engine.begin() as conn:
        conn.execute(delete(ledger_entry).where(ledger_entry.c.idx >= keep))
        conn.execute(delete(ledger_tree_head).where(ledger_tree_head.c.tree_size > keep))
        conn.execute(update(ledger_state).values(tree_size=keep))


@pytest.mark.parametrize(
    ("tamper", "index", "expected"),
    [
        (_edit, 7, 7),
        (_edit, 16, 16),  # the newest entry
        (_edit_and_rehash, 3, 3),  # hash column rewritten too: the chain names it
        (_delete, 9, 9),
        (_reorder, 10, 10),
        (_insert, 6, 6),
        (_truncate, 14, 14),
    ],
)
def test_tampering_is_caught_and_named(services: Services, tamper, index: int, expected: int) -> None:  # type: ignore[no-untyped-def]
    _fill(services)
    assert _verify(services) == (True, None)
    tamper(services, index)
    assert _verify(services) == (False, expected)


def test_rewritten_chain_still_meets_the_signed_heads(services: Services) -> None:
    """An attacker who recomputes hashes and the chain after an edit cannot re-sign the heads."""
    from cloudcip.ledger.merkle import leaf_hash

    _fill(services)
    _edit(services, 12)
    with services.database.engine.begin() as conn:
        previous = None
        for row in conn.execute(select(ledger_entry).order_by(ledger_entry.c.idx)).all():
            entry = json.loads(row.leaf_input)
            if previous is not None:
                entry["prev"] = previous.hex()
            text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
            previous = leaf_hash(text.encode())
            conn.execute(update(ledger_entry).where(ledger_entry.c.idx == row.idx).values(
                leaf_input=text, leaf_hash=previous))
    ok, first_bad = _verify(services)
    assert not ok and first_bad is not None and first_bad <= 12


def test_inclusion_proof_verifies_offline_and_fails_with_a_wrong_root(services: Services, tmp_path: Path) -> None:
    _fill(services)
    document = services.ledger.inclusion_proof(8)
    proof_file, key_file = tmp_path / "proof.json", tmp_path / "pub.pem"
    proof_file.write_text(json.dumps(document))
    key_file.write_text(services.ledger.public_key_pem())
    good = subprocess.run([sys.executable, "-I", str(VERIFIER), str(proof_file), str(key_file)],
                          capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    document["tree_head"]["root_hash"] = "00" * 32
    proof_file.write_text(json.dumps(document))
    bad = subprocess.run([sys.executable, "-I", str(VERIFIER), str(proof_file), str(key_file)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1


def _checkouts(services: Services) -> list[object]:
    """Every connection the services' pool hands out from now on."""
    from sqlalchemy import event

    taken: list[object] = []
    event.listen(services.database.engine, "checkout", lambda *args: taken.append(args[0]))
    return taken


@pytest.mark.requirement("B3")
def test_a_unit_of_work_on_the_callers_read_connection_takes_no_other(services: Services) -> None:
    """A signup's write transaction is begun on the connection its reads used (issue 11): its entries
    are committed and signed, and no second connection is taken from the pool for them."""
    size = services.ledger.size()
    with services.database.engine.connect() as conn:
        conn.execute(select(ledger_state.c.tree_size)).all()  # the reads before the write
        taken = _checkouts(services)
        with services.ledger.unit_of_work(conn) as work:
            work.log(LedgerAction("test:signup", "signup-service", "create", "application", "a-1"))
    assert taken == []
    assert services.ledger.size() == size + 1 and _verify(services) == (True, None)


@pytest.mark.requirement("B3")
def test_a_unit_of_work_refuses_a_connection_holding_writes(services: Services) -> None:
    """Ending the caller's transaction to begin the unit of work would lose what it wrote: refused, and
    the ledger is untouched (SQLite and PostgreSQL: each tells a transaction that wrote from one that
    only read)."""
    from cloudcip.errors import Internal

    size = services.ledger.size()
    with services.database.engine.connect() as conn:
        conn.execute(update(ledger_state).values(tree_size=ledger_state.c.tree_size))  # a write, uncommitted
        with pytest.raises(Internal, match="uncommitted writes"), services.ledger.unit_of_work(conn) as work:
            work.log(LedgerAction("test:signup", "signup-service", "create", "application", "a-2"))
        assert conn.in_transaction()  # the caller's transaction is left as it was, for the caller to end
        conn.rollback()
    assert services.ledger.size() == size and _verify(services) == (True, None)
