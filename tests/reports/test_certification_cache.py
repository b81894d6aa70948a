"""H1: the certification's counts over every customer (customers and foreign beneficial owners by
country, unverified foreign accounts) are kept between renderings while nothing they count changes, and
are counted again after any change to the records, whatever path makes it (the API, or SQL written
straight to the tables: migration 0077's triggers see both). Each rendering is compared with one
computed without the kept counts."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.reports.test_certification_and_roster import RECORD_ONLY, auth, book, client, keys

from cloudcip.records.roles import Actor
from cloudcip.reports.certification import COUNTED, FIGURES, CertificationService
from cloudcip.runtime import Services
from cloudcip.storage.schema import account, beneficial_owner, customer
from cloudcip.verification.policy_store import policy_in_force
from cloudcip.verification.schema import application, person_determination

__all__ = ["book", "client", "keys"]  # the fixtures, shared with the certification's tests
OFFICER = Actor("test:officer", "compliance-officer")


def _counts(items: dict[str, Any]) -> dict[str, Any]:
    return {key: {k: v for k, v in items[key].items() if k != "query"} for key in COUNTED}


@pytest.mark.requirement("H1")
def test_the_kept_counts_follow_every_change_to_the_records(
        services: Services, book: list[tuple[dict[str, Any], dict[str, Any]]], client: TestClient,
        keys: dict[str, str]) -> None:
    officer = auth(keys["compliance-officer"])
    policy = policy_in_force(services.database, services.settings.policy_path).policy
    uncached = CertificationService(services.database, services.ledger, services.customers, policy, cache=None)

    def rendered() -> dict[str, Any]:
        answer = client.get("/v1/certification", headers=officer)
        assert answer.status_code == 200, answer.text
        return _counts(answer.json()["items"])

    first = rendered()
    assert first == _counts(uncached.render(OFFICER)["items"])
    # a read between two renderings (itself on the ledger) changes nothing counted: the counts are kept
    computed, hits = FIGURES.computed, FIGURES.hits
    customer_id = book[0][1]["customer_id"]
    assert client.get(f"/v1/customers/{customer_id}", headers={**auth(keys["analyst"]),
                                                               "X-Access-Purpose": "review"}).status_code == 200
    assert rendered() == first
    assert (FIGURES.computed, FIGURES.hits) == (computed, hits + 1)

    us_case = book[2][1]["id"]

    def write(statement: Any) -> Callable[[], None]:
        def run() -> None:
            with services.database.engine.begin() as conn:
                assert conn.execute(statement).rowcount >= 1
        return run

    def new_customer() -> None:
        body = copy.deepcopy(RECORD_ONLY)
        body.update(email="fr@example.fr", address={**body["address"], "country": "FR", "postal_code": "75001"})
        assert client.post("/v1/customers", json=body, headers=auth(keys["signup-service"])).status_code == 201

    changes: list[tuple[str, Callable[[], None]]] = [
        ("a customer added through the API", new_customer),
        ("a case approved in SQL", write(update(application).where(application.c.id == book[0][1]["id"])
                                         .values(state="approved"))),
        ("an owner's country changed in SQL", write(update(beneficial_owner).where(
            beneficial_owner.c.customer_id == book[3][1]["customer_id"], beneficial_owner.c.position == 0)
            .values(residence_country="KZ"))),
        ("a customer's determination changed in SQL", write(update(person_determination).where(
            person_determination.c.application_id == us_case, person_determination.c.subject == "customer")
            .values(status="foreign_person"))),
        ("an account closed in SQL", write(update(account).where(account.c.id == book[3][1]["account_id"])
                                           .values(state="closed"))),
        ("a customer purged in SQL", write(update(customer).where(customer.c.id == book[1][1]["customer_id"])
                                           .values(status="purged"))),
    ]
    before = first
    for what, change in changes:
        change()
        now = rendered()
        assert now != before, f"{what}: the change moves a count"
        assert now == _counts(uncached.render(OFFICER)["items"]), what
        before = now
