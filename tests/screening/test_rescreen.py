"""Re-screening (D4): every customer and beneficial owner, resumable after a crash, no duplicate hits,
one ledger entry per run; measures act on their effective date (close / restrict, with notices)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from faker import Faker
from pydantic import TypeAdapter
from sqlalchemy import func, insert, select, update

from cloudcip.domain.customer import CustomerRecord
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services, sub_lessee_rescreen
from cloudcip.screening import hits as hit_store
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.measures import add_measure
from cloudcip.screening.rescreen import jurisdictions_of, rescreen_all, rescreen_if_changed
from cloudcip.screening.schema import rescreen_run, screening_hit, special_measure_effect
from cloudcip.screening.snapshots import import_publication
from cloudcip.screening.subjects import subjects_of
from cloudcip.storage.schema import account

SIGNUP = Actor("test:signup", "signup-service")
OFFICER = Actor("test:officer", "compliance-officer")
RECORDS: TypeAdapter[Any] = TypeAdapter(CustomerRecord)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def individual(given: str, family: str, *, birth: str = "1980-02-03", nationality: str = "DE", country: str = "DE",
               subdivision: str | None = None, phone: str = "+4930901820") -> Any:
    return RECORDS.validate_python({
        "kind": "individual", "name": {"given": given, "family": family}, "birth_date": birth,
        "nationality": nationality,
        "address": {"line1": "1 Test Street", "city": "Testville", "country": country, "subdivision": subdivision},
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "phone": phone,
    })


def entity(legal_name: str, owner: tuple[str, str, str]) -> Any:
    return RECORDS.validate_python({
        "kind": "entity", "legal_name": legal_name, "registration": {"country": "DE", "number": "HRB 1"},
        "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
        "email": "ops@example.com", "phone": "+494012345678",
        "beneficial_owners": [{"name": {"given": owner[0], "family": owner[1]}, "birth_date": owner[2],
                               "nationality": "RU", "ownership_percent": 60}],
    })


def publish(services: Services, birth: str = "1967-01-13") -> None:
    parties = [DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                               birth_dates=[birth], nationalities=["RU"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [],
                                                 hashlib.sha256(birth.encode()).hexdigest()), OFFICER)


def ordinary(n: int, seed: int = 7) -> list[Any]:
    faker = Faker("de_DE")
    faker.seed_instance(seed)
    return [individual(faker.first_name(), faker.last_name()) for _ in range(n)]


def count(services: Services, table: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def open_accounts(services: Services, customer_id: str, *types: str) -> list[str]:
    ids = []
    with services.database.engine.begin() as conn:
        for kind in types:
            account_id = str(uuid.uuid4())
            conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type=kind,
                                                channel="self_serve", state="active", opened_at=NOW))
            ids.append(account_id)
    return ids


def account_states(services: Services) -> dict[str, str]:
    with services.database.engine.connect() as conn:
        return {row.id: row.state for row in conn.execute(select(account.c.id, account.c.state))}


def test_subjects_and_jurisdictions_come_from_the_whole_record() -> None:
    record = {"id": "c1", "kind": "entity", "legal_name": "Acme GmbH",
              "address": {"country": "UA", "subdivision": "UA-43"}, "registration": {"country": "DE"},
              "phone": "+982123456789", "documents": [], "payment_means": [{"type": "card", "country": "TR"}],
              "beneficial_owners": [{"id": "o1", "name": {"given": "Ivan", "family": "Petrov"},
                                     "birth_date": "1970-01-01", "nationality": "RU"}]}
    subjects = subjects_of(record)
    assert [(s.subject_type, s.name, s.schema) for s in subjects] == [
        ("customer", "Acme GmbH", "Organization"), ("beneficial_owner", "Ivan Petrov", "Person")]
    assert {"UA", "UA-43", "crimea", "DE", "IR", "TR"} <= {c if c == "crimea" else c.upper()
                                                            for c in jurisdictions_of(record)}


def test_rescreen_finds_customers_and_owners_once_per_run(services: Services) -> None:
    publish(services)
    ids = services.customers.create([*ordinary(12), individual("Viktor", "Bout", birth="1967-01-13"),
                                     entity("Nordlicht Rechenzentrum GmbH", ("Viktor", "Bout", "1967-01-13"))], SIGNUP)
    size = services.ledger.size()
    seen: list[tuple[int, int]] = []
    report = rescreen_all(services, "list changed", lambda done, total: seen.append((done, total)), clock=lambda: NOW,
                          batch_size=5, then=sub_lessee_rescreen(services))
    assert (report.done, report.total, report.new_hits, report.resumed) == (14, 14, 2, False)
    assert seen[-1] == (14, 14) and len(seen) == 4
    assert services.ledger.size() == size + 2  # one entry for the run and one for its sub-lessee run, none per record
    [entry] = services.ledger.entries_for_record("rescreen_run", report.run_id)
    assert entry["purpose"] == "re-screening"
    with services.database.engine.connect() as conn:
        open_hits = hit_store.list_hits(conn, state="open")
    assert {(h.subject_type, h.list_source_id) for h in open_hits} == {("customer", "42"), ("beneficial_owner", "42")}
    assert ids[12] in {h.subject_id for h in open_hits}
    again = rescreen_all(services, "nightly", clock=lambda: NOW)
    assert (again.done, again.new_hits) == (14, 0)
    assert count(services, screening_hit) == 2


class Crash(Exception):
    pass


def test_an_interrupted_run_resumes_from_its_cursor_without_duplicates(services: Services) -> None:
    publish(services)
    records = ordinary(20)
    for position in (3, 9, 17):
        records.insert(position, individual("Viktor", "Bout", birth="1967-01-13"))
    services.customers.create(records, SIGNUP)

    def crash_after_ten(done: int, total: int) -> None:
        if done >= 10:
            raise Crash

    with pytest.raises(Crash):
        rescreen_all(services, "list changed", crash_after_ten, clock=lambda: NOW, batch_size=5)
    with services.database.engine.connect() as conn:
        run = conn.execute(select(rescreen_run)).one()
    assert (run.done, run.finished_at) == (10, None)
    resumed = rescreen_all(services, "ignored: the unfinished run keeps its reason", clock=lambda: NOW, batch_size=5)
    assert resumed.resumed and resumed.run_id == run.id and resumed.reason == "list changed"
    assert resumed.done == resumed.total == 23
    assert count(services, screening_hit) == 3
    with services.database.engine.connect() as conn:
        assert conn.execute(select(rescreen_run.c.finished_at)).scalar_one() is not None
    assert [e["action"] for e in services.ledger.entries_for_record("rescreen_run", run.id)] == [
        "rescreen", "rescreen_resume"]


def test_measures_close_or_restrict_accounts_on_their_effective_date(services: Services) -> None:
    determined = date(2026, 1, 1)
    iran = add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                       determination_date=determined, covers_resellers=False)
    crimea = add_measure(services, OFFICER, kind="jurisdiction", target="crimea", measure="conditions",
                         conditions=["no_gpu"], determination_date=determined)
    tehran, simferopol, no_accounts, elsewhere = services.customers.create([
        individual("Reza", "Ahmadi", nationality="IR", country="IR", phone="+982123456789"),
        individual("Olena", "Kovalenko", nationality="UA", country="UA", subdivision="UA-43", phone="+380441234567"),
        individual("Dariush", "Karimi", nationality="IR", country="IR", phone="+982123456788"),
        individual("Anna", "Schmidt"),
    ], SIGNUP)
    standard, reseller = open_accounts(services, tehran, "standard", "reseller")
    [restricted] = open_accounts(services, simferopol, "standard")
    [untouched] = open_accounts(services, elsewhere, "standard")

    before = rescreen_all(services, "measure determined", clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    assert before.effects == []
    assert set(account_states(services).values()) == {"active"}

    effective = datetime.combine(iran.effective_date, datetime.min.time(), UTC) + timedelta(hours=1)
    report = rescreen_all(services, "measure effective", clock=lambda: effective)
    states = account_states(services)
    assert states == {standard: "closed", reseller: "active", restricted: "restricted", untouched: "active"}
    assert {(e["customer_id"], e["account_id"], e["action"]) for e in report.effects} == {
        (tehran, standard, "closed"), (simferopol, restricted, "restricted"), (no_accounts, None, "recorded")}
    assert [e["action"] for e in services.ledger.entries_for_record("account", standard)] == ["apply_special_measure"]
    assert [e["action"] for e in services.ledger.entries_for_record("customer", no_accounts)][-1] == \
        "apply_special_measure"
    with services.database.engine.connect() as conn:
        notices = [row.event_type for row in conn.execute(select(webhook_outbox.c.event_type))]
        measures_applied = {row.measure_id for row in conn.execute(select(special_measure_effect.c.measure_id))}
    assert notices == ["account.measure_applied"] * 3
    assert measures_applied == {iran.id, crimea.id}

    again = rescreen_all(services, "nightly", clock=lambda: effective + timedelta(days=1))
    assert again.effects == []  # a measure acts once per account
    assert count(services, special_measure_effect) == 3


def test_a_cleared_false_positive_stays_cleared_until_the_list_entry_changes(services: Services) -> None:
    publish(services)
    services.customers.create([individual("Viktor", "Bout", birth="1967-01-13")], SIGNUP)
    first = rescreen_all(services, "list changed", clock=lambda: NOW)
    assert first.new_hits == 1
    with services.database.engine.connect() as conn:
        [open_hit] = hit_store.list_hits(conn, state="open")
    hit_store.decide(services, OFFICER, open_hit.id, "false_positive", "different person: checked passport")
    assert rescreen_all(services, "nightly", clock=lambda: NOW).new_hits == 0
    publish(services, birth="1967-01-14")  # the list entry changed
    changed = rescreen_all(services, "list changed", clock=lambda: NOW)
    assert changed.new_hits == 1
    with services.database.engine.connect() as conn:
        assert len(hit_store.list_hits(conn, state="open")) == 1
        assert len(hit_store.list_hits(conn, state="false_positive")) == 1


def test_a_person_measure_skips_a_subject_cleared_as_a_false_positive(services: Services) -> None:
    publish(services)
    measure = add_measure(services, OFFICER, kind="person", target="test:42", measure="prohibit",
                          determination_date=date(2026, 1, 1))
    cleared, matched = services.customers.create([individual("Viktor", "Bout", birth="1967-01-13"),
                                                  individual("Viktor", "Bout", birth="1967-01-13")], SIGNUP)
    [cleared_account] = open_accounts(services, cleared, "standard")
    [matched_account] = open_accounts(services, matched, "standard")
    assert rescreen_all(services, "list changed", clock=lambda: NOW - timedelta(days=300)).new_hits == 2
    with services.database.engine.connect() as conn:
        [hit] = [h for h in hit_store.list_hits(conn, state="open") if h.subject_id == cleared]
    hit_store.decide(services, OFFICER, hit.id, "false_positive", "different person: passport checked")
    effective = datetime.combine(measure.effective_date, datetime.min.time(), UTC)
    report = rescreen_all(services, "measure effective", clock=lambda: effective)
    assert [(e["account_id"], e["action"]) for e in report.effects] == [(matched_account, "closed")]
    assert account_states(services) == {cleared_account: "active", matched_account: "closed"}


def test_the_periodic_task_runs_only_when_lists_or_measures_change(services: Services) -> None:
    services.customers.create([individual("Reza", "Ahmadi", nationality="IR", country="IR",
                                          phone="+982123456789")], SIGNUP)
    [closing] = open_accounts(services, services.customers.create([individual("Ali", "Rezaei", nationality="IR",
                                                                              country="IR")], SIGNUP)[0], "standard")
    first = rescreen_if_changed(services, NOW)
    assert first is not None and first.done == 2
    assert rescreen_if_changed(services, NOW) is None
    publish(services)
    assert rescreen_if_changed(services, NOW) is not None  # a new snapshot
    measure = add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                          determination_date=NOW.date())
    determined = rescreen_if_changed(services, NOW)  # a new measure, not yet effective
    assert determined is not None and determined.effects == []
    assert rescreen_if_changed(services, NOW + timedelta(days=10)) is None
    effective = datetime.combine(measure.effective_date, datetime.min.time(), UTC)
    applied = rescreen_if_changed(services, effective)  # the measure reached its effective date
    assert applied is not None and {e["action"] for e in applied.effects} == {"closed", "recorded"}
    assert account_states(services)[closing] == "closed"
    assert rescreen_if_changed(services, effective + timedelta(days=1)) is None


@pytest.mark.requirement("D1", "D2", "A2")
def test_a_jurisdiction_measure_never_closes_a_us_person_living_there(services: Services) -> None:
    """D1: a jurisdiction measure reaches foreign persons; the determination verification kept on the
    record (a U.S. citizen living in Tehran) decides, not the facts re-read from the address and phone."""
    from cloudcip.storage.schema import customer

    iran = add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                       determination_date=date(2026, 1, 1))
    citizen, resident = services.customers.create([
        individual("Sara", "Rahimi", nationality="IR", country="IR", phone="+982123456789"),
        individual("Reza", "Ahmadi", nationality="IR", country="IR", phone="+982123456788"),
    ], SIGNUP)
    with services.database.engine.begin() as conn:
        conn.execute(update(customer).where(customer.c.id == citizen).values(
            person_status="us_person", person_basis="us_citizen"))
    [citizen_account] = open_accounts(services, citizen, "standard")
    [resident_account] = open_accounts(services, resident, "standard")
    effective = datetime.combine(iran.effective_date, datetime.min.time(), UTC) + timedelta(hours=1)
    report = rescreen_all(services, "measure effective", clock=lambda: effective)
    assert account_states(services) == {citizen_account: "active", resident_account: "closed"}
    assert {e["customer_id"] for e in report.effects} == {resident}
