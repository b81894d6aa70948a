"""A compliance officer's reseller oversight in the console through HTTP (E3, G4, B3, B4): drawing a
review's sample of sub-lessees, recording the sampled items' results, a finding (non-compliance starts
the termination clock and makes an incident report), remediation and termination. Each form: CSRF,
a required reason (missing: the field marked, nothing saved), a preview of what committing changes
(nothing saved by it), a stale form refused with the current state, the ledger entry under the
person's name, and only ``reseller:write`` (an analyst gets a 403 page)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from tests.console.conftest import console_of
from tests.console.seed import OFFICER, Seeded, csrf_of
from tests.resellers.builders import reseller_customer

from cloudcip.records.roles import Actor
from cloudcip.resellers.sub_lessee_input import EntitySubLessee
from cloudcip.resellers.sub_lessees import share_sub_lessees
from cloudcip.runtime import Services, reseller_service

SIGNUP = Actor("test:signup", "signup-service")


def _reseller(services: Services, app_client: TestClient, sub_lessees: int = 0) -> str:
    customer_id, account_id = reseller_customer(services)
    if sub_lessees:
        items = [TypeAdapter(EntitySubLessee).validate_python({
            "reference": f"s-{n}", "kind": "entity", "country": "DE", "legal_name": f"Kunde {n} Hosting UG"})
            for n in range(sub_lessees)]
        share_sub_lessees(services, console_of(app_client).screening, account_id, items, SIGNUP)
    return str(reseller_service(services).add(customer_id, "compliance@nordlicht.example", OFFICER)["id"])


def _opened(client: TestClient, reseller_id: str) -> str:
    """The reseller's page opened under a stated purpose; the session's CSRF token."""
    token = csrf_of(client.get(f"/console/resellers/{reseller_id}").text)
    stated = client.post(f"/console/resellers/{reseller_id}/purpose",
                         data={"csrf_token": token, "purpose": "oversight"})
    assert stated.status_code == 303
    return token


def _hidden(page: str) -> dict[str, str]:
    """The preview's form fields, as the "Commit" button posts them."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def _ledger(services: Services, reseller_id: str) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in services.ledger.entries_for_record("reseller", reseller_id)
            if e["action"] not in ("read", "add", "status")]


@pytest.mark.requirement("E3", "B3", "B4")
def test_an_officer_draws_the_sample_records_results_and_a_non_compliance_finding(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services, app_client: TestClient) -> None:
    reseller_id = _reseller(services, app_client, sub_lessees=4)
    service = reseller_service(services)
    review = service.start_review(reseller_id, OFFICER)
    carol = as_person("carol")
    token = _opened(carol, reseller_id)
    page = carol.get(f"/console/resellers/{reseller_id}")
    assert 'id="sample-form"' in page.text and 'id="finding-form"' in page.text and 'id="remedy-form"' not in page.text
    base = {"csrf_token": token, "review_id": review["id"], "expected_status": "under_review"}
    # no reason: the form again with the field marked, nothing drawn
    missing = carol.post(f"/console/resellers/{reseller_id}/sample", data={**base, "size": "3", "seed": "7"})
    assert missing.status_code == 422 and 'id="sample-reason" name="reason" rows="2" maxlength="4000" aria-invalid' \
        in missing.text
    assert service.review(reseller_id, review["id"], OFFICER)["sample"] is None
    # the preview says what the draw will take, and saves nothing
    preview = carol.post(f"/console/resellers/{reseller_id}/sample",
                         data={**base, "size": "3", "seed": "7", "reason": "annual review"})
    assert preview.status_code == 200
    assert "draw 3 of the reseller&#39;s 4 active sub-lessees at random with seed 7" in preview.text
    assert service.review(reseller_id, review["id"], OFFICER)["sample"] is None
    # a POST without the session's token changes nothing
    fields = _hidden(preview.text)
    assert carol.post(f"/console/resellers/{reseller_id}/sample",
                      data={k: v for k, v in fields.items() if k != "csrf_token"}).status_code == 403
    committed = carol.post(f"/console/resellers/{reseller_id}/sample", data=fields)
    assert committed.status_code == 303 and committed.headers["location"].endswith("?notice=sample-drawn")
    sample = service.review(reseller_id, review["id"], OFFICER)["sample"]
    assert sample["size"] == 3 and sample["seed"] == 7 and sample["population"] == 4
    [draw] = [e for e in services.ledger.entries_for_record("reseller", reseller_id) if e["action"] == "sample"]
    assert draw["actor"] == "console:carol" and draw["detail"]["reason"] == "annual review"
    # the results: one item deficient, one missing
    first, second = (item["sub_lessee_id"] for item in sample["items"][:2])
    page = carol.get(committed.headers["location"])
    assert 'id="results-form"' in page.text and f'data-item="{first}"' in page.text
    chosen = {"csrf_token": token, "review_id": review["id"], "expected_status": "under_review",
              f"result-{first}": "deficient", f"result-{second}": "missing"}
    assert carol.post(f"/console/resellers/{reseller_id}/results", data=chosen).status_code == 422  # no reason
    preview = carol.post(f"/console/resellers/{reseller_id}/results", data={**chosen, "reason": "no document kept"})
    assert preview.status_code == 200
    assert f"record the sub-lessee {first[:8]} as deficient (now pending)" in preview.text
    assert carol.post(f"/console/resellers/{reseller_id}/results", data=_hidden(preview.text)).status_code == 303
    tally = service.review(reseller_id, review["id"], OFFICER)["sample"]["results"]
    assert tally == {"adequate": 0, "deficient": 1, "missing": 1, "pending": 1}
    # the finding: its preview names the clock and the incident report; committed, both exist
    finding = {"csrf_token": token, "expected_status": "under_review", "kind": "non_compliant",
               "review_id": review["id"], "reason": "2 of 3 sampled without evidence"}
    preview = carol.post(f"/console/resellers/{reseller_id}/findings", data=finding)
    assert preview.status_code == 200
    assert "start the 30-day termination clock" in preview.text and "incident report" in preview.text
    assert f"close the review {review['id'][:8]}" in preview.text and service.findings(reseller_id, OFFICER) == []
    assert carol.post(f"/console/resellers/{reseller_id}/findings", data=_hidden(preview.text)).status_code == 303
    [made] = service.findings(reseller_id, OFFICER)
    assert made["kind"] == "non_compliant" and made["incident_id"] is not None
    assert service.termination_state(reseller_id, OFFICER)["state"] == "running"
    assert ("finding", "console:carol") in _ledger(services, reseller_id)
    page = carol.get(f"/console/resellers/{reseller_id}?notice=finding-recorded")
    assert 'id="remedy-form"' in page.text and f'/console/incidents/{made["incident_id"]}' in page.text


