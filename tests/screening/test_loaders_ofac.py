"""OFAC legacy CSV loader on synthetic fixtures (D3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudcip.domain.designated import ListedAddress, ListedDocument, ListedName
from cloudcip.screening.loaders import FORMATS, ListFormatError, load_publication
from cloudcip.screening.loaders.ofac import individual_name

FIXTURES = Path(__file__).parent / "fixtures"
OFAC_FILES = [FIXTURES / n for n in ("ofac_sdn.csv", "ofac_alt.csv", "ofac_add.csv", "ofac_comments.csv")]


def _by_id(paths: list[Path]) -> dict[str, object]:
    return {p.source_id: p for p in load_publication("ofac-csv", paths).parties}


def test_formats_are_the_published_ones() -> None:
    assert FORMATS == ("ofac-csv", "un-xml", "bis-dpl", "ftm-json", "own-csv")


def test_publication_metadata_and_file_roles_from_shape() -> None:
    # given in a shuffled order: roles come from the column counts, not from the order
    shuffled = [OFAC_FILES[2], OFAC_FILES[3], OFAC_FILES[0], OFAC_FILES[1]]
    publication = load_publication("ofac-csv", shuffled)
    assert publication.format == "ofac-csv"
    assert publication.source == "ofac-sdn"
    assert publication.files == ["ofac_add.csv", "ofac_comments.csv", "ofac_sdn.csv", "ofac_alt.csv"]
    assert len(publication.sha256) == 64
    assert publication.published is None
    assert [p.source_id for p in publication.parties] == ["1001", "1002", "1003", "1004", "1005", "1006"]
    again = load_publication("ofac-csv", OFAC_FILES)
    assert again.sha256 != publication.sha256  # the digest follows the order of the files
    assert {p.source_id for p in again.parties} == {p.source_id for p in publication.parties}


def test_roles_do_not_depend_on_file_names(tmp_path: Path) -> None:
    names = ["a.csv", "b.csv", "c.csv", "d.csv"]
    for src, name in zip(OFAC_FILES, names, strict=True):
        (tmp_path / name).write_bytes(src.read_bytes())
    publication = load_publication("ofac-csv", [tmp_path / n for n in names])
    assert publication.source == "ofac"
    party = next(p for p in publication.parties if p.source_id == "1002")
    assert ("LTC", "LExampleLitecoin1") in party.wallets  # from the comments file
    assert load_publication("ofac-csv", [tmp_path / n for n in names], source="mine").source == "mine"


def test_consolidated_source_guess(tmp_path: Path) -> None:
    target = tmp_path / "cons_prim.csv"
    target.write_bytes(OFAC_FILES[0].read_bytes())
    assert load_publication("ofac-csv", [target]).source == "ofac-cons"


def test_individual_names_and_aliases_with_quality() -> None:
    party = load_publication("ofac-csv", OFAC_FILES).parties[0]
    assert party.schema == "Person"
    assert party.names[0] == ListedName(
        full="Ivan Petrovich Kovalenko", quality="primary", given="Ivan Petrovich", family="Kovalenko"
    )
    assert ListedName(full="Ivan Kovalenko", quality="strong", given="Ivan", family="Kovalenko") in party.names
    assert any(n.full == "Ivan P. Kovalenkov" and n.quality == "strong" for n in party.names)  # fka in ALT
    assert ListedName(full="Vanya", quality="strong") in party.names  # a.k.a. in remarks
    assert ListedName(full="Ivan Kovalenkov", quality="strong") in party.names  # f.k.a. in remarks


def test_entity_aliases_weak_marker_and_types() -> None:
    parties = load_publication("ofac-csv", OFAC_FILES).parties
    company, vessel, aircraft = parties[1], parties[2], parties[3]
    assert company.schema == "Organization"
    assert [(n.full, n.quality) for n in company.names] == [
        ("EXAMPLE TRADING LLC", "primary"),
        ("EXAMPLE TRADING", "strong"),
        ("EXTRA TRADE CO", "weak"),
    ]
    assert vessel.schema == "Vessel" and aircraft.schema == "Aircraft"
    assert vessel.remarks == "Call Sign ABCD1; Vessel Type Tanker; Vessel Flag Panama."
    assert vessel.nationalities == ["PA"]  # the flag state
    assert vessel.documents == [
        ListedDocument(kind="registration", number="IMO 1234567", note="Vessel Registration Identification")
    ]


def test_remarks_facts() -> None:
    party = load_publication("ofac-csv", OFAC_FILES).parties[0]
    assert party.birth_dates == ["1970-01-01", "1971"]
    assert party.birth_places == ["Kyiv, Ukraine"]
    assert party.nationalities == ["RU"]
    assert party.citizenships == ["KP"]
    assert party.gender == "male"
    assert party.emails == ["ivan.k@example.org"]
    assert party.websites == ["www.example.org"]
    assert party.wallets == [
        ("XBT", "1ExampleXbtAddress0000000000000000"),
        ("ETH", "0xabc0000000000000000000000000000000000001"),
        ("XMR", "4ExampleMoneroAddress"),
        ("USDT", "TExampleTronAddress"),
        ("TRX", "TExampleTrx"),
        ("LTC", "LExampleLtc"),
    ]
    assert party.documents == [
        ListedDocument(kind="passport", number="AB123456", country="RU", note="issued 01 Jan 2010 expires 01 Jan 2020"),
        ListedDocument(kind="national_id", number="998877", country="RU"),
        ListedDocument(kind="tax_id", number="7701234567", country="RU"),
        ListedDocument(kind="national_id", number="12345678", country="CO", note="Cedula No"),
    ]
    assert party.programs == ["CYBER2", "SDGT"]
    assert party.remarks == "Linked To: EXAMPLE GROUP."  # what is not a fact stays
    assert party.addresses == [
        ListedAddress(text="Ulitsa Primernaya 1, Moscow 101000, Russia", city="Moscow 101000", country="RU")
    ]


def test_dob_variants_and_female() -> None:
    parties = load_publication("ofac-csv", OFAC_FILES).parties
    olga, pavel = parties[4], parties[5]
    assert olga.birth_dates == ["1980"] and olga.gender == "female" and olga.nationalities == ["MM"]
    assert pavel.birth_dates == ["1968", "1969", "1970", "1965-01", "1961", "1962"]
    assert pavel.remarks == "Former Minister of Examples."


def test_empty_address_rows_are_dropped_and_comments_join() -> None:
    parties = load_publication("ofac-csv", OFAC_FILES).parties
    assert parties[2].addresses == []
    company = parties[1]
    assert company.websites == ["example-trading.test"]
    assert company.wallets == [("LTC", "LExampleLitecoin1")]
    assert company.addresses == [ListedAddress(text="Tehran, Iran", city="Tehran", country="IR")]


def test_comments_continue_a_remark_cut_at_the_field_limit(tmp_path: Path) -> None:
    start = "Linked To: " + "X" * 950 + "; Digital Currency Address - XBT 1Abc"
    padding = "9" * (1000 - len(start))
    head = start + padding  # exactly the 1,000-character field, cut inside the address
    (tmp_path / "sdn.csv").write_text(f'7,"ROE, Jan","individual","CYBER2",{",".join(["-0-"] * 7)},"{head}"\n')
    (tmp_path / "comments.csv").write_text('7,"Def; Email Address jan@example.test."\n')
    party = load_publication("ofac-csv", [tmp_path / "sdn.csv", tmp_path / "comments.csv"]).parties[0]
    assert party.wallets == [("XBT", "1Abc" + padding + "Def")]
    assert party.emails == ["jan@example.test"]


def test_comments_after_a_complete_remark_start_a_new_clause(tmp_path: Path) -> None:
    (tmp_path / "sdn.csv").write_text(f'7,"ROE, Jan","individual","CYBER2",{",".join(["-0-"] * 7)},"DOB 1970."\n')
    (tmp_path / "comments.csv").write_text('7,"Gender Female."\n')
    party = load_publication("ofac-csv", [tmp_path / "sdn.csv", tmp_path / "comments.csv"]).parties[0]
    assert (party.birth_dates, party.gender) == (["1970"], "female")


def test_individual_name_helper() -> None:
    assert individual_name("DOE, John, Jr.") == ListedName(full="John Doe Jr.", given="John", family="Doe")
    assert individual_name("SINGLENAME").full == "SINGLENAME"
    assert individual_name("McKay, Anne").family == "McKay"  # mixed case kept as written


@pytest.mark.parametrize(
    ("content", "location", "reason"),
    [
        ('1,"A","individual",-0-\n', "line 1", "4 columns"),
        (f'1,"A",{",".join(["-0-"] * 10)}\n2,"B",-0-\n', "line 2", "expected 12 columns, found 3"),
        (f'x1,"A",{",".join(["-0-"] * 10)}\n', "line 1", "not an entry number"),
        (f"1,-0- ,{','.join(['-0-'] * 10)}\n", "line 1", "missing name"),
        (f'1,"A",{",".join(["-0-"] * 10)}\n2,"B"x,{",".join(["-0-"] * 10)}\n', "line 2", "bad CSV quoting"),
        (f'1,"A",{",".join(["-0-"] * 10)}\n1,"B",{",".join(["-0-"] * 10)}\n', "line 2", "repeated"),
    ],
)
def test_malformed_main_file(tmp_path: Path, content: str, location: str, reason: str) -> None:
    path = tmp_path / "sdn.csv"
    path.write_text(content)
    with pytest.raises(ListFormatError) as caught:
        load_publication("ofac-csv", [path])
    assert caught.value.file == "sdn.csv"
    assert caught.value.location == location
    assert reason in caught.value.reason
    assert str(caught.value) == f"sdn.csv: {location}: {caught.value.reason}"


def test_malformed_alt_file_and_missing_main(tmp_path: Path) -> None:
    alt = tmp_path / "alt.csv"
    alt.write_text('1,1,"aka","X",-0-\n1,2,"zzz","Y",-0-\n')
    with pytest.raises(ListFormatError) as caught:
        load_publication("ofac-csv", [OFAC_FILES[0], alt])
    assert (caught.value.file, caught.value.location) == ("alt.csv", "line 2")
    with pytest.raises(ListFormatError, match="expected one main"):
        load_publication("ofac-csv", [OFAC_FILES[1]])


def test_non_utf8_binary_and_empty(tmp_path: Path) -> None:
    bad = tmp_path / "sdn.csv"
    bad.write_bytes(b'1,"A",' + b",".join([b"-0-"] * 10) + b'\n2,"B\xff",' + b",".join([b"-0-"] * 10) + b"\n")
    with pytest.raises(ListFormatError, match=r"sdn\.csv: line 2: bytes that are not UTF-8"):
        load_publication("ofac-csv", [bad])
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ListFormatError, match="binary"):
        load_publication("ofac-csv", [binary])
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(ListFormatError, match="no entries"):
        load_publication("ofac-csv", [empty])


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown list format"):
        load_publication("pdf", OFAC_FILES)
    with pytest.raises(ListFormatError, match="not found"):
        load_publication("ofac-csv", [tmp_path / "absent.csv"])
    with pytest.raises(ListFormatError, match="no input files"):
        load_publication("ofac-csv", [])


def test_progress_reports_completion() -> None:
    calls: list[tuple[int, int]] = []
    load_publication("ofac-csv", [str(p) for p in OFAC_FILES], progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6)
