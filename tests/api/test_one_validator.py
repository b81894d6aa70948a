"""A3, A4: ``POST /v1/customers`` and ``POST /v1/applications`` check a record with one validator.

Each row below is a field a reviewer can read: the change made to a valid record and the field the
422 must name. Both endpoints answer it the same way, never echo the value, and store nothing. (The
customer endpoint used to store a country ``XX``, a birth date in 2030 and a card failing Luhn that
the application endpoint refused.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests import applicants
from tests.applicants import applicant

from cloudcip.runtime import Services
from cloudcip.storage.schema import customer

INDIVIDUAL: dict[str, Any] = applicant(applicants.CUSTOMER)
ENTITY: dict[str, Any] = {
    "kind": "entity",
    "legal_name": "Blue Harbor Compute LLC",
    "registration": {"country": "US", "number": "46-1234567", "kind": "ein"},
    "address": {"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US"},
    "email": "ops@blueharbor.example",
    "phone": "+13025550123",
    "beneficial_owners": [{"name": {"given": "Lars", "family": "Berg"}, "birth_date": "1970-01-02",
                           "nationality": "SE", "ownership_percent": 60}],
    "payment_means": [{"type": "bank_account", "iban": "DE89370400440532013000", "bic": "DEUTDEFF"}],
}
APPLICATION_EXTRA = applicants.APPLYING

Change = Callable[[dict[str, Any]], object]


def _card(number: str = "4111111111111111", expiry: str = "2029-04") -> Change:
    return lambda body: body.update(payment_means=[{"type": "card", "number": number, "expiry": expiry}])


def _means(**means: str) -> Change:
    return lambda body: body.update(payment_means=[means])


#: record, change, the field the 422 names, a value that must not come back in the answer; each row
#: marked with the control of the written CIP it exercises.
BTC_BAD = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"
IBAN_BAD = "DE89370400440532013001"


def _set(**values: Any) -> Change:
    return lambda body: body.update(copy.deepcopy(values))


def _owner(**values: Any) -> Change:
    return lambda body: body["beneficial_owners"][0].update(values)


BAD_FIELDS = [
    pytest.param(INDIVIDUAL, lambda b: b["address"].update(country="XX"), "address.country", "Invalidenstr",
                 id="address-country-XX", marks=pytest.mark.control("field.address")),
    pytest.param(INDIVIDUAL, _set(nationality="XX"), "nationality", "Schmidt",
                 id="nationality-XX", marks=pytest.mark.control("field.address")),
    pytest.param(INDIVIDUAL, _set(birth_date="2030-01-01"), "birth_date", "2030-01-01",
                 id="born-in-2030", marks=pytest.mark.control("field.birth_date")),
    pytest.param(INDIVIDUAL, _set(birth_date="2015-01-01"), "birth_date", "2015-01-01",
                 id="a-minor", marks=pytest.mark.control("field.birth_date")),
    pytest.param(INDIVIDUAL, _card("4111111111111112"), "payment_means.0.number", "4111111111111112",
                 id="card-failing-luhn", marks=pytest.mark.control("field.card")),
    pytest.param(INDIVIDUAL, _card(expiry="2020-01"), "payment_means.0.expiry", "4111111111111111",
                 id="card-expired", marks=pytest.mark.control("field.card")),
    pytest.param(INDIVIDUAL, _set(national_id={"country": "DE", "number": "12345678901"}), "national_id.number",
                 "12345678901", id="german-idnr-check-digit", marks=pytest.mark.control("field.national_id")),
    pytest.param(INDIVIDUAL, _set(national_id={"country": "XX", "number": "T22000129", "kind": "id_card"}),
                 "national_id.country", "T22000129", id="id-card-country-XX",
                 marks=pytest.mark.control("field.national_id")),
    pytest.param(INDIVIDUAL, _set(national_id={"country": "DE", "number": "C01X00T47", "kind": "passport",
                                               "expires_on": "2020-01-01"}),
                 "national_id.expires_on", "C01X00T47", id="passport-expired",
                 marks=pytest.mark.control("field.document_expiry")),
    pytest.param(INDIVIDUAL, _set(phone="+49123"), "phone", "+49123",
                 id="phone-too-short", marks=pytest.mark.control("field.phone")),
    pytest.param(INDIVIDUAL, _set(email="anna@example..de"), "email", "anna@example..de",
                 id="email-bad-domain", marks=pytest.mark.control("field.email")),
    pytest.param(ENTITY, _means(type="bank_account", iban=IBAN_BAD), "payment_means.0.iban", IBAN_BAD,
                 id="iban-checksum", marks=pytest.mark.control("field.iban_bic")),
    pytest.param(ENTITY, _means(type="bank_account", iban="DE89370400440532013000", bic="ZZZZZZZZ"),
                 "payment_means.0.bic", "DE89370400440532013000", id="bic-unknown-country",
                 marks=pytest.mark.control("field.iban_bic")),
    pytest.param(INDIVIDUAL, _means(type="crypto_wallet", currency="BTC", address=BTC_BAD), "payment_means.0.address",
                 BTC_BAD, id="wallet-checksum", marks=pytest.mark.control("field.wallet")),
    pytest.param(INDIVIDUAL, _means(type="bank_account", number="12345678", country="XX"), "payment_means.0.country",
                 "12345678", id="bank-country-XX", marks=pytest.mark.control("field.address")),
    pytest.param(ENTITY, _set(registration={"country": "US", "number": "00-1234567", "kind": "ein"}),
                 "registration.number", "00-1234567", id="ein-prefix", marks=pytest.mark.control("field.registration")),
    pytest.param(ENTITY, _owner(ownership_percent=10), "beneficial_owners.0.ownership_percent", "Berg",
                 id="owner-below-25-percent", marks=pytest.mark.control("field.beneficial_owner")),
    pytest.param(ENTITY, _owner(nationality="XX"), "beneficial_owners.0.nationality", "Berg",
                 id="owner-nationality-XX", marks=pytest.mark.control("field.address")),
]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _customers(services: Services) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(customer)).scalar_one())


@pytest.mark.parametrize("endpoint", ["/v1/customers", "/v1/applications"])
@pytest.mark.parametrize(("record", "change", "field", "secret"), BAD_FIELDS)
@pytest.mark.requirement("A3", "A4")
def test_both_endpoints_refuse_the_same_bad_field(client: TestClient, keys: dict[str, str], services: Services,
                                                  endpoint: str, record: dict[str, Any], change: Change, field: str,
                                                  secret: str) -> None:
    body = copy.deepcopy(record)
    change(body)
    if endpoint == "/v1/applications":
        body.update(copy.deepcopy(APPLICATION_EXTRA))
    response = client.post(endpoint, json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 422, response.text
    assert field in {problem["field"] for problem in response.json()["fields"]}, response.json()
    assert secret not in response.text
    assert _customers(services) == 0


@pytest.mark.parametrize("record", [INDIVIDUAL, ENTITY], ids=["individual", "entity"])
@pytest.mark.requirement("A3")
def test_both_endpoints_take_the_same_good_record(client: TestClient, keys: dict[str, str], record: dict[str, Any]
                                                  ) -> None:
    """The README's own record (a German identity card number, not a tax IdNr) is taken by both."""
    created = client.post("/v1/customers", json=record, headers=auth(keys["signup-service"]))
    assert created.status_code == 201, created.text
    applied = client.post("/v1/applications", json={**record, **APPLICATION_EXTRA},
                          headers=auth(keys["signup-service"]))
    assert applied.status_code == 201, applied.text
    assert json.loads(applied.text)["decision"] in ("pending_evidence", "in_review", "approved")
