"""E2, D3, D4, B2, B3: sub-lessees shared by a Reseller Account are sealed at rest, screened on arrival
(hits of subject type ``sub_lessee``), re-screened when lists change, and special measures in force
reach through the reseller chain to the Reseller Account."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.customer_store import CustomerPurged
from cloudcip.records.roles import AccessRefused, Actor
from cloudcip.resellers.rescreen import rescreen_sub_lessees
from cloudcip.resellers.schema import sub_lessee
from cloudcip.resellers.sub_lessees import (
    ResellerAccountNotFound,
    list_sub_lessees,
    parse_sub_lessees,
    remove_sub_lessee,
    share_sub_lessees,
)
from cloudcip.runtime import Services
from cloudcip.screening import hits as hit_store
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.measures import add_measure
from cloudcip.screening.schema import screening_hit, special_measure_effect
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import import_publication
from cloudcip.storage.schema import account

SIGNUP = Actor("test:signup", "signup-service")
ANALYST = Actor("test:analyst", "analyst")
OFFICER = Actor("test:officer", "compliance-officer")
ADMIN = Actor("test:admin", "admin")
DETERMINED = date(2026, 1, 1)  # measures determined then are in force from 2026-06-30 (180 days' lead time)
BEFORE = datetime(2026, 3, 1, 12, tzinfo=UTC)
IN_FORCE = datetime(2026, 11, 28, 12, tzinfo=UTC)

PERSON: dict[str, Any] = {
    "reference": "cust-0001", "kind": "person", "name": {"given": "Margarethe", "family": "Quellenhof"},
    "birth_date": "1979-05-17", "nationality": "AT", "country": "AT", "email": "m.quellenhof@example.at",
    "documents": [{"country": "AT", "number": "P4366918", "kind": "passport"}],
}
ENTITY: dict[str, Any] = {
    "reference": "cust-0002", "kind": "entity", "legal_name": "Zwieselstein Datenwerk KG", "country": "AT",
    "email": "ops@zwieselstein.example",
}


def person(reference: str, given: str, family: str, **extra: Any) -> dict[str, Any]:
    return {"reference": reference, "kind": "person", "name": {"given": given, "family": family},
            "country": "DE", **extra}


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(services: Services) -> FixedClock:
    fixed = FixedClock(IN_FORCE)
    services.ledger.clock = fixed
    services.customers.clock = fixed
    return fixed


@pytest.fixture
def screening(services: Services, clock: FixedClock) -> ScreeningService:
    return ScreeningService(services, check_interval=0.0, today=lambda: clock.now.date())


def reseller(services: Services, account_type: str = "reseller", state: str = "active") -> str:
    [customer_id] = services.customers.create([_reseller_record()], SIGNUP)
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type=account_type,
                                            channel="sales_assisted", state=state, opened_at=IN_FORCE))
    return account_id


def _reseller_record() -> Any:
    from pydantic import TypeAdapter

    from cloudcip.domain.customer import CustomerRecord

    return TypeAdapter(CustomerRecord).validate_python({
        "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
        "registration": {"country": "DE", "number": "HRB 99"},
        "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
        "email": "ops@nordlicht.example", "phone": "+494012345678",
    })


def share(services: Services, screening: ScreeningService, account_id: str, *bodies: dict[str, Any],
          actor: Actor = SIGNUP) -> list[dict[str, Any]]:
    items, many = parse_sub_lessees(list(bodies))
    return [s.as_json() for s in share_sub_lessees(services, screening, account_id, items, actor, many=many)]


def publish(services: Services, name: str = "Viktor Bout", birth: str = "1967-01-13", source_id: str = "42") -> None:
    parties = [DesignatedParty(source="test", source_id=source_id, schema="Person", names=[ListedName(name)],
                               birth_dates=[birth], nationalities=["RU"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [],
                                                 hashlib.sha256((name + birth).encode()).hexdigest()), OFFICER)


def count(services: Services, table: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def account_state(services: Services, account_id: str) -> str:
    with services.database.engine.connect() as conn:
        return str(conn.execute(select(account.c.state).where(account.c.id == account_id)).scalar_one())


def notices(services: Services) -> list[dict[str, Any]]:
    with services.database.engine.connect() as conn:
        return [json.loads(row.payload_json) for row in conn.execute(
            select(webhook_outbox.c.payload_json).where(webhook_outbox.c.event_type == "sub_lessee.measure_applied")
            .order_by(webhook_outbox.c.created_at))]


def test_shared_sub_lessees_are_sealed_at_rest_and_listed_masked(services: Services, screening: ScreeningService,
                                                                 settings: Any) -> None:
    account_id = reseller(services)
    answers = share(services, screening, account_id, PERSON, ENTITY)
    assert [(a["reference"], a["status"], a["outcome"]) for a in answers] == [
        ("cust-0001", "active", "created"), ("cust-0002", "active", "created")]
    secrets = ["Quellenhof", "Margarethe", "m.quellenhof@example.at", "1979-05-17", "P4366918", "Zwieselstein",
               "zwieselstein.example"]
    assert not any(secret in json.dumps(answers) for secret in secrets)  # the answer carries no personal data
    with services.database.engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text("SELECT * FROM sub_lessee"))]
    raw_rows = repr(rows).encode() + b"".join(bytes(v) for row in rows for v in row
                                              if isinstance(v, bytes | memoryview))
    assert len(rows) == 2
    assert [s for s in secrets if s.encode() in raw_rows] == []
    if services.database.is_sqlite:
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert [s for s in secrets if s.encode() in raw] == []

    page = list_sub_lessees(services, account_id, ANALYST, purpose="review")
    views = {v["reference"]: v for v in page["sub_lessees"]}
    assert views["cust-0001"]["name"] == {"given": "Margarethe", "family": "Quellenhof"}
    assert views["cust-0001"]["birth_date"] == "••••-••-••"
    assert views["cust-0001"]["email"] == "m•••@example.at"
    assert views["cust-0001"]["documents"] == [{"country": "AT", "kind": "passport", "number": "••••••6918"}]
    assert views["cust-0002"]["legal_name"] == "Zwieselstein Datenwerk KG"
    reads = services.ledger.entries_for_record("sub_lessee", views["cust-0001"]["id"])
    assert [e["action"] for e in reads] == ["create", "read"]
    assert reads[-1]["purpose"] == "review" and reads[-1]["actor"] == ANALYST.name
    with pytest.raises(AccessRefused):
        list_sub_lessees(services, account_id, SIGNUP)
    with pytest.raises(AccessRefused):
        share(services, screening, account_id, PERSON, actor=ANALYST)


def test_resharing_is_idempotent_on_the_reference(services: Services, screening: ScreeningService) -> None:
    account_id = reseller(services)
    [first] = share(services, screening, account_id, PERSON)
    [again] = share(services, screening, account_id, PERSON)
    assert (again["id"], again["outcome"]) == (first["id"], "unchanged")
    assert count(services, sub_lessee) == 1
    [changed] = share(services, screening, account_id, {**PERSON, "country": "CH"})
    assert (changed["id"], changed["outcome"]) == (first["id"], "updated")
    assert count(services, sub_lessee) == 1
    other = reseller(services)
    [elsewhere] = share(services, screening, other, PERSON)  # the reference is the reseller's own
    assert elsewhere["id"] != first["id"] and elsewhere["outcome"] == "created"
    removed = remove_sub_lessee(services, account_id, first["id"], SIGNUP)
    assert removed["status"] == "removed"
    assert remove_sub_lessee(services, account_id, first["id"], SIGNUP)["status"] == "removed"
    [back] = share(services, screening, account_id, {**PERSON, "country": "CH"})
    assert (back["id"], back["status"], back["outcome"]) == (first["id"], "active", "updated")
    assert [e["action"] for e in services.ledger.entries_for_record("sub_lessee", first["id"])] == [
        "create", "share_unchanged", "update", "remove", "remove", "update"]


def test_a_listed_sub_lessee_gets_a_sub_lessee_hit(services: Services, screening: ScreeningService) -> None:
    publish(services)
    account_id = reseller(services)
    listed, clear = share(services, screening, account_id,
                          person("r-1", "Viktor", "Bout", birth_date="1967-01-13", nationality="RU"),
                          person("r-2", "Anna", "Schmidt"))
    assert listed["screening"]["band"] == "block" and listed["screening"]["new_hits"] == 1
    assert listed["screening"]["hits"][0]["list_source_id"] == "42"
    assert clear["screening"] == {"band": "clear", "hits": [], "new_hits": 0, "measures": []}
    with services.database.engine.connect() as conn:
        [hit] = hit_store.list_hits(conn, state="open")
    assert (hit.subject_type, hit.subject_id, hit.list_source_id) == ("sub_lessee", listed["id"], "42")
    [again] = share(services, screening, account_id,
                    person("r-1", "Viktor", "Bout", birth_date="1967-01-13", nationality="RU"))
    assert again["screening"]["new_hits"] == 0 and count(services, screening_hit) == 1


def test_a_prohibition_in_force_refuses_the_sub_lessee_and_flags_the_reseller(
        services: Services, screening: ScreeningService, clock: FixedClock) -> None:
    iran = add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                       determination_date=DETERMINED)
    account_id = reseller(services)
    clock.now = BEFORE  # determined, not yet in force: reported, nothing done
    [early] = share(services, screening, account_id, person("early", "Reza", "Ahmadi", country="IR"))
    assert early["status"] == "active" and early["effects"] == []
    assert early["screening"]["measures"][0]["status"] == "determined"
    clock.now = IN_FORCE
    tehran, berlin, abroad = share(services, screening, account_id,
                                   person("r-ir", "Dariush", "Karimi", country="IR", nationality="IR"),
                                   person("r-de", "Anna", "Schmidt", nationality="DE"),
                                   person("r-ir-de", "Shirin", "Rahimi", country="DE", nationality="IR"))
    assert tehran["status"] == "refused"
    # D1, D2: an Iranian national living in Germany is not located in Iran; the measure does not reach her
    assert abroad["status"] == "active" and abroad["effects"] == []
    assert [(m["id"], m["outcome"]) for m in abroad["screening"]["measures"]] == [(iran.id, "not_located")]
    assert tehran["effects"] == [{"measure_id": iran.id, "measure": "prohibit", "sub_lessee_id": tehran["id"],
                                  "reseller_account_id": account_id, "action": "refused", "account_action": "review"}]
    assert berlin["status"] == "active" and berlin["effects"] == []
    assert account_state(services, account_id) == "active"  # one sub-lessee does not close the reseller
    with services.database.engine.connect() as conn:
        [hit] = hit_store.list_hits(conn, state="open")
    assert (hit.subject_type, hit.subject_id, hit.list_source, hit.list_source_id, hit.band) == (
        "reseller", account_id, "special_measure", iran.id, "review")
    [notice] = notices(services)
    assert notice["data"] == {"reseller_account_id": account_id, "sub_lessee_id": tehran["id"],
                              "measure_id": iran.id, "measure": "prohibit", "restrictions": [], "action": "refused",
                              "account_action": "review"}
    assert "apply_special_measure" in [e["action"] for e in services.ledger.entries_for_record("sub_lessee",
                                                                                                 tehran["id"])]
    [still] = share(services, screening, account_id, person("r-ir", "Dariush", "Karimi", country="IR"))
    assert (still["status"], still["outcome"]) == ("refused", "refused_earlier")
    assert remove_sub_lessee(services, account_id, tehran["id"], SIGNUP)["status"] == "refused"
    # the sub-lessee shared before the measure came into force is caught by re-screening, once
    screened, _hits, effects = rescreen_sub_lessees(services, screening, IN_FORCE)
    assert screened == 3 and [(e["sub_lessee_id"], e["action"]) for e in effects] == [(early["id"], "refused")]
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[2] == []
    assert len(notices(services)) == 2


def test_conditions_restrict_the_reseller_account_once(services: Services, screening: ScreeningService) -> None:
    crimea = add_measure(services, OFFICER, kind="jurisdiction", target="crimea", measure="conditions",
                         conditions=["no_gpu"], determination_date=DETERMINED)
    untouched = add_measure(services, OFFICER, kind="jurisdiction", target="KP", measure="prohibit",
                            determination_date=DETERMINED, covers_resellers=False)
    account_id = reseller(services)
    other_reseller = reseller(services)
    first, second = share(services, screening, account_id,
                          person("c-1", "Olena", "Kovalenko", country="UA", subdivision="UA-43"),
                          person("c-2", "Ivan", "Melnyk", country="UA", subdivision="43"))
    assert first["status"] == second["status"] == "active"
    assert [e["account_action"] for e in first["effects"] + second["effects"]] == ["restricted", "already_restricted"]
    assert account_state(services, account_id) == "restricted"
    with services.database.engine.connect() as conn:
        effects = list(conn.execute(select(special_measure_effect)))
        recorded = json.loads(conn.execute(select(sub_lessee.c.measures_json)
                                           .where(sub_lessee.c.id == first["id"])).scalar_one())
    assert [(e.measure_id, e.account_id, e.action, e.previous_state) for e in effects] == [
        (crimea.id, account_id, "restricted", "active")]
    assert recorded[0]["measure_id"] == crimea.id and recorded[0]["conditions"] == ["no_gpu"]
    assert [e["action"] for e in services.ledger.entries_for_record("account", account_id)] == [
        "apply_special_measure"]
    # a measure that does not cover Reseller Accounts does not reach through them
    [pyongyang] = share(services, screening, other_reseller, person("k-1", "Kim", "Sun", country="KP"))
    assert pyongyang["status"] == "active" and pyongyang["effects"] == []
    assert pyongyang["screening"]["measures"][0]["id"] == untouched.id
    assert account_state(services, other_reseller) == "active"
    # one screened outside any measure leaves the reseller as it was
    [plain] = share(services, screening, other_reseller, person("k-2", "Anna", "Schmidt"))
    assert plain["effects"] == [] and account_state(services, other_reseller) == "active"
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[2] == []  # conditions act once


def test_rescreening_finds_a_hit_after_a_list_entry_is_added(services: Services, screening: ScreeningService) -> None:
    account_id = reseller(services)
    [bout] = share(services, screening, account_id,
                   person("r-9", "Viktor", "Bout", birth_date="1967-01-13", nationality="RU"))
    share(services, screening, account_id, *[person(f"p-{n}", "Anna", f"Muster{n}") for n in range(7)])
    assert bout["screening"]["band"] == "clear" and count(services, screening_hit) == 0
    publish(services)
    size = services.ledger.size()
    seen: list[tuple[int, int]] = []
    screened, new_hits, effects = rescreen_sub_lessees(services, screening, IN_FORCE, batch_size=3,
                                                       progress=lambda done, total: seen.append((done, total)))
    assert (screened, new_hits, effects) == (8, 1, [])
    assert seen[0] == (0, 8) and seen[-1] == (8, 8) and len(seen) == 4
    assert services.ledger.size() == size + 1  # one entry for the run, none per record
    with services.database.engine.connect() as conn:
        [hit] = hit_store.list_hits(conn, state="open")
    assert (hit.subject_type, hit.subject_id) == ("sub_lessee", bout["id"])
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[:2] == (8, 0)
    hit_store.decide(services, ANALYST, hit.id, "false_positive", "other person")
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[1] == 0  # a cleared hit stays cleared


def test_purging_the_resellers_customer_shreds_its_sub_lessees(services: Services,
                                                               screening: ScreeningService) -> None:
    account_id = reseller(services)
    share(services, screening, account_id, PERSON)
    with services.database.engine.connect() as conn:
        customer_id = conn.execute(select(account.c.customer_id).where(account.c.id == account_id)).scalar_one()
    services.customers.purge_guard = None  # the shredding itself; the retention guard: tests/records
    services.customers.purge(customer_id, ADMIN, purpose="retention period ended")
    with pytest.raises(CustomerPurged):
        list_sub_lessees(services, account_id, ANALYST)
    with pytest.raises(CustomerPurged):
        share(services, screening, account_id, ENTITY)
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[0] == 0


def test_unknown_and_non_reseller_accounts(services: Services, screening: ScreeningService) -> None:
    standard = reseller(services, account_type="standard")
    for account_id in (standard, "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(ResellerAccountNotFound):
            share(services, screening, account_id, PERSON)
        with pytest.raises(ResellerAccountNotFound):
            list_sub_lessees(services, account_id, ANALYST)


def test_no_personal_data_in_the_ledger_or_the_outbox(services: Services, screening: ScreeningService) -> None:
    add_measure(services, OFFICER, kind="jurisdiction", target="AT", measure="conditions",
                conditions=["enhanced_monitoring"], determination_date=DETERMINED)
    account_id = reseller(services)
    share(services, screening, account_id, PERSON)
    list_sub_lessees(services, account_id, ANALYST)
    with services.database.engine.connect() as conn:
        ledger = " ".join(conn.execute(text("SELECT leaf_input FROM ledger_entry")).scalars())
        outbox = " ".join(conn.execute(text("SELECT payload_json FROM webhook_outbox")).scalars())
    for secret in ("Quellenhof", "m.quellenhof", "1979-05-17", "P4366918"):
        assert not re.search(secret, ledger + outbox)
    assert "sub_lessee.measure_applied" in outbox


def test_timestamps_follow_the_clock(services: Services, screening: ScreeningService, clock: FixedClock) -> None:
    account_id = reseller(services)
    [shared] = share(services, screening, account_id, PERSON)
    clock.now = IN_FORCE + timedelta(days=1)
    remove_sub_lessee(services, account_id, shared["id"], SIGNUP)
    [view] = list_sub_lessees(services, account_id, ANALYST)["sub_lessees"]
    assert view["created_at"] == "2026-11-28T12:00:00Z" and view["removed_at"] == "2026-11-29T12:00:00Z"


def test_concurrent_shares_of_one_reference_store_one_sub_lessee(services: Services,
                                                                 screening: ScreeningService) -> None:
    """E2: two shares of the same new reference racing each other: one row; the loser answers as a re-share."""
    import threading

    account_id = reseller(services)
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def share_once() -> None:
        try:
            start.wait()
            answers.extend(share(services, screening, account_id, PERSON))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=share_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(services, sub_lessee) == 1
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["outcome"] for a in answers) == ["created", "unchanged", "unchanged", "unchanged"]


def test_key_rotation_keeps_sub_lessees_readable(services: Services, screening: ScreeningService) -> None:
    """B2: sub-lessees are sealed under the reseller customer's data key, which rotation re-wraps."""
    from cloudcip.records.rotation import rotate_keys

    account_id = reseller(services)
    share(services, screening, account_id, PERSON)
    report = rotate_keys(services.database, services.keyring, services.ledger, ADMIN)
    assert report.retired  # the old key-encryption key is gone
    [view] = list_sub_lessees(services, account_id, ANALYST)["sub_lessees"]
    assert view["name"]["family"] == "Quellenhof"


