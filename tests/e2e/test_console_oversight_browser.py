"""The reseller and exemption registers in a real browser (E1, E3, F1, F2, B4): an officer opens a
reseller from the register after stating a purpose, sees its CIP documents, findings and the running
clock, and opens an ad-hoc review; an auditor opens an exemption and its evidence pack. axe-core finds
no serious violation on these pages; screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter
from tests.e2e.conftest import LiveConsole, screenshot
from tests.e2e.test_console_browser import axe_check
from tests.resellers.builders import reseller_customer

from cloudcip.records.roles import Actor
from cloudcip.resellers.sub_lessee_input import EntitySubLessee
from cloudcip.resellers.sub_lessees import share_sub_lessees
from cloudcip.runtime import exemption_register, reseller_service

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.requirement("B4")]
OFFICER = Actor("e2e:officer", "compliance-officer")


@pytest.mark.requirement("E1", "E3", "B3")
def test_an_officer_works_a_reseller_from_the_register(new_page: Any, live: LiveConsole) -> None:
    customer_id, account_id = reseller_customer(live.services, f"Browser Reseller {uuid.uuid4().hex[:6]} GmbH")
    share_sub_lessees(live.services, live.console.screening, account_id, [
        TypeAdapter(EntitySubLessee).validate_python({"reference": f"b-{n}", "kind": "entity", "country": "DE",
                                                      "legal_name": f"Browser Kunde {n} UG"}) for n in range(3)],
        Actor("e2e:signup", "signup-service"))
    service = reseller_service(live.services)
    reseller_id = service.add(customer_id, "cip@browser-reseller.example", OFFICER)["id"]
    service.upload_cip(reseller_id, b"Our written CIP, version 1.", OFFICER, filename="their-cip.txt")
    service.record_finding(reseller_id, "non_compliant", "no evidence kept for 4 of 25 sampled", OFFICER)
    page = new_page("carol")
    page.goto("/console/resellers")
    row = page.locator(f'[data-reseller="{reseller_id}"]')
    assert "30 days left" in row.inner_text()
    screenshot(page, "resellers")
    axe_check(page, "reseller register")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/console/resellers/{reseller_id}")
    assert page.get_by_role("heading", name="Why are you opening this reseller?").count() == 1
    page.get_by_label("Purpose").fill("annual reseller oversight")
    page.get_by_role("button", name="Open the reseller").click()
    page.wait_for_selector("#clock")
    assert page.locator("[data-clock-state]").inner_text() == "running"
    assert "their-cip.txt" in page.locator("#cip-documents").inner_text()
    assert "no evidence kept for 4 of 25 sampled" in page.locator("#findings").inner_text()
    screenshot(page, "reseller")
    axe_check(page, "reseller")
    page.get_by_role("button", name="Open an ad-hoc review").click()
    page.wait_for_url("**notice=review-opened")
    assert "ad hoc" in page.locator("#reviews").inner_text()
    reads = [e for e in live.services.ledger.entries_for_record("reseller", reseller_id) if e["action"] == "read"]
    assert [(e["actor"], e["purpose"]) for e in reads][-1] == ("console:carol", "annual reseller oversight")
    # the sample: no reason marks the field; then the preview says what the draw takes; then commit
    page.get_by_label("Sample size").fill("2")
    page.get_by_role("button", name="Draw the sample").click()
    assert page.locator("#sample-reason").get_attribute("aria-invalid") == "true"
    page.locator("#sample-reason").fill("ad-hoc review after the finding")
    page.get_by_role("button", name="Draw the sample").click()
    assert "draw 2 of the reseller's 3 active sub-lessees" in page.locator("#changes").inner_text()
    screenshot(page, "reseller-sample-preview")
    axe_check(page, "reseller action preview")
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url("**notice=sample-drawn")
    assert page.locator("#sample-items tbody tr").count() == 2
    page.locator("#sample-items select").first.select_option("adequate")
    page.get_by_label("What the evidence showed").fill("document and payment check on file")
    page.get_by_role("button", name="Record the results").click()
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url("**notice=results-recorded")
    # remediation stops the running clock, after its preview
    page.locator("#remedy-reason").fill("the reseller now keeps its evidence")
    page.locator("#remedy-evidence").fill("their CIP v2 and the 4 files asked for")
    page.get_by_role("button", name="Stop the clock: remediated").click()
    assert "stop the running termination clock" in page.locator("#changes").inner_text()
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url("**notice=remediated")
    assert page.locator("[data-clock-state]").inner_text() == "remediated"
    screenshot(page, "reseller-oversight-forms")
    axe_check(page, "reseller with its forms")
    assert service.termination_state(reseller_id, OFFICER)["state"] == "remediated"


@pytest.mark.requirement("F1", "F2")
def test_an_auditor_opens_an_exemption_and_its_evidence_pack(new_page: Any, live: LiveConsole) -> None:
    granted = exemption_register(live.services).grant(
        OFFICER, scope_kind="account_type", scope_value="trial", basis="browser abuse-deterrence program",
        steps=["periodic_reverification"], granted_at=datetime(2026, 1, 1, tzinfo=UTC),
        expires_at=datetime(2026, 7, 1, tzinfo=UTC))
    page = new_page("aud")
    page.goto("/console/exemptions")
    page.locator(f'[data-exemption="{granted["id"]}"]').get_by_role("link").click()
    page.wait_for_url(f"**/console/exemptions/{granted['id']}")
    assert page.locator("#exemption-state").inner_text() == "expired"
    assert "browser abuse-deterrence program" in page.locator("main").inner_text()
    screenshot(page, "exemption")
    axe_check(page, "exemption")
    page.goto("/console/exemptions")
    axe_check(page, "exemption register")
    page.goto(f"/console/exemptions/{granted['id']}")
    page.locator("#evidence-pack").click()
    page.wait_for_url("**/console/exemptions/evidence?**")
    assert "SELECT" in page.content()
    # styled under the console's CSP (an inline <style> would be blocked and leave the page unstyled)
    style = page.evaluate("""() => { const pre = getComputedStyle(document.querySelector('pre'));
        const body = getComputedStyle(document.body);
        return [pre.backgroundColor, pre.whiteSpace, body.fontFamily]; }""")
    assert style == ["rgb(244, 244, 244)", "pre-wrap", "sans-serif"], style
    screenshot(page, "exemption-evidence")
