"""B2: rotation re-wraps every data key; purge shreds; ciphertexts are bound to their row."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text, update

from cloudcip.crypto.envelope import SealError
from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.records.customer_store import CustomerPurged
from cloudcip.records.roles import AccessRefused, Actor
from cloudcip.records.rotation import ROTATION_LOCK_CLASS, RotationReport, rotate_keys
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings
from cloudcip.storage.database import open_database
from cloudcip.storage.schema import contact, customer

SIGNUP = Actor("test:signup", "signup-service")
OFFICER = Actor("test:officer", "compliance-officer")
ADMIN = Actor("test:admin", "admin")


def _store(services: Services, count: int = 40) -> list[str]:
    return services.customers.create(list(SyntheticCustomers(seed=11).records(count)), SIGNUP)


def test_rotate_twice_every_record_opens_and_first_kek_is_gone(services: Services) -> None:
    ids = _store(services)
    before = {cid: services.customers.read(cid, OFFICER, purpose="audit", unmask=True) for cid in ids}
    first_kek = services.keyring.active_kek_id
    first = rotate_keys(services.database, services.keyring, services.ledger, ADMIN)
    second = rotate_keys(services.database, services.keyring, services.ledger, ADMIN)
    assert first.rewrapped == len(ids) and second.rewrapped == len(ids)
    assert first_kek in first.retired
    document = json.loads(services.settings.keyring_path.read_text())
    assert list(document["keks"]) == [second.new_kek_id]  # the first KEK is no longer needed
    fresh = LocalKeyring(services.settings.keyring_path)  # a process that never saw the old keys
    services.customers.keyring = fresh
    for cid in ids:
        after = services.customers.read(cid, OFFICER, purpose="audit", unmask=True)
        assert after["email"] == before[cid]["email"]
        assert after.get("birth_date") == before[cid].get("birth_date")
    assert services.ledger.verify().ok


def test_running_service_picks_up_a_rotation_made_elsewhere(services: Services) -> None:
    ids = _store(services, 5)
    other_process = LocalKeyring(services.settings.keyring_path)
    rotate_keys(services.database, other_process, services.ledger, ADMIN)
    # the service's own keyring object has not been told; it reloads on the unknown KEK id
    assert services.customers.read(ids[0], OFFICER, purpose="audit", unmask=True)["email"]
    assert services.customers.create(list(SyntheticCustomers(seed=5).records(1)), SIGNUP)


def test_purge_shreds_the_record_and_the_ledger_still_verifies(services: Services) -> None:
    ids = _store(services, 3)
    services.customers.purge_guard = None  # the shredding itself; the retention guard: tests/records
    services.customers.purge(ids[0], ADMIN, purpose="retention period ended")
    with pytest.raises(CustomerPurged):
        services.customers.read(ids[0], OFFICER, purpose="audit", unmask=True)
    with services.database.engine.connect() as conn:
        row = conn.execute(select(customer).where(customer.c.id == ids[0])).one()
    assert row.wrapped_data_key is None and row.status == "purged"
    assert services.customers.read(ids[1], OFFICER, purpose="audit", unmask=True)["email"]
    entries = services.ledger.entries_for_record("customer", ids[0])
    assert [e["action"] for e in entries][-1] == "purge"
    report = services.ledger.verify()
    assert report.ok, report.problem


def test_purge_needs_admin_and_purpose(services: Services) -> None:
    ids = _store(services, 1)
    with pytest.raises(AccessRefused):
        services.customers.purge(ids[0], OFFICER, purpose="x")
    with pytest.raises(AccessRefused):
        services.customers.purge(ids[0], ADMIN, purpose="")


def test_ciphertext_copied_to_another_row_fails_to_open(services: Services) -> None:
    ids = _store(services, 2)
    with services.database.engine.begin() as conn:
        donor = conn.execute(select(contact.c.value_sealed).where(contact.c.customer_id == ids[0],
                                                                  contact.c.kind == "email")).scalar_one()
        conn.execute(update(contact).where(contact.c.customer_id == ids[0], contact.c.kind == "phone")
                     .values(value_sealed=donor))
        sealed_birth = conn.execute(select(customer.c.birth_date_sealed).where(customer.c.id == ids[0])).scalar_one()
        conn.execute(update(customer).where(customer.c.id == ids[1]).values(birth_date_sealed=sealed_birth))
    with pytest.raises(SealError):
        services.customers.read(ids[0], OFFICER, purpose="audit", unmask=True)  # other column, same row
    with pytest.raises(SealError):
        services.customers.read(ids[1], OFFICER, purpose="audit", unmask=True)  # same column, other row


def test_blind_index_finds_exact_values_only(services: Services) -> None:
    records = list(SyntheticCustomers(seed=21).records(5))
    ids = services.customers.create(records, SIGNUP)
    analyst = Actor("test:analyst", "analyst")
    assert services.customers.find("email", records[2].email.upper(), analyst, purpose="dedupe") == [ids[2]]
    assert services.customers.find("phone", records[3].phone, analyst) == [ids[3]]
    assert services.customers.find("email", "nobody@example.org", analyst) == []
    with pytest.raises(AccessRefused):
        services.customers.find("email", records[2].email, SIGNUP)


def _waiting_for_the_rotation_lock(conn: Connection) -> bool:
    """Whether a backend waits for this schema's rotation lock (a two-key advisory lock, ``objsubid`` 2)."""
    schema_key = int(conn.execute(text("SELECT hashtext(current_schema())")).scalar_one()) & 0xFFFFFFFF
    return bool(conn.execute(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :lock_class "
        "AND objid = :schema_key AND objsubid = 2 AND NOT granted"),
        {"lock_class": ROTATION_LOCK_CLASS, "schema_key": schema_key}).scalar_one())


