"""U.S. Commerce BIS Denied Persons List (tab-separated, quoted, with header) → ``DesignatedParty`` (D3).

The file has one row per name and address; rows with the same name are one party with several
addresses. The list says nothing of the kind of party, so the schema is guessed from the name's
shape: legal forms and business words make an organisation, two to five plain words a person, and
anything else stays ``Unknown``. Entries have no id; ``source_id`` is a digest of the folded name, so
it stays the same from one publication to the next while the name does.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Sequence
from pathlib import Path

from cloudcip import clock
from cloudcip.domain.designated import DesignatedParty, ListedAddress, ListedName, PartySchema
from cloudcip.screening.loaders import ListFormatError, Progress, read_list_text
from cloudcip.screening.loaders.countries import country_code

REQUIRED_COLUMNS = ("Name", "Street_Address", "City", "State", "Country", "Postal_Code")

_ORGANISATION_WORDS = re.compile(
    r"\b(?:LTD|LLC|L\.L\.C|INC|CO|CORP|CORPORATION|COMPANY|LIMITED|GMBH|AG|S\.?A|S\.?A\.?R\.?L|B\.?V|PLC|PVT|"
    r"LLP|SRL|SPA|FZE|FZCO|TRADING|TRADE|AIRLINES?|GROUP|INTERNATIONAL|INDUSTR\w*|ELECTRONI\w*|TECHNOLOG\w*|"
    r"TECH|SERVICES?|ENGINEERING|SOLUTIONS|EXPORTS?|IMPORTS?|SUPPLY|SYSTEMS|ENTERPRISES?|HOLDINGS?|"
    r"AVIATION|LOGISTICS|SHIPPING|FREIGHT|MACHINERY|INSTITUTE|UNIVERSITY|BANK|FOUNDATION|ASSOCIATES|"
    r"PARTNERS|CENTER|CENTRE|LABORATOR\w*|MANUFACTURING|CONSTRUCTION|CONTRACTING|COOLING|TOWERS|"
    r"DEVELOPMENT|RESOURCES|COMMERCIAL|NETWORKS?|EQUIPMENT|PRODUCTS|MATERIALS|INSTRUMENTS|COMPONENTS)\b\.?"
)
_PERSON_SHAPE = re.compile(r"^[A-Z(][A-Z.'()\-]*,?(?:\s+[A-Z(][A-Z.'()\-]*){1,5}$")
_PERSON_NOISE = re.compile(r',?\s+(?:JR|SR|II|III|IV)\.?$|"[^"]*"')
_WEB_NAME = re.compile(r"\.(?:NET|COM|ORG|INFO|BIZ)\b|\bS\.L\b")
_AKA = re.compile(r"\s+(?:A/K/A|AKA|A\.K\.A\.)\s+")


def guess_schema(name: str) -> PartySchema:
    """Person, Organization or Unknown from the shape of a BIS name (upper-case, natural order)."""
    upper = name.upper()
    if _ORGANISATION_WORDS.search(upper) or _WEB_NAME.search(upper) or "&" in upper:
        return "Organization"
    if any(ch.isdigit() for ch in upper):
        return "Organization"
    if _PERSON_SHAPE.match(" ".join(_PERSON_NOISE.sub(" ", upper).split())):
        return "Person"
    return "Unknown"


def _fold(name: str) -> str:
    return " ".join(name.replace(" ,", ",").split()).upper()


def _source_id(folded: str) -> str:
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:16]


def _published(last_updates: list[str]) -> str | None:
    today = clock.today()
    best: dt.date | None = None
    for value in last_updates:
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            continue
        if day <= today and (best is None or day > best):
            best = day
    return best.isoformat() if best else None


def load(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None]:
    """Parties of one BIS Denied Persons List publication; (parties, source, latest Last_Update)."""
    src = source or "bis-dpl"
    parties: dict[str, DesignatedParty] = {}
    last_updates: list[str] = []
    for path in paths:
        _load_file(path, src, parties, last_updates, progress)
    return list(parties.values()), src, _published(last_updates)


def _load_file(
    path: Path,
    src: str,
    parties: dict[str, DesignatedParty],
    last_updates: list[str],
    progress: Progress | None,
) -> None:
    text = read_list_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quotechar='"', strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ListFormatError(path.name, "file", "no entries")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ListFormatError(path.name, "line 1", f"not a BIS DPL header (missing {', '.join(missing)})")
        column = {name: index for index, name in enumerate(header)}
        total = max(text.count("\n"), 1)
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != len(header):
                raise ListFormatError(path.name, f"line {line}", f"expected {len(header)} columns, found {len(cells)}")

            def cell(name: str, cells: list[str] = cells) -> str:
                index = column.get(name)
                return " ".join(cells[index].split()) if index is not None else ""

            name = cell("Name")
            if not name:
                raise ListFormatError(path.name, f"line {line}", "missing name")
            folded = _fold(name)
            party = parties.get(folded)
            if party is None:
                written = [part.strip() for part in _AKA.split(folded) if part.strip()]
                party = DesignatedParty(
                    source=src,
                    source_id=_source_id(folded),
                    schema=guess_schema(written[0]),
                    names=[ListedName(full=written[0])]
                    + [ListedName(full=alias, quality="strong") for alias in written[1:]],
                    programs=["DPL"],
                    remarks=_remarks(cell),
                )
                parties[folded] = party
            city = ", ".join(p for p in (cell("City"), cell("State")) if p)
            text = ", ".join(p for p in (cell("Street_Address"), city, cell("Postal_Code"), cell("Country")) if p)
            if text:
                address = ListedAddress(text=text, city=cell("City") or None, country=country_code(cell("Country")))
                if address not in party.addresses:
                    party.addresses.append(address)
            if cell("Last_Update"):
                last_updates.append(cell("Last_Update"))
            if progress is not None and line % 100 == 0:
                progress(min(line, total), total)
    except csv.Error as exc:
        raise ListFormatError(path.name, f"line {reader.line_num}", f"bad quoting ({exc})") from None


def _remarks(cell: object) -> str | None:
    assert callable(cell)
    parts = []
    for label, column in (("Effective", "Effective_Date"), ("Expires", "Expiration_Date"),
                          ("Action", "Action"), ("Federal Register", "FR_Citation")):  # fmt: skip
        value = cell(column)
        if value:
            parts.append(f"{label} {value}")
    return "; ".join(parts) + "." if parts else None
