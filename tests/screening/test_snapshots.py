"""List snapshots (D3, D4): versioned, all-or-nothing imports; no-op re-imports; diffs; the demo list."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cloudcip.domain.designated import DesignatedParty, ListedAddress, ListedDocument, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening import snapshots as snaps
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.schema import list_party, list_snapshot
from cloudcip.screening.service import ScreeningService

OFFICER = Actor("test:officer", "compliance-officer")


def person(source_id: str, name: str, birth: str | None = None, nationality: str | None = None) -> DesignatedParty:
    return DesignatedParty(source="test", source_id=source_id, schema="Person", names=[ListedName(name)],
                           birth_dates=[birth] if birth else [], nationalities=[nationality] if nationality else [])


def publication(parties: list[DesignatedParty], source: str = "test") -> ListPublication:
    digest = hashlib.sha256(json.dumps([snaps.party_document(p) for p in parties], sort_keys=True).encode())
    return ListPublication(format="own-csv", source=source, parties=parties, files=["/secret/dir/list.csv"],
                           sha256=digest.hexdigest(), published="2026-01-01")


def counts(services: Services) -> tuple[int, int]:
    with services.database.engine.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(list_snapshot)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(list_party)).scalar_one()))


def test_party_document_round_trips() -> None:
    party = DesignatedParty(
        source="test", source_id="7", schema="Organization",
        names=[ListedName("ACME TRADING LLC"), ListedName("Акме", quality="weak", script="Cyrillic")],
        addresses=[ListedAddress("1 Main St", city="Minsk", country="BY")],
        documents=[ListedDocument("registration", "12345", country="BY")],
        emails=["x@example.com"], wallets=[("XBT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")], programs=["SDGT"],
    )
    assert snaps.party_from_document(json.loads(snaps.canonical(snaps.party_document(party)))) == party


def test_import_is_versioned_on_the_ledger_and_a_same_hash_reimport_is_a_noop(services: Services) -> None:
    size = services.ledger.size()
    first = snaps.import_publication(services, publication([person("1", "Ivan Petrov"), person("2", "Ali Hassan")]),
                                     OFFICER)
    assert (first.version, first.parties, first.unchanged) == (1, 2, False)
    assert services.ledger.size() == size + 1
    entry = services.ledger.entries_for_record("list_snapshot", first.snapshot_id)
    assert len(entry) == 1
    again = snaps.import_publication(services, publication([person("1", "Ivan Petrov"), person("2", "Ali Hassan")]),
                                     OFFICER)
    assert again.unchanged and again.snapshot_id == first.snapshot_id
    assert counts(services) == (1, 2)
    assert services.ledger.size() == size + 1
    with services.database.engine.connect() as conn:
        [info] = snaps.snapshots(conn)
    assert info.files == ["list.csv"]  # file names only, never the operator's directories


def test_new_publication_takes_over_and_diff_tells_what_changed(services: Services) -> None:
    snaps.import_publication(services, publication([person("1", "Ivan Petrov"), person("2", "Ali Hassan"),
                                                    person("3", "Kim Sun")]), OFFICER)
    second = snaps.import_publication(services, publication([
        person("1", "Ivan Petrov"), person("3", "Kim Sun Ok"), person("4", "Maria Lopez")]), OFFICER)
    assert second.version == 2 and second.previous_snapshot_id is not None
    with services.database.engine.connect() as conn:
        [in_force] = snaps.in_force_snapshots(conn)
        assert in_force.id == second.snapshot_id
        older, newer = snaps.latest_two(conn, "test")
        diff = snaps.diff_snapshots(conn, older, newer)
        assert (diff.added, diff.removed, diff.changed) == (["4"], ["2"], ["3"])
        assert snaps.find_snapshot(conn, "test@1").id == older.id
        assert snaps.find_snapshot(conn, "2", "test").id == newer.id
        with pytest.raises(snaps.SnapshotNotFound):
            snaps.find_snapshot(conn, "test@9")
    service = ScreeningService(services)
    assert {h.party_id for h in service.screen_person("Maria Lopez").hits} == {"4"}
    assert service.screen_person("Ali Hassan").hits == []  # removed from the in-force snapshot


def test_a_failed_import_stores_nothing_and_the_previous_snapshot_stays(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    first = snaps.import_publication(services, publication([person("1", "Ivan Petrov")]), OFFICER)
    size = services.ledger.size()
    monkeypatch.setattr(snaps, "INSERT_CHUNK", 5)
    big = publication([person(str(i), f"Person Number{i}") for i in range(40)])

    def crash(done: int, total: int) -> None:
        if done >= 10:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        snaps.import_publication(services, big, OFFICER, progress=crash)
    assert counts(services) == (1, 1)
    assert services.ledger.size() == size
    with services.database.engine.connect() as conn:
        assert [s.id for s in snaps.in_force_snapshots(conn)] == [first.snapshot_id]


def test_repeated_source_ids_stay_distinct_entries(services: Services) -> None:
    result = snaps.import_publication(services, publication([person("9", "Ivan Petrov"), person("9", "Ivan Petrov")]),
                                      OFFICER)
    with services.database.engine.connect() as conn:
        ids = [p.source_id for p, _ in snaps.snapshot_parties(conn, result.snapshot_id)]
    assert ids == ["9", "9#2"]


def test_demo_list_is_invented_deterministic_and_screenable(services: Services) -> None:
    demo = snaps.generate_demo_list(30)
    assert len(demo.parties) == 30 and demo.source == "demo"
    assert snaps.generate_demo_list(30).sha256 == demo.sha256
    assert {p.schema for p in demo.parties} == {"Person", "Organization"}
    snaps.import_publication(services, demo, OFFICER)
    listed = next(p for p in demo.parties if p.schema == "Person" and p.birth_dates)
    result = ScreeningService(services).screen_person(listed.names[0].full, listed.birth_dates[0])
    assert result.band == "block"
    assert result.hits[0].party_id == listed.source_id


@pytest.mark.shared_data
def test_real_un_list_imports_and_reimports_as_a_noop(services: Services, shared_data: Path) -> None:
    pytest.importorskip("cloudcip.screening.loaders.un")
    from cloudcip.screening.loaders import load_publication

    path = shared_data / "lists" / "un_consolidated_2026-02-27.xml"
    loaded = load_publication("un-xml", [path])
    result = snaps.import_publication(services, loaded, OFFICER)
    assert result.parties == len(loaded.parties) > 500
    assert snaps.import_publication(services, load_publication("un-xml", [path]), OFFICER).unchanged
    with services.database.engine.connect() as conn:
        stored = dict((p.source_id, p) for p, _ in snaps.snapshot_parties(conn, result.snapshot_id))
    sample = loaded.parties[len(loaded.parties) // 2]
    assert stored[sample.source_id].names == sample.names
