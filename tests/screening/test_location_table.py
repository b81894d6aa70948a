"""The location decision (D2) and whom a special measure reaches (D1), case by case through the API.

Every case of ``location_cases.yaml`` (residents, nationals abroad, travellers, VPN users, dual
nationals, entities incorporated in one country and operated from another, U.S. persons) is posted to
``POST /v1/applications`` with three measures in force; the answer must place the customer where the
case says and give each measure the outcome the case expects, for the customer and for each
beneficial owner; a prohibition that applies refuses, nothing else does. Every row of the rule in
``docs/location.md`` is exercised by some case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from cloudcip import clock
from cloudcip.access.ipintel import import_dataset
from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import initialise, open_services
from cloudcip.screening.location import LocationEvidence, decide_location
from cloudcip.settings import Settings

HERE = Path(__file__).resolve().parent
TABLE = yaml.safe_load((HERE / "location_cases.yaml").read_text(encoding="utf-8"))
DOC = (HERE.parents[1] / "docs" / "location.md").read_text(encoding="utf-8")
CASES: list[dict[str, Any]] = TABLE["cases"]
PHONES = {"DE": "+4915123456789", "IR": "+989121234567", "UA": "+380441234567", "US": "+12025550123",
          "TR": "+905321234567", "CN": "+8613800138000", "AE": "+971501234567", "FR": "+33612345678",
          "RU": "+79161234567"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    """One service for the table (the decisions read no state between cases): hosting ranges imported,
    the three measures in force, a key per role; (client, keys, measure id by name)."""
    directory = tmp_path_factory.mktemp("location")
    settings = Settings(data_dir=directory / "data", database_url=f"sqlite:///{directory / 'cloudcip.db'}")
    initialise(settings)
    services = open_services(settings)
    ranges = directory / "hosting.txt"
    ranges.write_text("5.22.0.0/24,vpn\n185.220.101.0/24,vpn\n", encoding="utf-8")
    import_dataset(services.database, "hosting", ranges)
    with services.database.engine.begin() as conn:
        keys = {role: create_api_key(conn, role, "test", clock.now()) for role in ROLES}
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        ids: dict[str, str] = {}
        determined = (clock.today() - timedelta(days=400)).isoformat()
        for name, spec in TABLE["measures"].items():
            created = client.post("/v1/measures", json={"kind": "jurisdiction", "determination_date": determined,
                                                         **spec},
                                  headers={"Authorization": f"Bearer {keys['compliance-officer']}"})
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
        yield client, keys, ids
    services.close()


def _address(text: str) -> dict[str, Any]:
    country, _, subdivision = text.partition("/")
    address: dict[str, Any] = {"line1": "1 Main Street", "city": "Capital", "country": country}
    if subdivision:
        address["subdivision"] = subdivision
    return address


def _passport(country: str, number: int, position: int) -> dict[str, Any]:
    return {"country": country, "number": f"P{number:05d}{position}", "kind": "passport"}


def application(case: dict[str, Any], number: int) -> dict[str, Any]:
    """The application a case describes (see the header of ``location_cases.yaml``)."""
    person = case["person"]
    country = person["address"].split("/")[0]
    body: dict[str, Any] = {
        "address": _address(person["address"]), "email": f"case{number}@example.com",
        "phone": person.get("phone") or PHONES[country],
        "payment_means": [{"type": "card", "number": "4111111111111111", "expiry": "2031-04",
                           **({"country": person["card_country"]} if person.get("card_country") else {})}],
        "account": {"type": "standard", "channel": "self_serve"},
        "signup_ip": person.get("signup_ip", "192.0.2.10"), "notice_version": "notice-2024-01",
    }
    if person.get("iban"):
        body["payment_means"].append({"type": "bank_account", "iban": person["iban"]})
    if person.get("kind") == "entity":
        registration = person["registration"]
        body.update({
            "kind": "entity", "legal_name": f"Case {number} Holdings",
            "registration": {"country": registration, "number": "46-1234567", "kind": "ein"} if registration == "US"
            else {"country": registration, "number": "12345678"},
            "beneficial_owners": [{
                "name": {"given": "Owner", "family": f"Number{number}"}, "birth_date": "1970-02-03",
                "nationality": owner["nationality"], "ownership_percent": 60, "address": _address(owner["address"]),
                **({"national_id": _passport(owner["documents"][0], number, 9)} if owner.get("documents") else {}),
            } for owner in person["owners"]],
        })
        return body
    documents = [_passport(c, number, position) for position, c in enumerate(person.get("documents", []))]
    if person.get("us_residence_permit"):
        documents.append({"country": "US", "number": f"GC{number:06d}", "kind": "residence_permit"})
    body.update({"kind": "individual", "name": {"given": "Case", "family": f"Number{number}"},
                 "birth_date": "1980-05-05", "nationality": person.get("nationality")})
    if documents:
        body["national_id"] = documents[0]
        body["documents"] = documents[1:]
    evidence = person.get("us_evidence")
    if evidence == "passport":
        us = next(d for d in documents if d["country"] == "US")
        body["evidence"] = [{"method": "passport", "outcome": "verified",
                             "document": {"kind": "passport", "country": "US", "number": us["number"]}}]
    elif evidence == "permanent_resident_card":
        body["evidence"] = [{"method": "national_id_card", "outcome": "verified",
                             "document": {"kind": "permanent_resident_card", "country": "US",
                                          "number": f"GC{number:06d}"}}]
    return body


def outcomes(answer: dict[str, Any], ids: dict[str, str], subject: str) -> dict[str, str]:
    names = {measure_id: name for name, measure_id in ids.items()}
    return {names[m["id"]]: m["outcome"] for m in answer["screening"]["measures"]
            if m["subject"] == subject and m["id"] in names}


@pytest.mark.requirement("D1", "D2", "A2")
@pytest.mark.parametrize("number", range(len(CASES)), ids=[case["name"] for case in CASES])
def test_case(api: tuple[TestClient, dict[str, str], dict[str, str]], number: int) -> None:
    client, keys, ids = api
    case = CASES[number]
    response = client.post("/v1/applications", json=application(case, number),
                           headers={"Authorization": f"Bearer {keys['signup-service']}"})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["located_in"] == case["located_in"]
    assert outcomes(answer, ids, "customer") == case["expect"]
    for position, expected in (case.get("expect_owners") or {}).items():
        assert outcomes(answer, ids, f"beneficial_owner:{position}") == expected
    every = [m for m in answer["screening"]["measures"] if m["id"] in ids.values()]
    prohibited = any(m["outcome"] == "applies" and m["measure"] == "prohibit" for m in every)
    assert (answer["decision"] == "refused") is prohibited, answer["reasons"]
    if any(m["outcome"] in ("applies", "review") for m in every):
        assert answer["decision"] in ("refused", "in_review")
    for measure in every:  # each outcome names the evidence and the determination it rests on
        assert measure["jurisdiction"] and measure["determination"]
        reason = next(r for r in answer["reasons"] if f":{measure['id']}" in r)
        assert measure["jurisdiction"] in reason
    if any(m["outcome"] == "review" for m in every):
        assert "enhanced_monitoring" in answer["restrictions"]


HISTORY: list[dict[str, Any]] = TABLE["history"]


@pytest.mark.parametrize("case", HISTORY, ids=[case["name"] for case in HISTORY])
def test_access_history_counts_as_it_accumulates(case: dict[str, Any]) -> None:
    record = case["record"]
    decision = decide_location(LocationEvidence(
        address_country=record["address"], document_countries=record.get("documents", []),
        nationalities=[record["nationality"]] if record.get("nationality") else [], access_history=case["access"]))
    assert {code: decision.finding(code).verdict for code in case["verdicts"]} == case["verdicts"]  # type: ignore[union-attr]


def test_every_row_of_the_rule_is_exercised() -> None:
    rows = set(re.findall(r"^\| ([EVR]\d+) \|", DOC, flags=re.MULTILINE))
    assert len(rows) == 22
    covered = {row for case in [*CASES, *HISTORY] for row in case["rows"]}
    for row, test in TABLE["elsewhere"].items():  # rows a test of another capability exercises
        path, _, name = test.partition("::")
        assert f"def {name}(" in (HERE.parents[1] / path).read_text(encoding="utf-8"), test
        covered.add(row)
    assert rows - covered == set(), "rows of docs/location.md no case exercises"
    assert covered <= rows
    assert len(CASES) >= 30
    groups = {case["group"] for case in CASES}
    assert groups == {"resident", "national abroad", "traveller", "vpn", "dual national", "entity", "us person"}
