"""B1, B2: one purge for the administrator and the retention run; after it no file of the data holds
the old wrapped data key (SQLite: secure_delete and a truncating checkpoint), or the key that wrapped
it is gone from the keyring (PostgreSQL: a new purge epoch); everything derived from the record goes
with it (hits, determinations, evidence details, contacts, one-time codes, notices, links, scores)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.cli.main import app as cli
from cloudcip.crypto.envelope import WrappedDataKey, unwrap_data_key
from cloudcip.crypto.keyring import KeyringError
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.linkage.schema import link_identifier
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.schema import screening_hit
from cloudcip.screening.snapshots import import_publication
from cloudcip.storage.schema import contact, customer, evidence, identity_document, payment_means
from cloudcip.verification.schema import application, otp_challenge, person_determination

from .conftest import OpenAccount, auth

OFFICER = Actor("test:officer", "compliance-officer")
ADMIN_PURPOSE = {"X-Access-Purpose": "deletion ordered by a court"}


def wrapped_key(services: Services, customer_id: str) -> WrappedDataKey:
    with services.database.engine.connect() as conn:
        row = conn.execute(select(customer.c.kek_id, customer.c.wrapped_data_key)
                           .where(customer.c.id == customer_id)).one()
    return WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))


def files_holding(root: Path, needle: bytes) -> list[str]:
    """The files under ``root`` (the test's data directory and database files) whose raw bytes hold
    ``needle``."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")
                  if path.is_file() and needle in path.read_bytes())


def assert_shredded(services: Services, customer_id: str, old: WrappedDataKey, root: Path) -> None:
    if services.database.is_sqlite:
        assert files_holding(root, old.wrapped) == []
    else:  # the old row version may linger until VACUUM: the key that wrapped it is gone
        assert old.kek_id not in services.keyring.kek_ids
        with pytest.raises(KeyringError):
            unwrap_data_key(services.keyring, customer_id, old)


def court_order(client: TestClient, keys: dict[str, str], customer_id: str) -> str:
    response = client.post("/v1/legal/processes", json={
        "kind": "court_order", "authority": "U.S. District Court", "reference": "1:26-cv-77",
        "customers": [customer_id]}, headers=auth(keys["legal"]))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.requirement("B2")
def test_an_admin_purge_leaves_the_wrapped_key_in_no_file(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services,
        tmp_path: Path) -> None:
    target, survivor = open_account(), open_account()
    old = wrapped_key(services, target["customer_id"])
    assert files_holding(tmp_path, old.wrapped) or not services.database.is_sqlite  # the needle is findable
    order = court_order(client, keys, target["customer_id"])
    purged = client.delete(f"/v1/customers/{target['customer_id']}",
                           headers=auth(keys["admin"], X_Legal_Basis=order, **ADMIN_PURPOSE))
    assert purged.status_code == 204, purged.text
    assert_shredded(services, target["customer_id"], old, tmp_path)
    officer = auth(keys["compliance-officer"], X_Access_Purpose="audit")
    assert client.get(f"/v1/customers/{target['customer_id']}", headers=officer).status_code == 410
    assert client.get(f"/v1/customers/{survivor['customer_id']}?unmask=true", headers=officer).status_code == 200
    report = services.ledger.verify()
    assert report.ok, report.problem


@pytest.mark.requirement("B1", "B2")
def test_the_retention_run_purges_through_the_same_shredding(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services,
        tmp_path: Path) -> None:
    target = open_account()
    old = wrapped_key(services, target["customer_id"])
    assert client.post(f"/v1/accounts/{target['account_id']}/close", json={},
                       headers=auth(keys["signup-service"])).status_code == 200
    as_of = clock.iso(clock.now() + timedelta(days=3 * 366))
    run = client.post("/v1/retention/run", json={"as_of": as_of}, headers=auth(keys["admin"]))
    assert run.status_code == 200, run.text
    assert run.json()["customers_purged"] == 1
    assert_shredded(services, target["customer_id"], old, tmp_path)


def _count(services: Services, table: Any, *where: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _listed(services: Services) -> None:
    parties = [DesignatedParty(source="test", source_id="77", schema="Person", names=[ListedName("Anna Schmidt")],
                               birth_dates=["1984"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [], hashlib.sha256(b"y").hexdigest()),
                       OFFICER)


@pytest.mark.requirement("B1", "B2")
def test_a_purge_takes_what_was_derived_from_the_record(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    _listed(services)
    listed = open_account()  # its name is listed: refused, with a hit
    owing = open_account(name={"given": "Bertha", "family": "Kowalczyk"})  # owes a one-time code
    survivor = open_account()
    analyst = auth(keys["analyst"], X_Access_Purpose="screening review")
    assert client.get(f"/v1/hits?application_id={listed['id']}", headers=analyst).json()["hits"]
    issued = client.post(f"/v1/applications/{owing['id']}/otp/email", json={}, headers=auth(keys["signup-service"]))
    assert issued.status_code == 202, issued.text
    backfill = CliRunner().invoke(cli, ["--data-dir", str(services.settings.data_dir), "links", "backfill"],
                                  env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})
    assert backfill.exit_code == 0, backfill.output
    targets = (listed, owing)
    before = _counts(services, targets)
    assert all(count for name, count in before.items() if name != "evidence_details"), before

    for target in targets:
        order = court_order(client, keys, target["customer_id"])
        assert client.delete(f"/v1/customers/{target['customer_id']}",
                             headers=auth(keys["admin"], X_Legal_Basis=order, **ADMIN_PURPOSE)).status_code == 204

    assert client.get(f"/v1/hits?application_id={listed['id']}", headers=analyst).json()["hits"] == []
    assert client.get(f"/v1/hits?application_id={survivor['id']}", headers=analyst).json()["hits"]
    after = _counts(services, targets)
    assert after == dict.fromkeys(after, 0)
    with services.database.engine.connect() as conn:
        for target in targets:
            row = conn.execute(select(customer).where(customer.c.id == target["customer_id"])).one()
            assert (row.name_sealed, row.birth_date_sealed, row.address_sealed, row.wrapped_data_key) == (None,) * 4
            assert conn.execute(select(application.c.signup_ip_sealed)
                                .where(application.c.id == target["id"])).scalar_one() is None
            assert services.ledger.entries_for_record("customer", target["customer_id"])[-1]["action"] == "purge"


def _counts(services: Services, targets: tuple[dict[str, Any], ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for target in targets:
        for name, (table, where) in _derived(target["customer_id"], target["id"]).items():
            counts[name] = counts.get(name, 0) + _count(services, table, *where)
    return counts


def _derived(customer_id: str, application_id: str) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    return {
        "hits": (screening_hit, (screening_hit.c.subject_id == customer_id,)),
        "contacts": (contact, (contact.c.customer_id == customer_id,)),
        "documents": (identity_document, (identity_document.c.customer_id == customer_id,)),
        "payment_means": (payment_means, (payment_means.c.customer_id == customer_id,)),
        "evidence_details": (evidence, (evidence.c.customer_id == customer_id, evidence.c.detail_sealed.is_not(None))),
        "determinations": (person_determination, (person_determination.c.application_id == application_id,)),
        "codes": (otp_challenge, (otp_challenge.c.application_id == application_id,)),
        "notices": (webhook_outbox, (webhook_outbox.c.payload_json.contains(application_id),)),
        "links": (link_identifier, (link_identifier.c.customer_id == customer_id,)),
    }
