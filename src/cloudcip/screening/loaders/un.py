"""UN Security Council consolidated list (``CONSOLIDATED_LIST`` XML) → ``DesignatedParty`` (D3).

Read as a stream (``xml.etree.ElementTree.iterparse``): each ``INDIVIDUAL`` and ``ENTITY`` becomes a
party when its end tag is reached and is then dropped from memory. Malformed XML raises
``ListFormatError`` with the line the parser stopped at; an entry without DATAID or name raises it
with the element and its position (``element INDIVIDUAL #12``).
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from cloudcip.domain.designated import (
    DesignatedParty,
    ListedAddress,
    ListedDocument,
    ListedName,
    NameQuality,
)
from cloudcip.screening.loaders import ListFormatError, Progress
from cloudcip.screening.loaders.countries import country_code
from cloudcip.screening.loaders.remarks import parse_birth_dates, parse_single_date

_ENTRY_TAGS = {"INDIVIDUAL": "Person", "ENTITY": "Organization"}
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_LOW_QUALITY = {"low"}
_FAMILY_FIRST_LISTS = {"DPRK"}

_SCRIPTS = (
    ("ARABIC", "Arabic"),
    ("CYRILLIC", "Cyrillic"),
    ("CJK", "Han"),
    ("HANGUL", "Hangul"),
    ("HIRAGANA", "Japanese"),
    ("KATAKANA", "Japanese"),
    ("HEBREW", "Hebrew"),
    ("GREEK", "Greek"),
    ("DEVANAGARI", "Devanagari"),
    ("THAI", "Thai"),
    ("GEORGIAN", "Georgian"),
    ("ARMENIAN", "Armenian"),
    ("ETHIOPIC", "Ethiopic"),
    ("LATIN", "Latin"),
)


def guess_script(text: str) -> str | None:
    """The writing system of the first letter of ``text`` (``"Arabic"``, ``"Cyrillic"``, ``"Han"``...)."""
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            for prefix, script in _SCRIPTS:
                if name.startswith(prefix):
                    return script
            return None
    return None


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return " ".join(element.text.split())


def _child(element: ET.Element, tag: str) -> str:
    return _text(element.find(tag))


def _quality(raw: str) -> NameQuality:
    return "weak" if raw.strip().lower() in _LOW_QUALITY else "strong"


def _birth_dates(entry: ET.Element, tag: str) -> list[str]:
    dates: list[str] = []
    for dob in entry.iter(tag):
        found: list[str] = []
        date = _child(dob, "DATE")
        year = _child(dob, "YEAR")
        start, end = _child(dob, "FROM_YEAR"), _child(dob, "TO_YEAR")
        if date:
            single = parse_single_date(date)
            found = [single] if single else []
        elif year:
            found = parse_birth_dates(year)
        elif start and end:
            found = parse_birth_dates(f"{start} to {end}")
        elif start or end:
            found = parse_birth_dates(start or end)
        else:
            found = parse_birth_dates(_child(dob, "NOTE").replace("Between", "").replace(" and ", " to "))
        for value in found:
            if value not in dates:
                dates.append(value)
    return dates


def _document(element: ET.Element) -> ListedDocument | None:
    number = _child(element, "NUMBER")
    if not number:
        return None
    kind_text = _child(element, "TYPE_OF_DOCUMENT").lower()
    if "pass" in kind_text or "pasaporte" in kind_text:
        kind = "passport"
    elif "national" in kind_text or "identi" in kind_text:
        kind = "national_id"
    else:
        kind = "other"
    country = country_code(_child(element, "ISSUING_COUNTRY") or _child(element, "COUNTRY_OF_ISSUE"))
    notes = [n for n in (_child(element, "TYPE_OF_DOCUMENT2"), _child(element, "NOTE")) if n]
    return ListedDocument(kind=kind, number=number, country=country, note="; ".join(notes) or None)


def _address(element: ET.Element) -> ListedAddress | None:
    parts = [_child(element, tag) for tag in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")]
    text = ", ".join(p for p in parts if p)
    if not text:
        return None
    return ListedAddress(text=text, city=parts[1] or None, country=country_code(parts[4]))


def _party(entry: ET.Element, src: str, location: str, file: str) -> DesignatedParty:
    data_id = _child(entry, "DATAID")
    if not data_id:
        raise ListFormatError(file, location, "missing DATAID")
    parts = [_child(entry, tag) for tag in _NAME_PARTS]
    parts = [p for p in parts if p]
    if not parts:
        raise ListFormatError(file, location, "missing name")
    is_person = entry.tag == "INDIVIDUAL"
    list_type = _child(entry, "UN_LIST_TYPE")
    if is_person and len(parts) > 1 and list_type in _FAMILY_FIRST_LISTS:
        # Korean names on the DPRK list: FIRST_NAME holds the family name ("PAEK" of "PAEK CHANG-HO")
        primary = ListedName(full=" ".join(parts), given=" ".join(parts[1:]), family=parts[0])
    elif is_person and len(parts) > 1:
        primary = ListedName(full=" ".join(parts), given=" ".join(parts[:-1]), family=parts[-1])
    else:
        primary = ListedName(full=" ".join(parts))
    names = [primary]
    known = {primary.full.casefold()}
    original = _child(entry, "NAME_ORIGINAL_SCRIPT")
    if original and original.casefold() not in known:
        known.add(original.casefold())
        names.append(ListedName(full=original, quality="strong", script=guess_script(original)))
    for alias in entry.iter(f"{entry.tag}_ALIAS"):
        alias_name = _child(alias, "ALIAS_NAME")
        if alias_name and alias_name.casefold() not in known:
            known.add(alias_name.casefold())
            names.append(ListedName(full=alias_name, quality=_quality(_child(alias, "QUALITY"))))

    birth_dates = _birth_dates(entry, "INDIVIDUAL_DATE_OF_BIRTH")
    for alias in entry.iter(f"{entry.tag}_ALIAS"):
        alias_dob = parse_single_date(_child(alias, "DATE_OF_BIRTH")) if _child(alias, "DATE_OF_BIRTH") else None
        if alias_dob and alias_dob not in birth_dates:
            birth_dates.append(alias_dob)
    birth_places: list[str] = []
    for pob in entry.iter("INDIVIDUAL_PLACE_OF_BIRTH"):
        text = ", ".join(p for p in (_child(pob, t) for t in ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY")) if p)
        if text and text not in birth_places:
            birth_places.append(text)
    nationalities: list[str] = []
    for value in entry.iterfind("NATIONALITY/VALUE"):
        code = country_code(_text(value))
        if code and code not in nationalities:
            nationalities.append(code)
    documents: list[ListedDocument] = []
    for element in entry.iter("INDIVIDUAL_DOCUMENT"):
        document = _document(element)
        if document is not None and all(
            (d.kind, d.number, d.country) != (document.kind, document.number, document.country) for d in documents
        ):
            documents.append(document)
    addresses = [a for a in (_address(e) for e in entry.iter(f"{entry.tag}_ADDRESS")) if a is not None]
    gender = _child(entry, "GENDER").lower()
    reference = _child(entry, "REFERENCE_NUMBER")
    comments = _child(entry, "COMMENTS1")
    titles = [_text(v) for v in entry.iterfind("TITLE/VALUE") if _text(v)]
    designations = [_text(v) for v in entry.iterfind("DESIGNATION/VALUE") if _text(v)]
    remarks = "; ".join(
        p
        for p in (
            f"Reference number {reference}" if reference else "",
            f"Title {', '.join(titles)}" if titles else "",
            f"Designation {', '.join(designations)}" if designations else "",
            comments,
        )
        if p
    )
    return DesignatedParty(
        source=src,
        source_id=data_id,
        schema="Person" if is_person else "Organization",
        names=names,
        birth_dates=birth_dates,
        birth_places=birth_places,
        nationalities=nationalities,
        gender=gender if gender in ("male", "female") else None,
        addresses=addresses,
        documents=documents,
        programs=[list_type] if list_type else [],
        remarks=remarks or None,
    )


def _load_file(path: Path, src: str, parties: list[DesignatedParty], progress: Progress | None) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if b"\x00" in head:
        raise ListFormatError(path.name, "line 1", "binary content (NUL byte)")
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        # the UN list has no DTD; refusing one rules out entity expansion and external entities
        line = head.count(b"\n", 0, max(head.find(b"<!DOCTYPE"), head.find(b"<!ENTITY"))) + 1
        raise ListFormatError(path.name, f"line {line}", "document type declarations are not accepted")
    total = 0
    if progress is not None:  # a cheap estimate of the entries to come, for the progress bar
        with path.open("rb") as handle:
            data = handle.read()
        total = data.count(b"<INDIVIDUAL>") + data.count(b"<ENTITY>")
    counts = {tag: 0 for tag in _ENTRY_TAGS}
    published: str | None = None
    root_seen = False
    depth = 0
    try:
        for event, element in ET.iterparse(str(path), events=("start", "end")):  # noqa: S314 (no DTD, see above)
            if event == "start":
                depth += 1
                if not root_seen:
                    root_seen = True
                    if element.tag != "CONSOLIDATED_LIST":
                        raise ListFormatError(path.name, "element 1", "root is not CONSOLIDATED_LIST")
                    published = element.get("dateGenerated")
                elif element.tag in _ENTRY_TAGS and depth == 3:
                    counts[element.tag] += 1
                continue
            depth -= 1
            if element.tag in _ENTRY_TAGS and depth == 2:
                location = f"element {element.tag} #{counts[element.tag]}"
                parties.append(_party(element, src, location, path.name))
                element.clear()
                if progress is not None and len(parties) % 100 == 0:
                    progress(len(parties), max(total, len(parties)))
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 0
        reason = str(exc).split(":")[0] or "malformed XML"
        raise ListFormatError(path.name, f"line {line}", f"malformed XML ({reason})") from None
    return published


def load(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None]:
    """Parties of one UN consolidated-list publication; (parties, source, dateGenerated)."""
    src = source or "un-sc"
    parties: list[DesignatedParty] = []
    published: str | None = None
    for path in paths:
        published = _load_file(path, src, parties, progress) or published
    if progress is not None:
        progress(len(parties), len(parties))
    return parties, src, published
