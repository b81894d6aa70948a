"""B2: rotation re-wraps every data key; purge shreds; ciphertexts are bound to their row."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from cloudcip.crypto.envelope import SealError
from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.records.customer_store import CustomerPurged
from cloudcip.records.roles import AccessRefused, Actor
from cloudcip.records.rotation import rotate_keys
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services
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