@pytest.mark.requirement("E3", "B4")
def test_remediation_and_termination_with_a_stale_form_refused(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services, app_client: TestClient) -> None:
    reseller_id = _reseller(services, app_client)
    service = reseller_service(services)
    service.record_finding(reseller_id, "non_compliant", "no CIP kept", OFFICER)
    carol = as_person("carol")
    token = _opened(carol, reseller_id)
    remedy = {"csrf_token": token, "expected_status": "terminating", "reason": "CIP now kept"}
    missing = carol.post(f"/console/resellers/{reseller_id}/remediation", data=remedy)
    assert missing.status_code == 422 and 'aria-describedby="remedy-evidence-err"' in missing.text
    preview = carol.post(f"/console/resellers/{reseller_id}/remediation",
                         data={**remedy, "evidence": "their CIP v2 and 25 verified files"})
    assert preview.status_code == 200 and "stop the running termination clock" in preview.text
    assert "from terminating to active" in preview.text
    fields = _hidden(preview.text)
    # meanwhile another officer terminates the relationship: the stale commit saves nothing and says so
    service.terminate(reseller_id, "terminated by another officer", OFFICER)
    stale = carol.post(f"/console/resellers/{reseller_id}/remediation", data=fields)
    assert stale.status_code == 409 and 'id="stale"' in stale.text and "terminated" in stale.text
    assert service.termination_state(reseller_id, OFFICER)["state"] == "terminated"
    assert 'id="terminate-form"' not in stale.text  # a terminated relationship offers no more forms


@pytest.mark.requirement("E3", "B4")
def test_termination_restricts_the_accounts_after_its_preview(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services, app_client: TestClient) -> None:
    reseller_id = _reseller(services, app_client)
    service = reseller_service(services)
    carol = as_person("carol")
    token = _opened(carol, reseller_id)
    preview = carol.post(f"/console/resellers/{reseller_id}/termination",
                         data={"csrf_token": token, "expected_status": "active", "reason": "refused every review"})
    assert preview.status_code == 200 and "restrict the reseller&#39;s 1 open account(s)" in preview.text
    assert service.show(reseller_id, OFFICER)["status"] == "active"
    assert carol.post(f"/console/resellers/{reseller_id}/termination", data=_hidden(preview.text)).status_code == 303
    view: dict[str, Any] = service.show(reseller_id, OFFICER)
    assert view["status"] == "terminated" and [a["state"] for a in view["accounts"]] == ["restricted"]
    assert ("terminate", "console:carol") in _ledger(services, reseller_id)


@pytest.mark.requirement("E3", "B4")
def test_an_analyst_may_read_a_reseller_but_gets_no_form_and_a_403_page(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services, app_client: TestClient) -> None:
    reseller_id = _reseller(services, app_client)
    ana = as_person("ana")
    token = _opened(ana, reseller_id)
    page = ana.get(f"/console/resellers/{reseller_id}")
    assert page.status_code == 200 and 'id="finding-form"' not in page.text and 'id="terminate-form"' not in page.text
    refused = ana.post(f"/console/resellers/{reseller_id}/findings",
                       data={"csrf_token": token, "kind": "observation", "reason": "looked", "confirm": "1",
                             "expected_status": "active"})
    assert refused.status_code == 403 and "<html" in refused.text and "Traceback" not in refused.text
    assert reseller_service(services).findings(reseller_id, OFFICER) == []
