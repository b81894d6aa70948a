"""Delta re-screening (D4, D5): after a finished run, unchanged records are screened only against the
list entries added or changed since, changed records in full; hits on entries that left the list
are marked; the bulk read gives what ``open_record`` gives; workers and resumption keep the cursor
right."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.screening.test_rescreen import entity, individual, ordinary

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.records.screening_material import screening_material
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services
from cloudcip.screening import hits as hit_store
from cloudcip.screening.hits import subject_hash
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.rescreen import jurisdictions_of, rescreen_all
from cloudcip.screening.schema import rescreen_run, screening_hit
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import import_publication
from cloudcip.screening.subjects import subjects_of
from cloudcip.storage.schema import customer

OFFICER = Actor("test:officer", "compliance-officer")
SIGNUP = Actor("test:signup", "signup-service")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

BOUT = DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                       birth_dates=["1967-01-13"], nationalities=["RU"])
DRAGO = DesignatedParty(source="test", source_id="77", schema="Person", names=[ListedName("Ivan Drago")],
                        birth_dates=["1961-04-20"], nationalities=["RU"])
KHAN = DesignatedParty(source="other", source_id="9", schema="Person", names=[ListedName("Dariush Khanzadeh")],
                       birth_dates=["1970-05-05"], nationalities=["IR"])


def publish(services: Services, *parties: DesignatedParty, source: str = "test") -> None:
    digest = hashlib.sha256(repr([(p.source_id, p.names, p.birth_dates) for p in parties]).encode()).hexdigest()
    import_publication(services, ListPublication("own-csv", source, list(parties), [], digest), OFFICER)


def open_hits(services: Services) -> list[Any]:
    with services.database.engine.connect() as conn:
        return hit_store.list_hits(conn, state="open")


def test_a_delta_run_screens_unchanged_customers_only_against_added_entries(services: Services) -> None:
    publish(services, BOUT)
    ids = services.customers.create([*ordinary(20), individual("Viktor", "Bout", birth="1967-01-13"),
                                     individual("Ivan", "Drago", birth="1961-04-20")], SIGNUP)
    first = rescreen_all(services, "first", clock=lambda: NOW, batch_size=7)
    assert (first.mode, first.new_hits, first.counts["full"]) == ("full", 1, 22)
    publish(services, BOUT, DRAGO)  # a new snapshot: Drago added, Bout unchanged
    delta = rescreen_all(services, "list changed", clock=lambda: NOW, batch_size=7)
    assert delta.mode == "delta" and (delta.done, delta.total) == (22, 22)
    # every customer screened once, only against the one added entry; nobody in full
    assert (delta.counts["delta"], delta.counts["full"], delta.counts["delta_parties"]) == (22, 0, 1)
    assert delta.new_hits == 1
    found = {(h.subject_id, h.list_source_id) for h in open_hits(services)}
    assert found == {(ids[20], "42"), (ids[21], "77")}


def _common_ivans(n: int = 60) -> list[DesignatedParty]:
    """Listed persons sharing the given name "Ivan", so the token is common (weighs less) in the lists."""
    import random

    rng = random.Random(3)
    return [DesignatedParty(source="test", source_id=f"iv{i}", schema="Person",
                            names=[ListedName("Ivan " + "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou")
                                                                 for _ in range(4)))])
            for i in range(n)]


def test_a_delta_hit_scores_as_a_full_screen_would(services: Services) -> None:
    ivans = _common_ivans()
    publish(services, BOUT, KHAN, DRAGO, *ivans)
    services.customers.create(ordinary(3), SIGNUP)
    rescreen_all(services, "first", clock=lambda: NOW)
    added = DesignatedParty(source="test", source_id="78", schema="Person", names=[ListedName("Ivan Petrovich Drago")],
                            birth_dates=["1961"], nationalities=["RU"])
    publish(services, BOUT, DRAGO, added, *ivans)
    [drago] = services.customers.create([individual("Ivan", "Dragoo", birth="1961-04-20", nationality="RU")], SIGNUP)
    with services.database.engine.begin() as conn:  # as if the customer had been there before the last run
        conn.execute(update(customer).where(customer.c.id == drago).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
    report = rescreen_all(services, "list changed", clock=lambda: NOW)
    assert report.mode == "delta" and report.counts["full"] == 0
    stored = {h.list_source_id: h.score for h in open_hits(services) if h.subject_id == drago}
    full = ScreeningService(services).screen_person("Ivan Dragoo", "1961-04-20", "RU", schema="Person")
    expected = {h.party_id: h.score for h in full.hits if h.party_id == "78"}
    assert "78" in stored and stored["78"] == expected["78"]
    assert "77" not in stored  # Drago's entry did not change: not screened against again


def test_a_changed_record_is_screened_in_full_and_the_others_not_at_all(services: Services) -> None:
    publish(services, BOUT)
    ids = services.customers.create([*ordinary(10), entity("Nordlicht Rechenzentrum GmbH",
                                                           ("Anna", "Schmidt", "1980-01-01"))], SIGNUP)
    assert rescreen_all(services, "first", clock=lambda: NOW).new_hits == 0
    from cloudcip.domain.customer import BeneficialOwnerInput

    owner = BeneficialOwnerInput.model_validate({"name": {"given": "Viktor", "family": "Bout"},
                                                 "birth_date": "1967-01-13", "nationality": "RU",
                                                 "ownership_percent": 30})
    with services.ledger.unit_of_work() as work:
        services.customers.add_beneficial_owner(work, ids[10], owner, OFFICER)
    report = rescreen_all(services, "nightly", clock=lambda: NOW)
    assert report.mode == "delta"
    assert (report.counts["full"], report.counts["skipped"], report.counts["delta"]) == (1, 10, 0)
    assert report.new_hits == 1
    [hit] = open_hits(services)
    assert (hit.subject_type, hit.list_source_id) == ("beneficial_owner", "42")


def test_a_removed_entry_marks_its_hits_and_keeps_them(services: Services) -> None:
    publish(services, BOUT, DRAGO)
    services.customers.create([individual("Viktor", "Bout", birth="1967-01-13"),
                               individual("Ivan", "Drago", birth="1961-04-20")], SIGNUP)
    assert rescreen_all(services, "first", clock=lambda: NOW).new_hits == 2
    publish(services, DRAGO)  # Bout left the list
    report = rescreen_all(services, "list changed", clock=lambda: NOW)
    assert report.counts["hits_marked"] == 1 and report.new_hits == 0
    marked = {h.list_source_id: h.list_entry_status for h in open_hits(services)}
    assert marked == {"42": "removed", "77": None}


def test_a_cleared_false_positive_stays_cleared_when_another_list_changes(services: Services) -> None:
    publish(services, BOUT)
    services.customers.create([individual("Viktor", "Bout", birth="1967-01-13")], SIGNUP)
    rescreen_all(services, "first", clock=lambda: NOW)
    [hit] = open_hits(services)
    hit_store.decide(services, OFFICER, hit.id, "false_positive", "different person: passport checked")
    publish(services, KHAN, source="other")
    report = rescreen_all(services, "other list", clock=lambda: NOW)
    assert report.mode == "delta" and report.new_hits == 0 and open_hits(services) == []
    full = rescreen_all(services, "operator", clock=lambda: NOW, full=True)
    assert full.mode == "full" and full.counts["full"] == 1 and full.new_hits == 0


class Crash(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_delta_run_resumes_without_duplicates(services: Services, workers: int) -> None:
    publish(services, BOUT)
    records = ordinary(24)
    for position in (2, 11, 19):
        records.insert(position, individual("Ivan", "Drago", birth="1961-04-20"))
    services.customers.create(records, SIGNUP)
    rescreen_all(services, "first", clock=lambda: NOW, workers=workers, batch_size=4)
    publish(services, BOUT, DRAGO)

    def crash_after_eight(done: int, total: int) -> None:
        if done >= 8:
            raise Crash

    with pytest.raises(Crash):
        rescreen_all(services, "list changed", crash_after_eight, clock=lambda: NOW, batch_size=4, workers=workers)
    with services.database.engine.connect() as conn:
        run = conn.execute(select(rescreen_run).where(rescreen_run.c.finished_at.is_(None))).one()
    assert (run.done, run.mode) == (8, "delta")
    resumed = rescreen_all(services, "ignored", clock=lambda: NOW, batch_size=4, workers=workers)
    assert resumed.resumed and resumed.run_id == run.id and resumed.mode == "delta"
    assert resumed.done == resumed.total == 27
    with services.database.engine.connect() as conn:
        stored = conn.execute(select(screening_hit.c.list_source_id)).scalars().all()
    assert sorted(stored) == ["77", "77", "77"]


def test_two_workers_find_what_one_finds(services: Services) -> None:
    publish(services, BOUT, DRAGO)
    records = ordinary(30)
    records.insert(5, individual("Viktor", "Bout", birth="1967-01-13"))
    records.insert(25, entity("Drago Holdings GmbH", ("Ivan", "Drago", "1961-04-20")))
    services.customers.create(records, SIGNUP)
    report = rescreen_all(services, "first", clock=lambda: NOW, workers=2, batch_size=4)
    assert (report.mode, report.done, report.new_hits, report.counts["full"]) == ("full", 32, 2, 32)
    assert {(h.subject_type, h.list_source_id) for h in open_hits(services)} == {
        ("customer", "42"), ("beneficial_owner", "77")}


def test_the_bulk_read_gives_what_open_record_gives(services: Services) -> None:
    records = list(SyntheticCustomers(seed=5, entity_share=0.4).records(25))
    ids = services.customers.create(records, SIGNUP)
    key = services.keyring.blind_index_key()
    with services.database.engine.connect() as conn:
        bulk = {r["id"]: r for r in screening_material(conn, services.keyring, None, max(ids), full=True)}
        assert set(bulk) == set(ids)
        for customer_id in ids:
            opened = services.customers.open_record(conn, customer_id)
            assert jurisdictions_of(bulk[customer_id]) == jurisdictions_of(opened)
            assert [(s.subject_id, subject_hash(key, s.fields())) for s in subjects_of(bulk[customer_id])] == \
                [(s.subject_id, subject_hash(key, s.fields())) for s in subjects_of(opened)]
        partial = screening_material(conn, services.keyring, None, max(ids), full=False)
        assert all("email" not in r and r["documents"] == [] for r in partial)
        one = sorted(ids)[3]
        assert [r["id"] for r in screening_material(conn, services.keyring, None, max(ids), full=True,
                                                    only=[one])] == [one]
    assert str(uuid.UUID(ids[0]))
