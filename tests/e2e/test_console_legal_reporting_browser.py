"""The legal, productions and reporting pages in a real browser (B1, B4, B5, H1, H3): legal staff
register a process and see its scope, place and release a hold (a missing reason marked), make a
production that downloads and verify it by upload; an officer renders the certification with its
queries and shows and exports the roster after stating a purpose. axe-core finds no serious
violation on any of these pages; screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from tests.e2e.conftest import LiveConsole, screenshot
from tests.e2e.test_console_browser import axe_check

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.requirement("B4")]


@pytest.mark.requirement("B4", "B5", "B1")
def test_legal_registers_a_process_holds_and_releases_with_a_reason(new_page: Any, live: LiveConsole) -> None:
    page = new_page("lee")
    page.goto("/console/legal")
    page.get_by_label("Kind", exact=True).select_option("court_order")
    page.get_by_label("Issuing authority").fill("Superior Court")
    page.get_by_label("Reference (docket or case number)").fill("e2e-order-9")
    page.get_by_label("Customers (ids, one a line)").fill(live.seeded.customers[1])
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/console/legal/processes/**")
    assert page.locator("[data-scope=customers_in_scope]").inner_text() == "1"
    page.locator("#place-hold").click()
    page.wait_for_url("**notice=held")
    page.get_by_role("button", name="Release").click()  # no reason: marked, nothing released
    assert page.locator("[data-hold] input[name=reason]").get_attribute("aria-invalid") == "true"
    assert page.locator("text=standing").count() == 1
    screenshot(page, "legal-process")
    axe_check(page, "legal process")
    page.get_by_label("Reason").fill("answered in full")
    page.get_by_role("button", name="Release").click()
    page.wait_for_url("**notice=released")
    assert "answered in full" in page.locator("#process-holds").inner_text()
    page.goto("/console/legal")
    screenshot(page, "legal-register")
    axe_check(page, "legal register")


@pytest.mark.requirement("B5", "B3")
def test_a_production_downloads_and_verifies_in_the_browser(new_page: Any, live: LiveConsole) -> None:
    page = new_page("lee")
    page.goto(f"/console/legal/processes/{live.legal_process}")
    with page.expect_download() as download:
        page.locator("#make-production").click()
    package = download.value.path()
    assert download.value.suggested_filename.startswith("production-")
    page.goto("/console/productions")
    assert "2026-17" in page.locator("#productions").inner_text()
    page.set_input_files("#pr-package", package)
    page.get_by_role("button", name="Verify against this ledger's key").click()
    page.wait_for_selector("#verify-result")
    assert page.locator("#verify-result output").get_attribute("data-outcome") == "verified"
    screenshot(page, "productions")
    axe_check(page, "productions")


@pytest.mark.requirement("H1", "H3")
def test_an_officer_renders_the_certification_and_shows_the_roster(new_page: Any, live: LiveConsole) -> None:
    page = new_page("carol")
    page.goto("/console/certification")
    assert page.locator("[data-figure=customers]").count() == 1
    page.locator("#query-customers summary").click()
    assert "SELECT" in page.locator("#query-customers pre").inner_text()
    screenshot(page, "certification")
    axe_check(page, "certification")
    page.goto("/console/roster")
    page.get_by_role("button", name="Show").click()  # no purpose: marked
    assert page.locator("#ro-purpose").get_attribute("aria-invalid") == "true"
    page.get_by_label("Purpose (goes on the ledger)").fill("examiner visit prep")
    page.get_by_label("Random sample of (empty: every row)").fill("3")
    page.get_by_role("button", name="Show").click()
    assert page.locator("#roster tbody tr").count() == 3
    screenshot(page, "roster")
    axe_check(page, "roster")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename == "roster.csv"


@pytest.mark.requirement("B4", "A8")
def test_a_policy_change_proposed_by_one_officer_is_approved_by_another(new_page: Any, live: LiveConsole) -> None:
    from cloudcip.profiles import default_policy_text
    from cloudcip.runtime import policy_in_force

    carol = new_page("carol")
    carol.goto("/console/policy")
    carol.get_by_label("Policy (YAML)").fill(default_policy_text().replace('version: "2024.1"', 'version: "2026.3"'))
    carol.get_by_label("Why (for the second person)").fill("annual review: version bump")
    carol.get_by_role("button", name="Propose").click()
    carol.wait_for_url("**/console/approvals?notice=proposed")
    assert carol.locator("text=Your proposal: a second person must approve it.").count() >= 1
    dave = new_page("dave")
    dave.goto("/console/policy")
    assert "+version: '2026.3'" in dave.locator("pre.diff").inner_text()
    screenshot(dave, "policy")
    axe_check(dave, "policy")
    dave.goto("/console/approvals")
    row = dave.locator("tr[data-change]", has_text="version 2026.3")
    row.get_by_role("button", name="Approve").click()
    dave.wait_for_url("**notice=approved")
    assert policy_in_force(live.services).version == "2026.3"
    dave.goto("/console/policy")
    assert dave.locator("#policy-in-force").inner_text() == "default version 2026.3"
