"""The console's pages through HTTP as each person sees them (A6, B3, B4, C3, D1, D5): who may open
what (a table a reviewer can read), the queue, account 360 with its purpose prompt and ledger
entries, adjudication with previews, stale forms, missing reasons, and four eyes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.console.conftest import console_of
from tests.console.seed import OPERATOR, Seeded, csrf_of

from cloudcip.approvals.schema import pending_change
from cloudcip.ledger.schema import ledger_entry
from cloudcip.ledger.tree_head import verify_inclusion_proof_document
from cloudcip.runtime import Services
from cloudcip.screening.schema import screening_hit, special_measure

# page -> the roles that may open it (everyone else gets the 403 page); from records/roles.py's table
PAGES: list[tuple[str, set[str]]] = [
    ("/console/queue", {"analyst", "compliance-officer"}),
    ("/console/approvals", {"compliance-officer"}),
    ("/console/measures", {"analyst", "compliance-officer"}),
    ("/console/lists", {"analyst", "compliance-officer"}),
    ("/console/rescreens", {"analyst", "compliance-officer"}),
    ("/console/accounts/{customer}", {"analyst", "compliance-officer", "legal"}),
    ("/console/cases/{case}", {"analyst", "compliance-officer"}),
    ("/console/hits/{hit}", {"analyst", "compliance-officer"}),
    ("/console/ledger", {"compliance-officer", "auditor"}),
    ("/console/ledger/proof/0", {"compliance-officer", "auditor"}),
    ("/console/incidents", {"analyst", "compliance-officer", "legal"}),
]
PERSON_OF_ROLE = {"analyst": "ana", "compliance-officer": "carol", "legal": "lee", "auditor": "aud", "admin": "adm"}


@pytest.mark.requirement("B4")
@pytest.mark.parametrize("role", sorted(PERSON_OF_ROLE))
def test_each_role_opens_only_the_pages_it_may(role: str, as_person: Callable[[str], TestClient],
                                               seeded: Seeded) -> None:
    client = as_person(PERSON_OF_ROLE[role])
    for template, roles in PAGES:
        path = template.format(customer=seeded.customers[0], case=seeded.in_review[0], hit=seeded.hits[0])
        answer = client.get(path)
        if role in roles:
            assert answer.status_code == 200, (role, path, answer.status_code)
        else:
            assert answer.status_code == 403, (role, path, answer.status_code)
            assert "<h1>Not allowed</h1>" in answer.text and "Traceback" not in answer.text


@pytest.mark.requirement("B4", "B3")
def test_an_analyst_sees_the_record_masked_and_never_an_unmask_button(as_person: Callable[[str], TestClient],
                                                                      seeded: Seeded, services: Services) -> None:
    ana = as_person("ana")
    customer = seeded.customers[0]
    prompt = ana.get(f"/console/accounts/{customer}")
    assert "Why are you opening this record?" in prompt.text and "Schmidt" not in prompt.text
    missing = ana.post(f"/console/accounts/{customer}/purpose", data={"csrf_token": csrf_of(prompt.text),
                                                                      "purpose": ""})
    assert missing.status_code == 422 and 'aria-invalid="true"' in missing.text
    ana.post(f"/console/accounts/{customer}/purpose", data={"csrf_token": csrf_of(prompt.text),
                                                            "purpose": "queue review 7"})
    page = ana.get(f"/console/accounts/{customer}")
    assert page.status_code == 200 and "masked" in page.text
    assert "Anna" in page.text and "1984-03-09" not in page.text and "C01X00T47" not in page.text
    assert "Unmask" not in page.text and "unmask-button" not in page.text
    refused = ana.post(f"/console/accounts/{customer}/unmask", data={"csrf_token": csrf_of(page.text),
                                                                     "purpose": "curious"})
    assert refused.status_code == 403
    with services.database.engine.connect() as conn:
        reads = conn.execute(select(ledger_entry.c.action, ledger_entry.c.purpose).where(
            ledger_entry.c.actor == "console:ana", ledger_entry.c.record_id == customer)).all()
    assert ("read", "queue review 7") in [tuple(r) for r in reads]


@pytest.mark.requirement("B4", "B3")
def test_a_compliance_officer_unmasks_after_a_stated_purpose_on_the_ledger(as_person: Callable[[str], TestClient],
                                                                           seeded: Seeded, services: Services) -> None:
    carol = as_person("carol")
    customer = seeded.customers[0]
    prompt = carol.get(f"/console/accounts/{customer}")
    carol.post(f"/console/accounts/{customer}/purpose", data={"csrf_token": csrf_of(prompt.text), "purpose": "EDD 12"})
    page = carol.get(f"/console/accounts/{customer}")
    assert 'id="unmask-button"' in page.text and "1984-03-09" not in page.text
    no_purpose = carol.post(f"/console/accounts/{customer}/unmask", data={"csrf_token": csrf_of(page.text),
                                                                          "purpose": ""})
    assert no_purpose.status_code == 422 and 'aria-invalid="true"' in no_purpose.text
    carol.post(f"/console/accounts/{customer}/unmask", data={"csrf_token": csrf_of(page.text),
                                                             "purpose": "EDD 12: verify the passport number"})
    unmasked = carol.get(f"/console/accounts/{customer}")
    assert "1984-03-09" in unmasked.text and "C01X00T47" in unmasked.text
    assert "data-verify=" in unmasked.text  # the officer reads the ledger: each entry has a verify action
    with services.database.engine.connect() as conn:
        entry = conn.execute(select(ledger_entry.c.purpose).where(
            ledger_entry.c.actor == "console:carol", ledger_entry.c.action == "read_unmasked",
            ledger_entry.c.record_id == customer)).scalar()
    assert entry == "EDD 12: verify the passport number"
    proof = carol.get("/console/ledger/proof/0").json()
    assert proof["format"] == "cloudcip-inclusion-proof-v1" and proof["audit_path"] is not None
    batch = carol.get("/console/ledger/proofs?index=0&index=3&index=5").json()["proofs"]
    assert [p["index"] for p in batch] == [0, 3, 5]
    for document in batch:  # each proof checks out offline with the ledger's public key
        verify_inclusion_proof_document(document, services.ledger.public_key)
    assert carol.get("/console/ledger/proofs?index=999999").status_code == 404


@pytest.mark.requirement("A6")
def test_work_a_case_from_the_queue_to_a_decision(as_person: Callable[[str], TestClient], seeded: Seeded,
                                                  services: Services) -> None:
    ana, bob = as_person("ana"), as_person("bob")
    queue = ana.get("/console/queue")
    assert queue.status_code == 200 and all(case[:8] in queue.text for case in seeded.in_review)
    nxt = ana.post("/console/queue/next", data={"csrf_token": csrf_of(queue.text), "kind": "cases"})
    assert nxt.status_code == 303
    case_id = nxt.headers["location"].rsplit("/", 1)[1]
    assert case_id in seeded.in_review
    page = ana.get(f"/console/cases/{case_id}")
    assert "Claimed by: <strong>ana</strong>" in page.text
    # the other analyst cannot take it, and "next" skips it
    bob_page = bob.get(f"/console/cases/{case_id}")
    taken = bob.post(f"/console/cases/{case_id}/review", data={
        "csrf_token": csrf_of(bob_page.text), "decision": "approved", "reason": "fine", "expected_state": "in_review",
        "confirm": "1"})
    assert taken.status_code == 409
    bob_next = bob.post("/console/queue/next", data={"csrf_token": csrf_of(bob_page.text), "kind": "cases"})
    assert bob_next.headers["location"] != f"/console/cases/{case_id}"
    # a missing reason: the form comes back with the field marked, nothing saved
    token = csrf_of(page.text)
    missing = ana.post(f"/console/cases/{case_id}/review", data={"csrf_token": token, "decision": "approved",
                                                                 "reason": "", "expected_state": "in_review"})
    assert missing.status_code == 422 and 'id="reason"' in missing.text and 'aria-invalid="true"' in missing.text
    # the preview says what will change, and changes nothing
    preview = ana.post(f"/console/cases/{case_id}/review", data={
        "csrf_token": token, "decision": "approved", "reason": "documents match", "expected_state": "in_review"})
    assert preview.status_code == 200 and "pending_review" in preview.text and "active" in preview.text
    console = console_of(ana)
    assert console.applications.show(case_id, OPERATOR)["state"] == "in_review"
    done = ana.post(f"/console/cases/{case_id}/review", data={
        "csrf_token": token, "decision": "approved", "reason": "documents match", "expected_state": "in_review",
        "confirm": "1"})
    assert done.status_code == 303
    shown = console.applications.show(case_id, OPERATOR)
    assert shown["state"] == "approved" and shown["history"][-1]["actor"] == "console:ana"
    assert shown["history"][-1]["reason"] == "documents match"
    # the same form again is stale: it says so, shows the current state, saves nothing
    stale = ana.post(f"/console/cases/{case_id}/review", data={
        "csrf_token": token, "decision": "refused", "reason": "changed my mind", "expected_state": "in_review",
        "confirm": "1"})
    assert stale.status_code == 409 and 'id="stale"' in stale.text and "approved" in stale.text
    assert console.applications.show(case_id, OPERATOR)["state"] == "approved"


@pytest.mark.requirement("D5")
def test_adjudicate_a_hit_and_it_stays_cleared_after_a_re_screen(as_person: Callable[[str], TestClient],
                                                                 seeded: Seeded, services: Services) -> None:
    from tests.console.seed import publish

    from cloudcip.screening.rescreen import rescreen_all

    ana = as_person("ana")
    hit_id = seeded.hits[0]
    page = ana.get(f"/console/hits/{hit_id}")
    assert "Viktor Bout" in page.text and "Listed entry test:42" in page.text
    token = csrf_of(page.text)
    preview = ana.post(f"/console/hits/{hit_id}/decision", data={
        "csrf_token": token, "decision": "false_positive", "reason": "born 1984, not 1967", "expected_state": "open"})
    assert preview.status_code == 200 and "does not come back" in preview.text
    ana.post(f"/console/hits/{hit_id}/decision", data={
        "csrf_token": token, "decision": "false_positive", "reason": "born 1984, not 1967", "expected_state": "open",
        "confirm": "1"})
    publish(services, extra=2)  # a new version of the list, the entry itself unchanged
    rescreen_all(services, "list changed", screening=console_of(ana).screening)
    with services.database.engine.connect() as conn:
        states = conn.execute(select(screening_hit.c.state).where(
            screening_hit.c.subject_id == seeded.listed_customer)).scalars().all()
    assert states == ["false_positive"]
    assert 'id="hit-state">false positive' in ana.get(f"/console/hits/{hit_id}").text


@pytest.mark.requirement("D1", "B4")
def test_four_eyes_for_a_special_measure(as_person: Callable[[str], TestClient], seeded: Seeded,
                                         services: Services) -> None:
    carol, dave = as_person("carol"), as_person("dave")
    page = carol.get("/console/measures")
    token = csrf_of(page.text)
    bad = carol.post("/console/measures/propose", data={
        "csrf_token": token, "kind": "jurisdiction", "target": "KP", "measure": "prohibit",
        "determination_date": "2026-01-01", "effective_date": "2026-02-01", "reason": "Commerce determination"})
    assert bad.status_code == 422 and "effective_date" in bad.text  # earlier than the lead time
    carol.post("/console/measures/propose", data={
        "csrf_token": token, "kind": "jurisdiction", "target": "KP", "measure": "prohibit",
        "determination_date": "2026-01-01", "reason": "Commerce determination 2026-1"})
    with services.database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(special_measure)).scalar_one() == 0
        change_id = conn.execute(select(pending_change.c.id)).scalar_one()
    own = carol.get("/console/approvals")
    assert "Your proposal" in own.text and f'data-approve="{change_id}"' not in own.text
    self_approval = carol.post(f"/console/approvals/{change_id}/approve", data={"csrf_token": csrf_of(own.text)})
    assert self_approval.status_code == 403
    listing = dave.get("/console/approvals")
    assert f'data-approve="{change_id}"' in listing.text and "carol" in listing.text
    assert dave.post(f"/console/approvals/{change_id}/approve",
                     data={"csrf_token": csrf_of(listing.text)}).status_code == 303
    with services.database.engine.connect() as conn:
        assert conn.execute(select(special_measure.c.target)).scalar_one() == "KP"
        actions = conn.execute(select(ledger_entry.c.actor, ledger_entry.c.action).where(
            ledger_entry.c.record_type == "pending_change")).all()
    assert ("console:carol", "propose") in actions and ("console:dave", "approve") in actions
    assert as_person("ana").get("/console/approvals").status_code == 403  # four eyes is the officers'


@pytest.mark.requirement("A6", "B4")
def test_redress_of_a_refused_account_needs_a_second_person(as_person: Callable[[str], TestClient],
                                                             seeded: Seeded, services: Services) -> None:
    carol, dave = as_person("carol"), as_person("dave")
    case_id = seeded.in_review[1]
    console = console_of(carol)
    console.applications.review(case_id, "refused", "no documents", OPERATOR)
    assert "redress" not in as_person("ana").get(f"/console/cases/{case_id}").text.lower().split("decide")[-1]
    page = carol.get(f"/console/cases/{case_id}")
    token = csrf_of(page.text)
    proposal = carol.post(f"/console/cases/{case_id}/review", data={
        "csrf_token": token, "decision": "redress", "reason": "customer sent a passport", "expected_state": "refused",
        "confirm": "1"})
    assert proposal.status_code == 303
    assert console.applications.show(case_id, OPERATOR)["state"] == "refused"  # not yet
    own = carol.get("/console/approvals")
    change_id = json.loads(json.dumps([c.id for c in console.four_eyes.changes()]))[0]
    assert carol.post(f"/console/approvals/{change_id}/approve",
                      data={"csrf_token": csrf_of(own.text)}).status_code == 403
    listing = dave.get("/console/approvals")
    dave.post(f"/console/approvals/{change_id}/approve", data={"csrf_token": csrf_of(listing.text)})
    assert console.applications.show(case_id, OPERATOR)["state"] == "in_review"


@pytest.mark.requirement("A6", "D5")
def test_bulk_actions_reach_every_item_matching_the_filters_across_pages(as_person: Callable[[str], TestClient],
                                                                         seeded: Seeded, services: Services) -> None:
    from cloudcip.console.schema import console_claim

    ana = as_person("ana")
    queue = ana.get("/console/queue?kind=cases")
    token = csrf_of(queue.text)
    claimed = ana.post("/console/queue/bulk", data={"csrf_token": token, "kind": "cases", "action": "claim",
                                                    "all_matching": "1"})
    assert claimed.status_code == 303
    with services.database.engine.connect() as conn:
        items = set(conn.execute(select(console_claim.c.item)).scalars())
    assert items == {f"case:{c}" for c in seeded.in_review}
    no_reason = ana.post("/console/queue/bulk", data={"csrf_token": token, "kind": "hits", "action": "escalate",
                                                      "items": [f"hit:{h}" for h in seeded.hits]})
    assert no_reason.status_code == 422 and 'id="bulk-reason" name="reason" maxlength="500" aria-invalid="true"' \
        in no_reason.text
    ana.post("/console/queue/bulk", data={"csrf_token": token, "kind": "hits", "action": "escalate",
                                          "reason": "same name as a listed arms dealer",
                                          "items": [f"hit:{h}" for h in seeded.hits]})
    with services.database.engine.connect() as conn:
        states = set(conn.execute(select(screening_hit.c.state)).scalars())
    assert states == {"escalated"}
    filtered = ana.get("/console/queue?kind=cases&rule=no-such-rule")
    assert "Nothing is waiting that matches these filters" in filtered.text


@pytest.mark.requirement("B2", "B4")
def test_exact_search_through_the_blind_index_puts_each_match_on_the_ledger(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    ana = as_person("ana")
    token = csrf_of(ana.get("/console/queue").text)
    missing = ana.post("/console/search", data={"csrf_token": token, "kind": "email",
                                                "value": "customer1@example.de", "purpose": ""})
    assert missing.status_code == 422 and 's-purpose-err' in missing.text
    found = ana.post("/console/search", data={"csrf_token": token, "kind": "email", "value": "customer1@example.de",
                                              "purpose": "chargeback 88"})
    assert found.status_code == 200 and seeded.customers[1] in found.text
    assert "customer1@example.de" not in found.text  # the value is not echoed back
    with services.database.engine.connect() as conn:
        logged = conn.execute(select(ledger_entry.c.purpose).where(
            ledger_entry.c.action == "search_match", ledger_entry.c.record_id == seeded.customers[1])).scalar()
    assert logged == "chargeback 88"
    # the purpose stated for the search opens the record without asking again
    assert "Why are you opening" not in ana.get(f"/console/accounts/{seeded.customers[1]}").text


@pytest.mark.requirement("G4", "B3")
def test_an_incident_report_made_from_the_account_page(as_person: Callable[[str], TestClient], seeded: Seeded,
                                                       services: Services) -> None:
    from cloudcip.storage.schema import account

    ana = as_person("ana")
    customer = seeded.customers[2]
    with services.database.engine.connect() as conn:
        account_id = conn.execute(select(account.c.id).where(account.c.customer_id == customer)).scalar_one()
    prompt = ana.get(f"/console/accounts/{customer}")
    ana.post(f"/console/accounts/{customer}/purpose", data={"csrf_token": csrf_of(prompt.text),
                                                            "purpose": "abuse ticket 4"})
    page = ana.get(f"/console/accounts/{customer}")
    assert "Make the incident report" in page.text
    empty = ana.post("/console/incidents", data={"csrf_token": csrf_of(page.text), "account_id": account_id,
                                                 "summary": ""})
    assert empty.status_code == 422
    made = ana.post("/console/incidents", data={"csrf_token": csrf_of(page.text), "account_id": account_id,
                                                "customer_id": customer, "summary": "cryptomining on a stolen card",
                                                "actions": "account closed\ncard reported"})
    assert made.status_code == 303
    report = ana.get(made.headers["location"])
    assert 'id="incident-verified"' in report.text and "cryptomining on a stolen card" in report.text
    assert "card reported" in report.text and "customer2@example.de" not in report.text  # identifiers masked
    listing = ana.get("/console/incidents")
    assert made.headers["location"].rsplit("/", 1)[1][:8] in listing.text
    bob = as_person("bob")
    asked = bob.get(made.headers["location"])
    assert "Why are you opening this incident report?" in asked.text


@pytest.mark.requirement("A6", "D5")
def test_next_and_previous_walk_the_whole_queue_in_order_by_position(
        as_person: Callable[[str], TestClient], seeded: Seeded, services: Services) -> None:
    """Keyset pagination: "Next" carries the last item's position, "Previous" the first's; walking the
    pages lists every open hit once, blocking band first, then oldest, ties by id, as pages by number do."""
    import re
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    start = datetime(2026, 3, 1, tzinfo=UTC)
    planted = [{"id": str(uuid.uuid4()), "subject_type": "customer", "subject_id": seeded.customers[0],
                "subject_hash": "0" * 64, "list_source": "planted", "list_source_id": str(n), "party_hash": "0" * 64,
                "score": 0.9, "band": ("block", "review")[n % 2], "state": "open",
                "explanation_json": json.dumps({"matched_name": "Planted", "features": {}, "explanation": []}),
                "created_at": start + timedelta(minutes=n // 3)}  # three hits share each minute: ties by id
               for n in range(120)]
    with services.database.engine.begin() as conn:
        conn.execute(insert(screening_hit), planted)
    with services.database.engine.connect() as conn:
        rows = conn.execute(select(screening_hit.c.id, screening_hit.c.band, screening_hit.c.created_at)
                            .where(screening_hit.c.state == "open")).all()
    expected = [row.id for row in sorted(rows, key=lambda r: (("block", "review").index(r.band), r.created_at, r.id))]
    assert len(expected) > 100  # three pages

    def shown(html: str) -> list[str]:
        return re.findall(r'href="/console/hits/([0-9a-f\-]{36})" data-queue-link', html)

    ana = as_person("ana")
    walked: list[str] = []
    pages: list[str] = []
    url = "/console/queue?kind=hits"
    while url:
        answer = ana.get(url)
        assert answer.status_code == 200
        pages.append(answer.text)
        walked += shown(answer.text)
        after = re.search(r'href="\?([^"]+)" rel="next"', answer.text)
        url = "/console/queue?" + after.group(1).replace("&amp;", "&") if after else ""
    assert walked == expected and len(pages) == 3
    assert shown(ana.get("/console/queue?kind=hits&page=2").text) == expected[50:100]  # by number: the same
    # a page in the second half is counted from the end: the same items; past the last, none
    assert shown(ana.get("/console/queue?kind=hits&page=3").text) == expected[100:]
    assert shown(ana.get("/console/queue?kind=hits&page=9").text) == []

    def items(html: str) -> list[str]:
        return re.findall(r'href="/console/(?:cases|hits)/([0-9a-f\-]{36})" data-queue-link', html)

    by_next, url = [], "/console/queue"
    while url:
        answer = ana.get(url)
        by_next += items(answer.text)
        after = re.search(r'href="\?([^"]+)" rel="next"', answer.text)
        url = "/console/queue?" + after.group(1).replace("&amp;", "&") if after else ""
    by_number = [i for n in (1, 2, 3) for i in items(ana.get(f"/console/queue?page={n}").text)]
    assert by_number == by_next and len(by_next) > 100  # cases and hits merged, counted from either end
    back = re.search(r'href="\?([^"]+)" rel="prev"', pages[2])
    assert back and shown(ana.get("/console/queue?" + back.group(1).replace("&amp;", "&")).text) == expected[50:100]
    assert ana.get("/console/queue?kind=hits&after=0~yesterday~x").status_code == 404  # not a position: no page
