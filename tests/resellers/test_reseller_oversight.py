"""E3, G4: oversight of a reseller through the API: a reproducible sample of its sub-lessees, each
item's result, findings; non-compliance starts the termination clock (30 calendar days by the
profile) that restricts the reseller's accounts on day 30 and not on day 29, unless remediated with a
reason and evidence; a finding of malicious activity makes an incident report. Clocks are injected."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.resellers.builders import auth, register, reseller_customer, share_entities

from cloudcip import clock
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.ledger.schema import ledger_entry
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

FOUND = date(2026, 12, 1)  # the day of the finding: day 0 of the clock


def setup_reseller(services: Services, client: TestClient, keys: dict[str, str],
                   sub_lessees: int = 0) -> tuple[str, str, list[str]]:
    customer_id, account_id = reseller_customer(services)
    shared = share_entities(client, keys, account_id, sub_lessees) if sub_lessees else []
    return register(client, keys, customer_id)["id"], account_id, shared


def post(client: TestClient, keys: dict[str, str], url: str, body: Any = None, status: int = 200) -> Any:
    response = client.post(url, json=body, headers=auth(keys, "compliance-officer"))
    assert response.status_code == status, (url, response.text)
    return response.json()


def non_compliant(client: TestClient, keys: dict[str, str], reseller_id: str, on: date = FOUND) -> dict[str, Any]:
    with clock.frozen(on):
        answer: dict[str, Any] = post(client, keys, f"/v1/resellers/{reseller_id}/findings",
                                      {"kind": "non_compliant", "reason": "no evidence kept for 3 of 5 sampled"}, 201)
    return answer


def run_job(client: TestClient, keys: dict[str, str], on: date) -> dict[str, Any]:
    answer: dict[str, Any] = post(client, keys, "/v1/reseller-clocks/run", {"as_of": on.isoformat()})
    return answer


def account_state(services: Services, account_id: str) -> str:
    with services.database.engine.connect() as conn:
        return str(conn.execute(select(account.c.state).where(account.c.id == account_id)).scalar_one())


def status_of(client: TestClient, keys: dict[str, str], reseller_id: str) -> str:
    return str(client.get(f"/v1/resellers/{reseller_id}", headers=auth(keys, "analyst")).json()["status"])


# -- the clock --------------------------------------------------------------------------------------
@pytest.mark.requirement("E3")
@pytest.mark.parametrize(("days_after_finding", "days_left", "restricted", "status"), [
    # the job runs on            days left  the reseller's account  the relationship
    (1, 29, False, "terminating"),
    (16, 14, False, "terminating"),
    (29, 1, False, "terminating"),
    (30, None, True, "terminated"),
    (45, None, True, "terminated"),  # a job that did not run for days still ends it
])
def test_a_non_compliant_reseller_is_restricted_on_day_30_and_not_on_day_29(
        services: Services, client: TestClient, keys: dict[str, str], days_after_finding: int,
        days_left: int | None, restricted: bool, status: str) -> None:
    reseller_id, account_id, _ = setup_reseller(services, client, keys)
    finding = non_compliant(client, keys, reseller_id)
    assert finding["termination"]["days"] == 30 and finding["termination"]["ends_on"] == "2026-12-31"
    day = FOUND + timedelta(days=days_after_finding)
    run_job(client, keys, day)
    running = client.get(f"/v1/reseller-clocks?as_of={day.isoformat()}", headers=auth(keys, "analyst")).json()
    assert [c["days_left"] for c in running if c["reseller_id"] == reseller_id] == \
        ([] if days_left is None else [days_left])
    assert (account_state(services, account_id) == "restricted") is restricted
    assert status_of(client, keys, reseller_id) == status


@pytest.mark.requirement("E3")
def test_the_job_reminds_at_14_7_3_and_1_days_left_then_terminates_and_notifies(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    reseller_id, account_id, _ = setup_reseller(services, client, keys)
    non_compliant(client, keys, reseller_id)
    reminded = []
    for day_number in range(1, 31):
        answer = run_job(client, keys, FOUND + timedelta(days=day_number))
        reminded += [(day_number, r["days_left"]) for r in answer["reminded"]]
        if day_number < 30:
            assert answer["terminated"] == [], day_number
    assert reminded == [(16, 14), (23, 7), (27, 3), (29, 1)]
    assert answer["terminated"][0]["restricted_accounts"] == [
        {"account_id": account_id, "from": "active", "to": "restricted",
         "restrictions": ["no_new_resources", "no_sub_lessees"]}]
    with services.database.engine.connect() as conn:
        events = [json.loads(row.payload_json) for row in conn.execute(select(webhook_outbox.c.payload_json))]
        actions = {row.action for row in conn.execute(select(ledger_entry.c.action)
                                                      .where(ledger_entry.c.record_id == reseller_id))}
    kinds = [e["type"] for e in events if e["type"].startswith("reseller.")]
    assert kinds.count("reseller.termination_reminder") == 4 and "reseller.terminated" in kinds
    # the webhooks name the days left as the API and the CLI do (``days_left``)
    assert [e["data"]["days_left"] for e in events if e["type"] == "reseller.termination_reminder"] == [14, 7, 3, 1]
    [started] = [e for e in events if e["type"] == "reseller.termination_started"]
    assert started["data"]["days_left"] == 30 and "days_left_count" not in json.dumps(events)
    [terminated] = [e for e in events if e["type"] == "reseller.terminated"]
    assert terminated["data"]["account_restrictions"] == [{"account_id": account_id,
                                               "restrictions": ["no_new_resources", "no_sub_lessees"]}]
    assert {"create", "finding", "start_clock", "remind", "terminate", "status"} <= actions
    # the job is idempotent: another run the same day changes nothing
    assert run_job(client, keys, FOUND + timedelta(days=30)) == {"as_of": "2026-12-31", "reminded": [],
                                                                  "terminated": []}


@pytest.mark.control("resellers.termination_clock")
@pytest.mark.requirement("E3")
def test_remediation_with_reason_and_evidence_stops_the_clock(services: Services, client: TestClient,
                                                              keys: dict[str, str]) -> None:
    reseller_id, account_id, _ = setup_reseller(services, client, keys)
    non_compliant(client, keys, reseller_id)
    url = f"/v1/resellers/{reseller_id}/remediation"
    missing = client.post(url, json={"reason": "fixed"}, headers=auth(keys, "compliance-officer"))
    assert missing.status_code == 422 and "evidence" in json.dumps(missing.json())
    blank = client.post(url, json={"reason": "fixed", "evidence": "   "}, headers=auth(keys, "compliance-officer"))
    assert blank.status_code == 422 and blank.json()["fields"][0]["field"] == "evidence"
    stopped = post(client, keys, url, {"reason": "reseller re-verified the sampled sub-lessees",
                                       "evidence": "review 2: 5 of 5 adequate"})
    assert stopped["state"] == "remediated" and stopped["stop_evidence"]["evidence"] == "review 2: 5 of 5 adequate"
    assert status_of(client, keys, reseller_id) == "active"
    run_job(client, keys, FOUND + timedelta(days=30))
    assert account_state(services, account_id) == "active"
    assert client.post(url, json={"reason": "again", "evidence": "x"},
                       headers=auth(keys, "compliance-officer")).status_code == 409  # nothing running


@pytest.mark.requirement("E3", "E2")
def test_terminating_twice_is_409_and_a_terminated_reseller_shares_no_sub_lessees(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    reseller_id, account_id, _ = setup_reseller(services, client, keys, sub_lessees=1)
    url = f"/v1/resellers/{reseller_id}/termination"
    ended = post(client, keys, url, {"reason": "contract ended for non-compliance"})
    assert [a["account_id"] for a in ended["restricted_accounts"]] == [account_id]
    assert post(client, keys, url, {"reason": "again"}, 409)["error"] == "conflict"
    shared = client.post(f"/v1/resellers/{account_id}/sub-lessees",
                         json={"reference": "late", "kind": "entity", "legal_name": "Spät GmbH", "country": "DE"},
                         headers=auth(keys, "signup-service"))
    assert shared.status_code == 409
    assert post(client, keys, f"/v1/resellers/{reseller_id}/findings",
                {"kind": "non_compliant", "reason": "x"}, 409)


# -- reviews and samples ----------------------------------------------------------------------------
def review_with_sample(client: TestClient, keys: dict[str, str], reseller_id: str, size: int,
                       seed: int) -> dict[str, Any]:
    review = post(client, keys, f"/v1/resellers/{reseller_id}/reviews", {"kind": "ad_hoc"}, 201)
    sampled: dict[str, Any] = post(client, keys, f"/v1/resellers/{reseller_id}/reviews/{review['id']}/sample",
                                   {"size": size, "seed": seed})
    return sampled


def close(client: TestClient, keys: dict[str, str], reseller_id: str, review_id: str) -> None:
    post(client, keys, f"/v1/resellers/{reseller_id}/findings",
         {"kind": "compliant", "reason": "evidence adequate", "review_id": review_id}, 201)


@pytest.mark.requirement("E3")
def test_the_sample_is_reproducible_with_the_same_seed(services: Services, client: TestClient,
                                                       keys: dict[str, str]) -> None:
    reseller_id, _, shared = setup_reseller(services, client, keys, sub_lessees=25)
    first = review_with_sample(client, keys, reseller_id, 5, 7)
    assert status_of(client, keys, reseller_id) == "under_review"
    close(client, keys, reseller_id, first["id"])
    assert status_of(client, keys, reseller_id) == "active"
    second = review_with_sample(client, keys, reseller_id, 5, 7)
    close(client, keys, reseller_id, second["id"])
    third = review_with_sample(client, keys, reseller_id, 5, 8)

    def ids(review: dict[str, Any]) -> list[str]:
        return [item["sub_lessee_id"] for item in review["sample"]["items"]]

    assert len(ids(first)) == 5 and set(ids(first)) <= set(shared)
    assert ids(first) == ids(second) and ids(third) != ids(first)
    assert first["sample"]["population"] == 25 and first["sample"]["whole_population"] is False
    # drawing again with the same size and seed answers the same sample; another seed is refused
    url = f"/v1/resellers/{reseller_id}/reviews/{third['id']}/sample"
    assert post(client, keys, url, {"size": 5, "seed": 8})["sample"]["items"] == third["sample"]["items"]
    assert post(client, keys, url, {"size": 5, "seed": 9}, 409)


@pytest.mark.requirement("E3")
def test_a_sample_larger_than_the_population_takes_it_all_and_says_so(services: Services, client: TestClient,
                                                                      keys: dict[str, str]) -> None:
    reseller_id, _, shared = setup_reseller(services, client, keys, sub_lessees=4)
    review = review_with_sample(client, keys, reseller_id, 10, 1)
    sample = review["sample"]
    assert (sample["requested"], sample["size"], sample["population"]) == (10, 4, 4)
    assert sample["whole_population"] is True and "whole population" in sample["note"]
    assert sorted(item["sub_lessee_id"] for item in sample["items"]) == sorted(shared)


@pytest.mark.requirement("E3", "G4")
def test_results_are_recorded_per_item_and_malicious_activity_makes_an_incident_report(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    reseller_id, account_id, shared = setup_reseller(services, client, keys, sub_lessees=6)
    review = review_with_sample(client, keys, reseller_id, 3, 42)
    base = f"/v1/resellers/{reseller_id}/reviews/{review['id']}"
    sampled = [item["sub_lessee_id"] for item in review["sample"]["items"]]
    for sub_lessee_id, result in zip(sampled, ("adequate", "deficient", "missing"), strict=True):
        post(client, keys, f"{base}/items/{sub_lessee_id}", {"result": result})
    not_sampled = next(s for s in shared if s not in sampled)
    assert client.post(f"{base}/items/{not_sampled}", json={"result": "adequate"},
                       headers=auth(keys, "compliance-officer")).status_code == 404
    bad = client.post(f"{base}/items/{sampled[0]}", json={"result": "great"}, headers=auth(keys, "compliance-officer"))
    assert bad.status_code == 422
    shown = client.get(base, headers=auth(keys, "analyst")).json()
    assert shown["sample"]["results"] == {"adequate": 1, "deficient": 1, "missing": 1, "pending": 0}

    finding = post(client, keys, f"/v1/resellers/{reseller_id}/findings",
                   {"kind": "malicious_activity", "reason": "sub-lessees used for credential stuffing",
                    "review_id": review["id"]}, 201)
    assert finding["incident_id"] and finding["termination"]["state"] == "running"
    report = client.get(f"/v1/incidents/{finding['incident_id']}", headers=auth(keys, "analyst")).json()
    assert report["kind"] == "malicious_activity" and report["account_id"] == account_id
    assert report["content"]["findings"]["reseller_id"] == reseller_id
    assert report["content"]["findings"]["sample_results"]["missing"] == 1
    assert client.get(base, headers=auth(keys, "analyst")).json()["state"] == "closed"
    listed = client.get(f"/v1/resellers/{reseller_id}/findings", headers=auth(keys, "analyst")).json()
    assert [f["kind"] for f in listed] == ["malicious_activity"]
