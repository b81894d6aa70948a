"""The shared-indicators pages in a real browser (G3, B3, B4): an analyst filters the list to a peer,
opens a peer's indicator, states a purpose and sees its match masked; axe-core finds no serious
violation on either page; screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.test_console_indicators import PEER, _own, _peer_posts, indicator
from tests.e2e.conftest import LiveConsole, screenshot
from tests.e2e.test_console_browser import axe_check

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.requirement("B4")]


@pytest.mark.requirement("G3", "B3", "B4")
def test_an_analyst_reads_a_peers_indicator_and_its_match_after_a_purpose(new_page: Any, live: LiveConsole) -> None:
    matched = indicator("[email-addr:value = 'customer3@example.de']", "amber")
    _peer_posts(TestClient(live.app), live.services, [matched])
    _own(live.services, [indicator("[ipv4-addr:value = '203.0.113.77']", "green")])
    page = new_page("ana")
    page.goto("/console/indicators")
    page.get_by_label("Source").select_option(PEER)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/console/indicators?source=**")
    assert page.locator(f'[data-matches="{matched["id"]}"]').inner_text() == "1"
    screenshot(page, "indicators")
    axe_check(page, "indicators")
    page.locator(f'a[href^="/console/indicators/{matched["id"]}"]').click()
    page.get_by_label("Purpose").fill("adjudicate a peer's match")
    page.get_by_role("button", name="Show the matches").click()
    page.wait_for_selector("#matches")
    assert live.seeded.customers[3][-4:] in page.locator("#matches").inner_text()
    assert live.seeded.customers[3] not in page.content().replace(f"/console/accounts/{live.seeded.customers[3]}", "")
    screenshot(page, "indicator")
    axe_check(page, "indicator")
