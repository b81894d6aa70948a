"""The special-measures register (D1) and which measures apply to a screened person (D4)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening import measures as register
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.location import LocationEvidence, decide_location
from cloudcip.screening.reach import Standing
from cloudcip.screening.service import QueryFieldError, ScreeningService
from cloudcip.screening.snapshots import import_publication

OFFICER = Actor("test:officer", "compliance-officer")
DETERMINED = date(2026, 1, 15)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def add(services: Services, **overrides: object) -> register.Measure:
    arguments: dict[str, object] = {"kind": "jurisdiction", "target": "IR", "measure": "prohibit",
                                    "determination_date": DETERMINED}
    arguments.update(overrides)
    return register.add_measure(services, OFFICER, clock=clock, **arguments)  # type: ignore[arg-type]


def test_profile_defaults_are_read_from_the_shipped_profile() -> None:
    defaults = register.MeasureDefaults.from_profile("eo13984-nprm-2024")
    assert (defaults.lead_time_days, defaults.duration_days) == (180, 365)
    assert register.MeasureDefaults.from_profile("no-such-profile") == register.MeasureDefaults()


def test_dates_default_from_the_profile_and_an_early_effective_date_is_refused(services: Services) -> None:
    measure = add(services)
    assert measure.effective_date == DETERMINED + timedelta(days=180)
    assert measure.expires_on == measure.effective_date + timedelta(days=365)
    assert measure.covers_resellers
    with pytest.raises(register.MeasureRefused) as refused:
        add(services, effective_date=DETERMINED + timedelta(days=90))
    assert refused.value.fields[0].field == "effective_date"
    assert "lead time of 180 days" in refused.value.reason
    later = add(services, effective_date=DETERMINED + timedelta(days=200), duration_days=30)
    assert later.expires_on == DETERMINED + timedelta(days=230)


def test_targets_are_validated(services: Services) -> None:
    assert add(services, target="ua-43").covered == ("UA-43",)
    crimea = add(services, target="Crimea", measure="conditions", conditions=["no_gpu", "enhanced_monitoring"])
    assert crimea.target == "crimea" and set(crimea.covered) == {"CRIMEA", "UA-43", "UA-40"}
    assert crimea.conditions == ["enhanced_monitoring", "no_gpu"]
    assert add(services, target="donetsk").target == "dnr"
    for target in ("XX", "ZZ-99", "Atlantis", "IRN"):
        with pytest.raises(register.MeasureRefused) as refused:
            add(services, target=target)
        assert refused.value.fields[0].field == "target"
    listed = add(services, kind="person", target="ofac-sdn:12345")
    assert listed.listed_entry() == ("ofac-sdn", "12345")
    described = add(services, kind="person", target={"name": "Ivan Petrov", "birth_date": "1970", "nationality": "ru"})
    person = described.described_person()
    assert person is not None and person.nationality == "RU"
    for bad, field in ((("kind", "planet"),), "kind"), ((("measure", "ban"),), "measure"), \
            ((("kind", "person"), ("target", "no colon")), "target"), \
            ((("kind", "person"), ("target", {"name": "X", "birth_date": "19xx"})), "target.birth_date"), \
            ((("measure", "conditions"),), "conditions"), \
            ((("measure", "conditions"), ("conditions", ["free_pizza"])), "conditions"), \
            ((("conditions", ["no_gpu"]),), "conditions"), \
            ((("duration_days", 0),), "duration_days"):
        with pytest.raises(register.MeasureRefused) as refused:
            add(services, **dict(bad))
        assert refused.value.fields[0].field == field


def test_extend_and_revoke_are_on_the_ledger(services: Services) -> None:
    measure = add(services)
    later = NOW + timedelta(days=1)
    extended = register.extend_measure(services, OFFICER, measure.id, 90, "determination renewed",
                                       clock=lambda: later)
    assert extended.expires_on == measure.expires_on + timedelta(days=90)
    assert extended.extensions == [{"days": 90, "reason": "determination renewed", "at": later.isoformat(),
                                    "by": OFFICER.name}]
    with pytest.raises(register.MeasureRefused):
        register.extend_measure(services, OFFICER, measure.id, 10, "  ")
    revoked = register.revoke_measure(services, OFFICER, measure.id, "rescinded by Commerce", clock=clock)
    assert revoked.revoked_at is not None and revoked.status(date(2026, 8, 1)) == "revoked"
    with pytest.raises(register.MeasureRefused):
        register.extend_measure(services, OFFICER, measure.id, 10, "too late")
    with pytest.raises(register.MeasureRefused):
        register.revoke_measure(services, OFFICER, measure.id, "again")
    with pytest.raises(register.MeasureNotFound):
        register.revoke_measure(services, OFFICER, "00000000-0000-0000-0000-000000000000", "none")
    actions = [e["action"] for e in services.ledger.entries_for_record("special_measure", measure.id)]
    assert actions == ["create", "extend", "revoke"]


def test_status_follows_the_dates(services: Services) -> None:
    measure = add(services)
    assert measure.status(measure.effective_date - timedelta(days=1)) == "determined"
    assert measure.status(measure.effective_date) == "in_force"
    assert measure.status(measure.expires_on - timedelta(days=1)) == "in_force"
    assert measure.status(measure.expires_on) == "expired"


def test_jurisdiction_matching() -> None:
    def measure(target: str) -> register.Measure:
        m = register.Measure("id", "jurisdiction", target, "prohibit", [], None, DETERMINED, DETERMINED, 1,
                             DETERMINED, [], True, NOW, None, None)
        m.covered = register.jurisdiction_codes(target)
        return m

    iran, crimea, kharkiv = measure("IR"), measure("crimea"), measure("UA-63")
    assert iran.applies_to_jurisdiction("IR") and iran.applies_to_jurisdiction("ir-23")
    assert not iran.applies_to_jurisdiction("IQ")
    assert crimea.applies_to_jurisdiction("UA-40") and crimea.applies_to_jurisdiction("crimea")
    assert not crimea.applies_to_jurisdiction("UA")  # a subdivision measure needs the subdivision
    assert kharkiv.applies_to_jurisdiction("UA-63") and not kharkiv.applies_to_jurisdiction("UA-43")


def _publish(services: Services) -> None:
    parties = [DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                               birth_dates=["1967-01-13"], nationalities=["RU"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [], hashlib.sha256(b"1").hexdigest()),
                       OFFICER)


def test_screen_person_combines_hits_and_measures(services: Services) -> None:
    _publish(services)
    in_force_on = DETERMINED + timedelta(days=200)
    iran = add(services)
    crimea = add(services, target="crimea", measure="conditions", conditions=["no_gpu"])
    listed = add(services, kind="person", target="test:42")
    described = add(services, kind="person", target={"name": "Ramzan Kadyrov", "birth_date": "1976-10-05"})
    expired = add(services, target="SY", duration_days=1)
    service = ScreeningService(services, today=lambda: in_force_on)

    result = service.screen_person("Viktor Bout", "1967-01-13", "RU")
    assert result.band == "block"
    assert [m.measure.id for m in result.measures_applying] == [listed.id]
    assert result.measures_applying[0].status == "in_force"

    result = service.screen_person("Anna Schmidt", None, "IR", jurisdictions=["DE", "UA-43"])
    assert result.band == "clear" and result.hits == []
    # D2: a nationality alone never brings a jurisdiction measure; stated locations do
    assert {m.measure.id for m in result.measures_applying} == {crimea.id}
    in_iran = Standing("customer", "foreign_person", "foreign",
                       decide_location(LocationEvidence(address_country="IR", nationalities=["IR"])))
    result = service.screen_person("Anna Schmidt", None, "IR", standing=in_iran)
    assert {m.measure.id for m in result.measures_applying} == {iran.id}
    assert result.measures_applying[0].evidence == "address_country (strong), nationalities (weak)"
    us_citizen = Standing("customer", "us_person", "us_citizen", in_iran.location)
    result = service.screen_person("Anna Schmidt", None, "IR", standing=us_citizen)
    assert result.measures_applying == []  # D1: a jurisdiction measure does not reach a U.S. person
    assert [(m.measure.id, m.outcome) for m in result.measures_considered] == [(iran.id, "not_reached")]

    result = service.screen_person("Ramzan Kadyrov", "1976-10-05", jurisdictions=["SY"])
    assert {m.measure.id for m in result.measures_applying} == {described.id}  # SY has expired
    assert expired.status(in_force_on) == "expired"

    early = ScreeningService(services, today=lambda: DETERMINED).screen_person("Someone Else", None, "IR",
                                                                               jurisdictions=["IR"])
    assert [(m.measure.id, m.status) for m in early.measures_applying] == [(iran.id, "determined")]

    register.revoke_measure(services, OFFICER, iran.id, "lifted", clock=clock)
    service.invalidate()
    assert service.screen_person("Anna Schmidt", None, "IR", jurisdictions=["IR"]).measures_applying == []


def test_the_index_is_rebuilt_only_when_snapshots_change(services: Services) -> None:
    ticks = [0.0]
    service = ScreeningService(services, check_interval=10.0, monotonic=lambda: ticks[0])
    assert service.screen_person("Viktor Bout").hits == []
    _publish(services)
    assert service.screen_person("Viktor Bout").hits == []  # checked again only after the interval
    ticks[0] = 11.0
    assert [h.party_id for h in service.screen_person("Viktor Bout").hits] == ["42"]
    rebuilds = service.rebuilds
    ticks[0] = 30.0
    service.screen_person("Viktor Bout")
    assert service.rebuilds == rebuilds  # nothing changed: no rebuild


def test_bad_names_are_clear_errors(services: Services) -> None:
    service = ScreeningService(services)
    for bad in ("", "   ", "x" * 100_000, "\x00\x01"):
        with pytest.raises(ValueError):
            service.screen_person(bad)
    for birth, nationality, field in (("1967-02-30", None, "birth_date"), ("67", None, "birth_date"),
                                      (None, "RUS", "nationality"), (None, "1A", "nationality")):
        with pytest.raises(QueryFieldError) as refused:
            service.screen_person("Viktor Bout", birth, nationality)
        assert refused.value.fields[0].field == field
    assert service.screen_person("Viktor Bout", "1967-01", "RU").band == "clear"  # no list imported
