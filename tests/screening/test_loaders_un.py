"""UN Security Council consolidated XML loader on synthetic fixtures (D3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudcip.domain.designated import ListedAddress, ListedDocument, ListedName
from cloudcip.screening.loaders import ListFormatError, load_publication
from cloudcip.screening.loaders.un import guess_script

UN_XML = Path(__file__).parent / "fixtures" / "un.xml"


def test_publication() -> None:
    publication = load_publication("un-xml", [UN_XML])
    assert publication.source == "un-sc"
    assert publication.published == "2026-01-15T00:00:00.000Z"
    assert [(p.source_id, p.schema) for p in publication.parties] == [
        ("900001", "Person"),
        ("900002", "Person"),
        ("900101", "Organization"),
    ]


def test_individual() -> None:
    party = load_publication("un-xml", [UN_XML]).parties[0]
    assert party.names == [
        # the fixture is on the DPRK list: FIRST_NAME is the family name there
        ListedName(full="TARAS HRYHORENKO EXAMPLOVYCH", given="HRYHORENKO EXAMPLOVYCH", family="TARAS"),
        ListedName(full="Тарас Григоренко", quality="strong", script="Cyrillic"),
        ListedName(full="Taras Hryhorenko", quality="strong"),
        ListedName(full="Tarik", quality="weak"),  # QUALITY Low
        ListedName(full="Taras Grigorenko", quality="strong"),  # QUALITY a.k.a.; the empty alias is dropped
    ]
    assert party.birth_dates == ["1965-03-02", "1963", "1964", "1966-03-02"]  # DATE, FROM/TO, alias DOB
    assert party.birth_places == ["Kharkiv, Ukraine"]
    assert party.nationalities == ["KP", "RU"]
    assert party.gender == "male"
    assert party.documents == [
        ListedDocument(kind="passport", number="PX 990011", country="RU"),
        ListedDocument(kind="national_id", number="1-23-456", note="Example ID"),
    ]
    assert party.addresses == [
        ListedAddress(
            text="1 Example Street, Pyongyang, Democratic People's Republic of Korea", city="Pyongyang", country="KP"
        )
    ]
    assert party.programs == ["DPRK"]
    assert party.remarks == "Reference number KPi.901; Synthetic test entry."


def test_year_and_note_dates_and_entity() -> None:
    parties = load_publication("un-xml", [UN_XML]).parties
    assert parties[1].birth_dates == ["1977", "1973-11"]
    assert parties[1].names == [ListedName(full="AMINA")]
    entity = parties[2]
    assert [(n.full, n.quality, n.script) for n in entity.names] == [
        ("EXAMPLE HOLDINGS NETWORK", "primary", None),
        ("예시 지주 네트워크", "strong", "Hangul"),
        ("Example Trading Network", "strong", None),  # f.k.a.
    ]
    assert entity.addresses == [ListedAddress(text="Dandong, China", city="Dandong", country="CN")]


def test_guess_script() -> None:
    assert guess_script("صدام") == "Arabic"
    assert guess_script("王") == "Han"
    assert guess_script("- Anna") == "Latin"
    assert guess_script("123") is None


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "un.xml"
    path.write_text(body, encoding="utf-8")
    return path


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    text = UN_XML.read_text(encoding="utf-8").replace(
        "<SECOND_NAME>HRYHORENKO</SECOND_NAME>", "<SECOND_NAME>X</SECOND>"
    )
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "</SECOND>" in row)
    with pytest.raises(ListFormatError) as caught:
        load_publication("un-xml", [_write(tmp_path, text)])
    assert caught.value.file == "un.xml"
    assert caught.value.location == f"line {line}"
    assert "malformed XML" in caught.value.reason


def test_entry_without_name_or_id_names_the_element(tmp_path: Path) -> None:
    text = UN_XML.read_text(encoding="utf-8").replace("<FIRST_NAME>AMINA</FIRST_NAME>", "")
    with pytest.raises(ListFormatError, match=r"un\.xml: element INDIVIDUAL #2: missing name"):
        load_publication("un-xml", [_write(tmp_path, text)])
    text = UN_XML.read_text(encoding="utf-8").replace("<DATAID>900101</DATAID>", "")
    with pytest.raises(ListFormatError, match=r"element ENTITY #1: missing DATAID"):
        load_publication("un-xml", [_write(tmp_path, text)])


def test_wrong_root_doctype_empty_and_binary(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="CONSOLIDATED_LIST"):
        load_publication("un-xml", [_write(tmp_path, "<OTHER/>")])
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<CONSOLIDATED_LIST>&a;</CONSOLIDATED_LIST>'
    with pytest.raises(ListFormatError, match="line 2: document type declarations"):
        load_publication("un-xml", [_write(tmp_path, bomb)])
    with pytest.raises(ListFormatError, match="no entries"):
        load_publication("un-xml", [_write(tmp_path, "<CONSOLIDATED_LIST><INDIVIDUALS/></CONSOLIDATED_LIST>")])
    binary = tmp_path / "b.xml"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ListFormatError, match="binary"):
        load_publication("un-xml", [binary])
    truncated = UN_XML.read_text(encoding="utf-8")[:2000]
    with pytest.raises(ListFormatError, match="malformed XML"):
        load_publication("un-xml", [_write(tmp_path, truncated)])


def test_progress(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    load_publication("un-xml", [UN_XML], progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
