"""Screening over HTTP (D1, D3, D5, B4): measures, screening, hits; roles; 422s naming fields."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening import hits as hit_store
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.snapshots import import_publication

OFFICER = Actor("test:officer", "compliance-officer")
MEASURE = {"kind": "jurisdiction", "target": "IR", "measure": "prohibit", "determination_date": "2026-01-15"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def publish(services: Services) -> None:
    parties = [DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                               birth_dates=["1967-01-13"], nationalities=["RU"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [], hashlib.sha256(b"x").hexdigest()),
                       OFFICER)


@pytest.mark.requirement("D1")
@pytest.mark.control("measure.register")
def test_measures_register_over_http(client: TestClient, keys: dict[str, str]) -> None:
    officer = auth(keys["compliance-officer"])
    created = client.post("/v1/measures", json=MEASURE, headers=officer)
    assert created.status_code == 201, created.text
    measure = created.json()
    assert (measure["effective_date"], measure["expires_on"]) == ("2026-07-14", "2027-07-14")
    early = client.post("/v1/measures", json={**MEASURE, "effective_date": "2026-02-01"}, headers=officer)
    assert early.status_code == 422
    assert early.json()["detail"][0].startswith("effective_date:")
    bad_target = client.post("/v1/measures", json={**MEASURE, "target": "QQ"}, headers=officer)
    assert bad_target.status_code == 422 and bad_target.json()["detail"][0].startswith("target:")
    person = client.post("/v1/measures", json={"kind": "person", "target": {"name": "Ramzan Kadyrov"},
                                               "measure": "conditions", "conditions": ["no_gpu"],
                                               "determination_date": "2026-01-15"}, headers=officer)
    assert person.status_code == 201, person.text
    for far, field in (({"determination_date": "9999-12-31"}, "determination_date"),
                       ({"effective_date": "9999-12-31"}, "effective_date")):
        response = client.post("/v1/measures", json={**MEASURE, **far}, headers=officer)
        assert response.status_code == 422 and response.json()["detail"][0].startswith(field)
    unknown_field = client.post("/v1/measures", json={**MEASURE, "severity": "high"}, headers=officer)
    assert unknown_field.status_code == 422 and "severity" in unknown_field.text

    extended = client.post(f"/v1/measures/{measure['id']}/extend", json={"days": 30, "reason": "renewed"},
                           headers=officer)
    assert extended.status_code == 200 and extended.json()["expires_on"] == "2027-08-13"
    assert client.post(f"/v1/measures/{measure['id']}/extend", json={"days": 30}, headers=officer).status_code == 422
    revoked = client.post(f"/v1/measures/{measure['id']}/revoke", json={"reason": "lifted"}, headers=officer)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = client.post(f"/v1/measures/{measure['id']}/revoke", json={"reason": "lifted"}, headers=officer)
    assert again.status_code == 422
    missing = client.post("/v1/measures/00000000-0000-0000-0000-000000000000/revoke", json={"reason": "x"},
                          headers=officer)
    assert missing.status_code == 404
    listed = client.get("/v1/measures", headers=auth(keys["analyst"]))
    assert listed.status_code == 200 and len(listed.json()["measures"]) == 2


@pytest.mark.requirement("D3", "D5")
@pytest.mark.control("hits.adjudicated")
def test_screen_and_adjudicate(services: Services, client: TestClient, keys: dict[str, str]) -> None:
    publish(services)
    analyst = auth(keys["analyst"])
    screened = client.post("/v1/screen", json={"name": "BOUT, Viktor", "birth_date": "1967-01-13"}, headers=analyst)
    assert screened.status_code == 200, screened.text
    assert screened.json()["band"] == "block"
    assert screened.json()["hits"][0]["list_source_id"] == "42"
    for bad in ({"name": ""}, {"name": "   "}, {"name": "\u0000\u0001"}, {"name": "x" * 5000}, {}):
        response = client.post("/v1/screen", json=bad, headers=analyst)
        assert response.status_code == 422, (bad, response.text)
        assert "name" in response.text
    assert client.get("/v1/lists", headers=analyst).json()["sources"][0]["parties"] == 1
    bad_date = client.post("/v1/screen", json={"name": "Viktor Bout", "birth_date": "1967-02-30"}, headers=analyst)
    assert bad_date.status_code == 422 and bad_date.json()["detail"][0].startswith("birth_date:")

    with services.database.engine.begin() as conn:
        from cloudcip.screening.matcher import Hit

        [hit_id] = hit_store.record_hits(
            conn, "customer", "11111111-1111-1111-1111-111111111111", "h",
            [Hit("test", "42", "Viktor Bout", 0.95, "block", {"name": 0.95}, ["name 0.95"])],
            lambda s, i: "p", datetime.now(UTC), index_key=services.keyring.blind_index_key())
    open_hits = client.get("/v1/hits?state=open", headers=analyst)
    assert [h["id"] for h in open_hits.json()["hits"]] == [hit_id]
    assert client.get("/v1/hits?state=maybe", headers=analyst).status_code == 422
    no_reason = client.post(f"/v1/hits/{hit_id}/decision", json={"state": "false_positive"}, headers=analyst)
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0].startswith("reason:")
    decided = client.post(f"/v1/hits/{hit_id}/decision", json={"state": "false_positive", "reason": "other DOB"},
                          headers=analyst)
    assert decided.status_code == 200 and decided.json()["state"] == "false_positive"
    assert client.get("/v1/hits?state=open", headers=analyst).json()["hits"] == []
    assert client.post(f"/v1/hits/{hit_id}/decision", json={"state": "confirmed"},
                       headers=auth(keys["auditor"])).status_code == 403
    assert client.post("/v1/hits/00000000-0000-0000-0000-000000000000/decision", json={"state": "confirmed"},
                       headers=analyst).status_code == 404
    assert client.post("/v1/hits/not-an-id/decision", json={"state": "confirmed"},
                       headers=analyst).status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30)
    | st.sampled_from(["IR", "UA-43", "crimea", "9999-12-31", "2026-02-30", "0001-01-01", "1967", "no_gpu"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
screen_fields = st.sampled_from(["name", "birth_date", "nationality", "schema", "gender", "document_numbers",
                                 "emails", "wallets", "jurisdictions", "limit"])
measure_fields = st.sampled_from(["kind", "target", "measure", "conditions", "determination_date",
                                  "effective_date", "duration_days", "covers_resellers", "description"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(screen_body=st.dictionaries(screen_fields, json_values, max_size=6),
       measure_body=st.dictionaries(measure_fields, json_values, max_size=9),
       name=st.text(max_size=60), birth=st.sampled_from(["1967-01-13", "1967-13-45", "2026-02-30", "0000", None]))
def test_any_body_is_a_clean_answer(client: TestClient, keys: dict[str, str], screen_body: dict[str, object],
                                    measure_body: dict[str, object], name: str, birth: str | None) -> None:
    officer = auth(keys["compliance-officer"])
    assert client.post("/v1/screen", json=screen_body, headers=officer).status_code in (200, 422)
    response = client.post("/v1/screen", json={"name": name, "birth_date": birth}, headers=officer)
    assert response.status_code in (200, 422), response.text
    assert client.post("/v1/measures", json=measure_body, headers=officer).status_code in (201, 422)
    assert client.post("/v1/measures", json={**MEASURE, **measure_body},
                       headers=officer).status_code in (201, 422)
