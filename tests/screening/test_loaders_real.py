"""The list loaders on the real published lists in ../shared/data/lists (D3)."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

from cloudcip.domain.designated import DesignatedParty, ListedDocument, ListedName
from cloudcip.screening.loaders import ListPublication, load_publication

LISTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "lists"
pytestmark = pytest.mark.shared_data

SDN = ["ofac_sdn_2021.csv", "ofac_alt_2021.csv", "ofac_add_2021.csv", "ofac_sdn_comments_2021.csv"]


def _load(fmt: str, names: list[str]) -> ListPublication:
    paths = [LISTS / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"real list files absent from {LISTS}: {', '.join(missing)}")
    return load_publication(fmt, paths)


@pytest.fixture(scope="module")
def sdn() -> dict[str, DesignatedParty]:
    start = time.perf_counter()
    publication = _load("ofac-csv", SDN)
    assert time.perf_counter() - start < 20
    assert publication.source == "ofac-sdn"
    return {p.source_id: p for p in publication.parties}


def test_sdn_counts(sdn: dict[str, DesignatedParty]) -> None:
    assert len(sdn) == 8976
    schemas = collections.Counter(p.schema for p in sdn.values())
    assert schemas == {"Person": 4620, "Organization": 3673, "Vessel": 406, "Aircraft": 277}
    # every ALT row names an alias of a listed entry, a few repeat the primary name
    assert sum(len(p.names) for p in sdn.values()) > 8976 + 11_000
    assert sum(len(p.wallets) for p in sdn.values()) == 97  # every "Digital Currency Address" clause


def test_sdn_cyber2_entries_carry_dobs_and_wallets(sdn: dict[str, DesignatedParty]) -> None:
    cyber = [p for p in sdn.values() if "CYBER2" in p.programs]
    assert len(cyber) == 161
    assert sum(1 for p in cyber if p.birth_dates) >= 95
    assert sum(1 for p in cyber if p.wallets) >= 12
    belan = sdn["21324"]
    assert belan.names[0] == ListedName(full="Aleksey Alekseyevich Belan", given="Aleksey Alekseyevich", family="Belan")
    assert belan.birth_dates == ["1987-06-27"]
    assert belan.nationalities == ["LV"]
    assert ListedDocument(kind="passport", number="RU0313455106", country="RU") in belan.documents
    assert ListedName(full="Mrmagister", quality="strong") in belan.names
    assert belan.programs == ["CYBER2"]


def test_sdn_comments_file_completes_cut_remarks(sdn: dict[str, DesignatedParty]) -> None:
    andreyev = sdn["29703"]  # remarks cut inside "Digital Currency Address", continued in COMMENTS
    assert ("ETH", "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c") in andreyev.wallets
    assert ("ZEC", "t1WSKwCDL1QYRRUrCCknEs5tDLhtGVYu9KM") in andreyev.wallets
    assert ("XBT", "1Fz29BQp82pE3vXXcsZoMNQ3KSHfMzfMe3") in andreyev.wallets
    assert len(andreyev.wallets) == 17
    assert andreyev.birth_dates == ["1985-03-03"] and andreyev.gender == "male"
    assert ListedDocument(kind="passport", number="4005504207", country="RU") in andreyev.documents
    tian = sdn["28263"]  # cut inside an a.k.a.
    assert ListedName(full="snowsjohn", quality="strong") in tian.names
    assert tian.birth_dates == ["1986-07-12"]


def test_consolidated_list() -> None:
    publication = _load("ofac-csv", ["ofac_cons_prim.csv", "ofac_cons_alt.csv"])
    assert publication.source == "ofac-cons"
    assert len(publication.parties) == 442
    haniya = next(p for p in publication.parties if p.source_id == "9639")
    assert haniya.birth_dates == ["1962"] and haniya.programs == ["NS-PLC"]
    assert ListedName(full="Ismail Haniya", quality="strong", given="Ismail", family="Haniya") in haniya.names


def test_un_counts_and_facts() -> None:
    publication = _load("un-xml", ["un_consolidated_2026-02-27.xml"])
    assert publication.source == "un-sc"
    assert publication.published == "2026-02-27T00:00:09.554Z"
    schemas = collections.Counter(p.schema for p in publication.parties)
    assert schemas == {"Person": 730, "Organization": 273}
    parties = {p.source_id: p for p in publication.parties}
    saddam = parties["6908048"]
    assert saddam.names[0] == ListedName(full="SADDAM HUSSEIN AL-TIKRITI", given="SADDAM HUSSEIN", family="AL-TIKRITI")
    assert ListedName(full="صدام حسين التكريتي", quality="strong", script="Arabic") in saddam.names
    assert saddam.birth_dates == ["1937-04-28"]
    assert saddam.programs == ["Iraq"]
    paek = parties["690747"]
    assert (paek.names[0].family, paek.nationalities) == ("PAEK", ["KP"])
    assert [d.number for d in paek.documents if d.kind == "passport"] == ["381420754"]
    weak = sum(1 for p in publication.parties for n in p.names if n.quality == "weak")
    assert weak == 615  # every QUALITY Low alias


def test_bis_dpl() -> None:
    publication = _load("bis-dpl", ["bis_dpl.txt"])
    assert len(publication.parties) == 415  # 546 rows, one party per name
    assert sum(len(p.addresses) for p in publication.parties) >= 540
    schemas = collections.Counter(p.schema for p in publication.parties)
    assert schemas["Person"] > 250 and schemas["Organization"] > 80 and schemas["Unknown"] < 10
    ats = next(p for p in publication.parties if p.primary_name == "ADVANCED TECH SOLUTIONS")
    assert ats.schema == "Organization" and len(ats.addresses) == 2 and ats.addresses[0].country == "SY"
