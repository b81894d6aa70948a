"""The reseller and exemption registers in the console through HTTP (E1, E3, F1, F2, B3, B4): the
register lists each reseller with its next review and its clock's days left; one reseller opens only
after a stated purpose (the read and each CIP download on the ledger with it), shows its CIP documents,
reviews, findings with their incident report and the clock; only an officer opens a review, and a form
without the session's CSRF token changes nothing; the exemption register and one exemption with its
evidence pack for the roles that read exemptions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.console.seed import OFFICER, Seeded, csrf_of
from tests.resellers.builders import reseller_customer

from cloudcip import clock
from cloudcip.runtime import Services, exemption_register, reseller_service

CIP = b"Reseller CIP: every sub-lessee verified with a document and a payment check."


def _reseller(services: Services, *, finding: bool = True) -> str:
    customer_id, _account = reseller_customer(services)
    service = reseller_service(services)
    reseller_id = str(service.add(customer_id, "compliance@nordlicht.example", OFFICER)["id"])
    service.upload_cip(reseller_id, CIP, OFFICER, filename="cip-2026.txt")
    if finding:
        service.record_finding(reseller_id, "non_compliant", "3 of 25 sampled without evidence", OFFICER)
    return reseller_id


def _reads(services: Services, reseller_id: str) -> list[tuple[str, str, str | None]]:
    return [(e["action"], e["actor"], e["purpose"]) for e in services.ledger.entries_for_record("reseller", reseller_id)
            if e["action"] in ("read", "read_cip")]


@pytest.mark.requirement("E1", "E3", "B3", "B4")
def test_an_analyst_opens_a_reseller_only_with_a_purpose_and_sees_its_oversight(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    reseller_id = _reseller(services)
    ana = as_person("ana")
    listed = ana.get("/console/resellers")
    assert listed.status_code == 200
    row = listed.text.split(f'data-reseller="{reseller_id}"')[1].split("</tr>")[0]
    assert "terminating" in row and 'data-days-left="30"' in row
    assert (clock.today() + timedelta(days=365)).isoformat() in row  # the next scheduled review
    prompt = ana.get(f"/console/resellers/{reseller_id}")
    assert prompt.status_code == 200 and "Why are you opening this reseller?" in prompt.text
    assert "c*" not in prompt.text and "nordlicht.example" not in prompt.text and _reads(services, reseller_id) == []
    # no CSRF token: refused, nothing remembered; an empty purpose: marked, nothing opened
    assert ana.post(f"/console/resellers/{reseller_id}/purpose", data={"purpose": "oversight"}).status_code == 403
    token = csrf_of(prompt.text)
    empty = ana.post(f"/console/resellers/{reseller_id}/purpose", data={"csrf_token": token, "purpose": ""})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    assert ana.get(f"/console/resellers/{reseller_id}/cip/1").status_code == 303  # no purpose: no document
    stated = ana.post(f"/console/resellers/{reseller_id}/purpose",
                      data={"csrf_token": token, "purpose": "quarterly reseller oversight"})
    assert stated.status_code == 303
    page = ana.get(f"/console/resellers/{reseller_id}")
    assert page.status_code == 200
    assert "compliance@nordlicht.example" not in page.text  # masked
    assert "cip-2026.txt" in page.text and "3 of 25 sampled without evidence" in page.text
    assert 'data-clock-state="running"' in page.text and 'data-days-left="30"' in page.text
    [finding] = reseller_service(services).findings(reseller_id, OFFICER)
    assert f'/console/incidents/{finding["incident_id"]}' in page.text
    assert 'id="open-review"' not in page.text  # an analyst may read, not open reviews
    document = ana.get(f"/console/resellers/{reseller_id}/cip/1")
    assert document.status_code == 200 and document.content == CIP
    assert _reads(services, reseller_id) == [("read", "console:ana", "quarterly reseller oversight"),
                                             ("read_cip", "console:ana", "quarterly reseller oversight")]
    assert ana.post(f"/console/resellers/{reseller_id}/reviews", data={"csrf_token": token}).status_code == 403


@pytest.mark.requirement("E3", "B4")
def test_an_officer_opens_an_ad_hoc_review_and_a_csrf_less_post_changes_nothing(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    reseller_id = _reseller(services, finding=False)
    carol = as_person("carol")
    token = csrf_of(carol.get(f"/console/resellers/{reseller_id}").text)
    carol.post(f"/console/resellers/{reseller_id}/purpose", data={"csrf_token": token, "purpose": "review"})
    assert 'id="open-review"' in carol.get(f"/console/resellers/{reseller_id}").text
    assert carol.post(f"/console/resellers/{reseller_id}/reviews", data={}).status_code == 403
    assert reseller_service(services).reviews(reseller_id, OFFICER) == []
    opened = carol.post(f"/console/resellers/{reseller_id}/reviews", data={"csrf_token": token})
    assert opened.status_code == 303 and opened.headers["location"].endswith("?notice=review-opened")
    [review] = reseller_service(services).reviews(reseller_id, OFFICER)
    assert review["kind"] == "ad_hoc" and review["state"] == "open"
    page = carol.get(opened.headers["location"])
    assert f'data-review="{review["id"]}"' in page.text and "under review" in page.text
    again = carol.post(f"/console/resellers/{reseller_id}/reviews", data={"csrf_token": token})
    assert again.status_code == 409 and "already open" in again.text  # a page, not a trace


@pytest.mark.requirement("F1", "F2", "B4")
def test_the_exemption_register_and_one_exemption_with_its_evidence_pack(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    granted = exemption_register(services).grant(
        OFFICER, scope_kind="lessee_type", scope_value="entity", basis="abuse-deterrence program v2",
        steps=["beneficial_owner_verification"], granted_at=datetime(2026, 1, 1, tzinfo=UTC),
        expires_at=datetime(2027, 1, 1, tzinfo=UTC), conditions=["quarterly report"])
    aud = as_person("aud")
    listed = aud.get("/console/exemptions")
    assert listed.status_code == 200 and f'data-exemption="{granted["id"]}"' in listed.text
    page = aud.get(f"/console/exemptions/{granted['id']}")
    assert page.status_code == 200 and "abuse-deterrence program v2" in page.text and "quarterly report" in page.text
    link = page.text.split('id="evidence-pack" href="')[1].split('"')[0].replace("&amp;", "&")
    assert link.startswith("/console/exemptions/evidence?from=2026-01-01T00:00:00Z&to=")
    pack = aud.get(link)
    assert pack.status_code == 200 and "SELECT" in pack.text  # each figure with its query
    # styled under the console's CSP: no inline style (style-src 'self'), the rules linked from the console
    assert "style-src 'self';" in pack.headers["content-security-policy"] and "<style" not in pack.text
    assert '<link rel="stylesheet" href="/console/exemptions/evidence.css">' in pack.text
    css = aud.get("/console/exemptions/evidence.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "pre{white-space:pre-wrap;background:#f4f4f4" in css.text
    ana = as_person("ana")
    assert ana.get("/console/exemptions").status_code == 403
    assert "Exemptions" not in ana.get("/console/queue").text.split("<main")[0]  # not in an analyst's menu