@pytest.mark.postgres
@pytest.mark.requirement("B2")
def test_a_second_node_rotates_only_after_the_first_has_finished(tmp_path: Path, postgres_schema_url: str) -> None:
    """Two nodes never rotate at once: while another node's rotation holds the advisory lock, a rotation
    waits (no new KEK, no row re-wrapped), then runs when it lets go."""
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_schema_url)
    initialise(settings)
    services = open_services(settings)
    other_node = open_database(postgres_schema_url)
    try:
        ids = _store(services, 6)
        keks_before = set(json.loads(services.settings.keyring_path.read_text())["keks"])
        holder = other_node.engine.connect()
        rotating = holder.begin()  # the other node's rotation: its transaction holds the lock
        holder.execute(text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(current_schema()))"),
                       {"lock_class": ROTATION_LOCK_CLASS})
        done: list[RotationReport] = []
        worker = threading.Thread(target=lambda: done.append(
            rotate_keys(services.database, services.keyring, services.ledger, ADMIN, batch=2)))
        worker.start()
        deadline = time.monotonic() + 30
        with other_node.engine.connect() as watcher:
            while not _waiting_for_the_rotation_lock(watcher):
                assert worker.is_alive(), "the rotation ran while another node's rotation held the lock"
                assert time.monotonic() < deadline, "the rotation never asked for the lock"
                threading.Event().wait(0.02)  # a poll interval, not a wait for an outcome
            watcher.rollback()
        assert not done and worker.is_alive()
        assert set(json.loads(services.settings.keyring_path.read_text())["keks"]) == keks_before
        with services.database.engine.connect() as conn:
            assert set(conn.execute(select(customer.c.kek_id).distinct()).scalars()) <= keks_before
        rotating.commit()  # the other node has finished
        holder.close()
        worker.join(60)
        assert not worker.is_alive() and len(done) == 1 and done[0].rewrapped == len(ids)
        assert services.customers.read(ids[0], OFFICER, purpose="audit", unmask=True)["email"]
        assert services.ledger.verify().ok
    finally:
        other_node.dispose()
        services.close()