class Crash(Exception):
    pass


def test_an_interrupted_rescreening_resumes_from_its_cursor(services: Services, screening: ScreeningService) -> None:
    """D4: a run cut short resumes where it stopped, without duplicate hits; one ledger entry per start."""
    account_id = reseller(services)
    bodies = [person(f"p-{n:02d}", "Anna", f"Muster{n}") for n in range(9)]
    for position in (1, 5, 8):
        bodies[position] = person(f"p-{position:02d}", "Viktor", "Bout", birth_date="1967-01-13", nationality="RU")
    share(services, screening, account_id, *bodies)
    publish(services)

    def crash_after_four(done: int, total: int) -> None:
        if done >= 4:
            raise Crash

    with pytest.raises(Crash):
        rescreen_sub_lessees(services, screening, IN_FORCE, batch_size=2, progress=crash_after_four)
    from cloudcip.resellers.schema import sub_lessee_rescreen_run

    with services.database.engine.connect() as conn:
        run = conn.execute(select(sub_lessee_rescreen_run)).one()
    assert (run.done, run.total, run.finished_at) == (4, 9, None)
    screened, new_hits, _effects = rescreen_sub_lessees(services, screening, IN_FORCE, batch_size=2)
    assert (screened, new_hits) == (9, 3)
    assert count(services, screening_hit) == 3
    assert [e["action"] for e in services.ledger.entries_for_record("sub_lessee_rescreen", run.id)] == [
        "rescreen", "rescreen_resume"]
    with services.database.engine.connect() as conn:
        assert conn.execute(select(sub_lessee_rescreen_run.c.finished_at)).scalar_one() is not None
    assert rescreen_sub_lessees(services, screening, IN_FORCE)[:2] == (9, 0)  # a new run, nothing new


def test_the_rescreening_job_reaches_sub_lessees(services: Services, screening: ScreeningService) -> None:
    """D4, E2: the re-screening job (``rescreen_all``) screens sub-lessees after the customers."""
    from cloudcip.runtime import sub_lessee_rescreen
    from cloudcip.screening.rescreen import rescreen_all

    account_id = reseller(services)
    [bout] = share(services, screening, account_id,
                   person("r-9", "Viktor", "Bout", birth_date="1967-01-13", nationality="RU"))
    share(services, screening, account_id, person("p-1", "Anna", "Muster"))
    publish(services)
    report = rescreen_all(services, "list updated", screening=screening, clock=lambda: IN_FORCE,
                          then=sub_lessee_rescreen(services))
    assert report.counts["sub_lessees"] == 2 and report.counts["sub_lessee_hits"] == 1
    assert report.new_hits >= 1
    with services.database.engine.connect() as conn:
        hits = hit_store.list_hits(conn, state="open")
    assert ("sub_lessee", bout["id"]) in {(hit.subject_type, hit.subject_id) for hit in hits}
