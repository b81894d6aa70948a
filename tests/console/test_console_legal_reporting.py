"""The legal, productions and reporting pages through HTTP (B1, B4, B5, H1, H3): legal staff register a
process and see what its scope resolves to, an officer places a hold, legal releases it only with a
reason, a production is made, downloaded and verified (a tampered one fails), the certification
shows each figure with its query and is filed only with a CIP contact, the roster is shown or
exported only after a stated purpose, each on the ledger."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.console.seed import OFFICER, Seeded, csrf_of

from cloudcip.ledger.schema import ledger_entry
from cloudcip.legal.schema import production
from cloudcip.records.schema import legal_hold, legal_process
from cloudcip.reports.schema import certification_filing
from cloudcip.runtime import Services, reporting_contacts


def _entries(services: Services, action: str) -> list[dict[str, object]]:
    with services.database.engine.connect() as conn:
        rows = conn.execute(select(ledger_entry.c.actor, ledger_entry.c.record_type, ledger_entry.c.record_id,
                                   ledger_entry.c.purpose).where(ledger_entry.c.action == action)
                            .order_by(ledger_entry.c.idx))
        return [dict(r._mapping) for r in rows]


def _count(services: Services, table: object) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.requirement("B4", "B5", "B1")
def test_legal_registers_a_process_an_officer_holds_and_legal_releases_with_a_reason(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    lee, carol = as_person("lee"), as_person("carol")
    token = csrf_of(lee.get("/console/legal").text)
    # a missing authority and a bad network: the form comes back marked, nothing is registered
    refused = lee.post("/console/legal/processes", data={
        "csrf_token": token, "kind": "subpoena", "reference": "2026-CV-17", "networks": "not-a-network",
        "customers": seeded.customers[0]})
    assert refused.status_code == 422
    assert 'id="lp-authority" name="authority" maxlength="300" value="" aria-invalid="true"' in refused.text
    assert _count(services, legal_process) == 0
    answer = lee.post("/console/legal/processes", data={
        "csrf_token": token, "kind": "subpoena", "authority": "District Court", "reference": "2026-CV-17",
        "customers": f"{seeded.customers[0]}\n{seeded.customers[1]}", "networks": "192.0.2.0/24",
        "identifiers": "email customer2@example.de", "unmask": "1"})
    assert answer.status_code == 303
    page = lee.get(answer.headers["location"])
    assert 'data-scope="customers_in_scope">3<' in page.text  # two named, one through its e-mail
    assert 'data-scope="named_identifiers">1<' in page.text
    assert "customer2@example.de" not in page.text  # kept only as a blind index
    process_id = answer.headers["location"].split("/")[-1].split("?")[0]
    # officers read the register and place holds, but neither register nor release
    assert carol.post("/console/legal/processes", data={"csrf_token": csrf_of(carol.get("/console/legal").text),
                                                        "kind": "subpoena"}).status_code == 403
    carol_token = csrf_of(carol.get(f"/console/legal/processes/{process_id}").text)
    assert carol.post(f"/console/legal/processes/{process_id}/holds",
                      data={"csrf_token": carol_token}).status_code == 303
    with services.database.engine.connect() as conn:
        hold_id = conn.execute(select(legal_hold.c.id)).scalar_one()
    assert carol.post(f"/console/legal/holds/{hold_id}/release",
                      data={"csrf_token": carol_token, "reason": "done"}).status_code == 403
    no_reason = lee.post(f"/console/legal/holds/{hold_id}/release", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 422 and f'id="rel-{hold_id}" name="reason" maxlength="500" aria-invalid' \
        in no_reason.text
    released = lee.post(f"/console/legal/holds/{hold_id}/release",
                        data={"csrf_token": token, "reason": "the court lifted the order"})
    assert released.status_code == 303
    assert "the court lifted the order" in lee.get(released.headers["location"]).text
    assert [e["actor"] for e in _entries(services, "place_hold")] == ["console:carol"]
    assert [e["purpose"] for e in _entries(services, "release_hold")] == ["the court lifted the order"]


@pytest.mark.requirement("B5", "B3")
def test_a_production_is_made_downloaded_and_verified_and_a_tampered_one_fails(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    lee = as_person("lee")
    token = csrf_of(lee.get("/console/legal").text)
    made = lee.post("/console/legal/processes", data={
        "csrf_token": token, "kind": "court_order", "authority": "District Court", "reference": "2026-CR-3",
        "customers": seeded.customers[0]})
    process_id = made.headers["location"].split("/")[-1].split("?")[0]
    package = lee.post("/console/productions", data={"csrf_token": token, "process_id": process_id})
    assert package.status_code == 200 and package.headers["content-type"] == "application/zip"
    assert _count(services, production) == 1
    assert {e["record_id"] for e in _entries(services, "disclose")} >= {seeded.customers[0]}
    listed = lee.get("/console/productions")
    assert "2026-CR-3" in listed.text and package.headers["x-manifest-sha256"][:16] in listed.text
    good = lee.post("/console/productions/verify", data={"csrf_token": token},
                    files={"package": ("production.zip", package.content, "application/zip")})
    assert good.status_code == 200 and 'data-outcome="verified"' in good.text
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package.content)) as source, zipfile.ZipFile(tampered, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            copy.writestr(item, data.replace(b"Schmidt", b"Schmitt") if item.filename.startswith("records/")
                          else data)
    bad = lee.post("/console/productions/verify", data={"csrf_token": token},
                   files={"package": ("production.zip", tampered.getvalue(), "application/zip")})
    assert bad.status_code == 422 and 'data-outcome="failed"' in bad.text and "records/" in bad.text
    none = lee.post("/console/productions/verify", data={"csrf_token": token})
    assert none.status_code == 422 and "package" in none.text


@pytest.mark.requirement("H1")
def test_the_certification_shows_each_figure_with_its_query_and_is_filed_with_a_contact(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    carol = as_person("carol")
    page = carol.get("/console/certification")
    assert page.status_code == 200
    for figure in ("customers", "foreign_beneficial_owners", "unverified_foreign_accounts"):
        assert f'data-figure="{figure}"' in page.text and f'id="query-{figure}"' in page.text
    assert "SELECT" in page.text and "count(" in page.text.lower()
    assert _entries(services, "render_certification")[-1]["actor"] == "console:carol"
    token = csrf_of(page.text)
    refused = carol.post("/console/certification/file", data={"csrf_token": token})
    assert refused.status_code == 422 and "cip contact" in refused.text and _count(services, certification_filing) == 0
    reporting_contacts(services).set(name="Chief CIP Officer", email="cip@example.org", title=None, phone=None,
                                     actor=OFFICER)
    filed = carol.post("/console/certification/file", data={"csrf_token": token})
    assert filed.status_code == 303
    shown = carol.get(filed.headers["location"])
    with services.database.engine.connect() as conn:
        digest = conn.execute(select(certification_filing.c.sha256)).scalar_one()
    assert digest in shown.text and 'id="filed"' in shown.text
    assert _entries(services, "file_certification")[-1]["actor"] == "console:carol"


@pytest.mark.requirement("H3", "B4")
def test_the_roster_is_shown_or_exported_only_after_a_purpose(as_person: Callable[[str], TestClient],
                                                              seeded: Seeded, services: Services) -> None:
    carol = as_person("carol")
    token = csrf_of(carol.get("/console/roster").text)
    missing = carol.post("/console/roster", data={"csrf_token": token, "country": "Germany"})
    assert missing.status_code == 422 and 'id="ro-purpose"' in missing.text
    assert 'name="purpose" maxlength="200" value="" aria-invalid="true"' in missing.text
    assert 'name="country" maxlength="2" value="Germany" aria-invalid="true"' in missing.text
    shown = carol.post("/console/roster", data={"csrf_token": token, "purpose": "exam prep 2026",
                                                "country": "DE", "action": "show"})
    assert shown.status_code == 200 and "4 row(s)" in shown.text
    sample = carol.post("/console/roster", data={"csrf_token": token, "purpose": "exam sample", "sample": "2",
                                                 "seed": "7"})
    again = carol.post("/console/roster", data={"csrf_token": token, "purpose": "exam sample", "sample": "2",
                                                "seed": "7"})
    assert "2 row(s)" in sample.text and "ledger entries" in sample.text
    table = sample.text.split('id="roster"')[1]
    assert table == again.text.split('id="roster"')[1]  # the same seed draws the same sample
    export = carol.post("/console/roster", data={"csrf_token": token, "purpose": "examiner asked",
                                                 "action": "export", "us_or_foreign": "foreign_person"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == int(export.headers["x-rows"]) == 4 and {r["us_or_foreign"] for r in rows} == {"foreign_person"}
    purposes = [e["purpose"] for e in _entries(services, "read") + _entries(services, "export")
                if e.get("record_type") == "roster"]
    assert sorted(purposes) == ["exam prep 2026", "exam sample", "exam sample", "examiner asked"]
