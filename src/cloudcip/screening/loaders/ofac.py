"""OFAC legacy CSV (SDN and consolidated lists) → ``DesignatedParty`` (D3).

A publication is the main file (SDN or PRIM: 12 columns) and optionally its ALT (aliases, 5 columns),
ADD (addresses, 6 columns) and COMMENTS (remarks continued, 2 columns) files. There is no header;
``-0-`` means empty. Each file's role is recognised from its shape (column count and the types of
its first columns), not from its name. Remarks are read for facts by ``remarks.parse_remarks``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cloudcip.domain.designated import DesignatedParty, ListedAddress, ListedName, PartySchema
from cloudcip.screening.loaders import ListFormatError, Progress, read_list_text
from cloudcip.screening.loaders.countries import country_code
from cloudcip.screening.loaders.remarks import parse_remarks

_ROLE_BY_COLUMNS = {12: "main", 5: "alt", 6: "add", 2: "comments"}
#: The files of a complete publication besides the main one, and what each carries.
PARTS: dict[str, str] = {"alt": "ALT (aliases)", "add": "ADD (addresses)", "comments": "COMMENTS (remarks continued)"}
_TYPES: dict[str, PartySchema] = {
    "individual": "Person",
    "vessel": "Vessel",
    "aircraft": "Aircraft",
    "": "Organization",
}
_ALT_TYPES = {"aka", "fka", "nka", "a.k.a.", "f.k.a.", "n.k.a.", ""}
_REMARKS_FIELD_LIMIT = 1000  # OFAC cuts remarks here and continues them in the COMMENTS file
_WEAK_MARKERS = re.compile(r"\bweak\b|\blow[- ]quality\b", re.IGNORECASE)
_PROGRAM_SPLIT = re.compile(r"\]\s*\[")


def _value(cell: str) -> str:
    cell = cell.strip()
    return "" if cell == "-0-" else cell


@dataclass(slots=True)
class _OfacFile:
    path: Path
    role: str
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, cells)


def _read_rows(path: Path) -> _OfacFile:
    text = read_list_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    role: str | None = None
    width = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if role is None:
                width = len(cells)
                found = _ROLE_BY_COLUMNS.get(width)
                if found is None:
                    raise ListFormatError(
                        path.name, f"line {line}", f"{width} columns: not an OFAC SDN/ALT/ADD/COMMENTS file"
                    )
                role = found
            elif len(cells) != width:
                raise ListFormatError(path.name, f"line {line}", f"expected {width} columns, found {len(cells)}")
            if not cells[0].strip().isdigit():
                raise ListFormatError(path.name, f"line {line}", "first column is not an entry number")
            if role in ("alt", "add") and not cells[1].strip().isdigit():
                raise ListFormatError(path.name, f"line {line}", "second column is not an alias/address number")
            if role == "alt" and _value(cells[2]).lower() not in _ALT_TYPES:
                raise ListFormatError(path.name, f"line {line}", "third column is not an alias type (aka/fka/nka)")
            if role == "main" and not _value(cells[1]):
                raise ListFormatError(path.name, f"line {line}", "missing name")
            rows.append((line, cells))
    except csv.Error as exc:
        raise ListFormatError(path.name, f"line {reader.line_num}", f"bad CSV quoting ({exc})") from None
    if role is None:
        raise ListFormatError(path.name, "file", "no entries")
    return _OfacFile(path=path, role=role, rows=rows)


def _title_if_upper(text: str) -> str:
    return text.title() if text.isupper() else text


def individual_name(written: str, quality: str = "primary") -> ListedName:
    """``"LAST, First Middle"`` → ``ListedName(full="First Middle Last", family="Last", given="First Middle")``."""
    parts = [part.strip() for part in written.split(",")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return ListedName(full=" ".join(written.split()), quality=quality)  # type: ignore[arg-type]
    family = _title_if_upper(" ".join(parts[0].split()))
    given = " ".join(parts[1].split())
    suffix = " ".join(p for p in parts[2:] if p)
    full = f"{given} {family}" + (f" {suffix}" if suffix else "")
    return ListedName(full=full, quality=quality, given=given, family=family)  # type: ignore[arg-type]


def _programs(cell: str) -> list[str]:
    text = _value(cell).strip().strip("[]").strip()
    if not text:
        return []
    return [p.strip() for p in _PROGRAM_SPLIT.split(text) if p.strip()]


def _join_comments(remarks: str, continuation: str) -> str:
    if not remarks:
        return continuation
    if len(remarks) >= _REMARKS_FIELD_LIMIT:  # cut mid-clause at the field limit: continue as is
        return remarks + continuation
    return remarks.rstrip().rstrip(".") + "; " + continuation.lstrip()


def default_source(paths: Sequence[Path]) -> str:
    """``ofac-sdn`` or ``ofac-cons`` from the file names, else ``ofac``."""
    names = " ".join(p.name.lower() for p in paths)
    if "sdn" in names:
        return "ofac-sdn"
    if "cons" in names:
        return "ofac-cons"
    return "ofac"


def load(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None]:
    """Parties of one OFAC legacy CSV publication; (parties, source, published date or None)."""
    parties, src, published, _missing = load_parts(paths, source=source, progress=progress)
    return parties, src, published


def load_parts(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None, list[str]]:
    """As :func:`load`, plus the parts of the publication that were not given (``alt``, ``add``,
    ``comments``): OFAC publishes the four files together, and a main file alone drops every alias,
    address and continued remark of the list."""
    files = [_read_rows(p) for p in paths]
    mains = [f for f in files if f.role == "main"]
    if len(mains) != 1:
        where = ", ".join(p.name for p in paths)
        raise ListFormatError(where, "files", f"expected one main (SDN/PRIM, 12-column) file, found {len(mains)}")
    src = source or default_source(paths)
    main = mains[0]

    comments: dict[str, str] = {}
    aliases: dict[str, list[tuple[str, str, str]]] = {}
    addresses: dict[str, list[ListedAddress]] = {}
    for f in files:
        if f.role == "comments":
            for _, cells in f.rows:
                key = cells[0].strip()
                comments[key] = comments.get(key, "") + _value(cells[1])
        elif f.role == "alt":
            for _, cells in f.rows:
                aliases.setdefault(cells[0].strip(), []).append(
                    (_value(cells[2]).lower(), _value(cells[3]), _value(cells[4]))
                )
        elif f.role == "add":
            for _, cells in f.rows:
                street, city, country, _note = (_value(c) for c in cells[2:6])
                text = ", ".join(part for part in (street, city, country) if part)
                if text:
                    addresses.setdefault(cells[0].strip(), []).append(
                        ListedAddress(text=text, city=city or None, country=country_code(country))
                    )

    parties: list[DesignatedParty] = []
    seen: set[str] = set()
    total = len(main.rows)
    for done, (line, cells) in enumerate(main.rows, start=1):
        ent_num = cells[0].strip()
        if ent_num in seen:
            raise ListFormatError(main.path.name, f"line {line}", "entry number repeated")
        seen.add(ent_num)
        parties.append(_party(src, ent_num, cells, comments, aliases, addresses))
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    given = {f.role for f in files}
    return parties, src, None, [part for part in PARTS if part not in given]


def _party(
    src: str,
    ent_num: str,
    cells: list[str],
    comments: dict[str, str],
    aliases: dict[str, list[tuple[str, str, str]]],
    addresses: dict[str, list[ListedAddress]],
) -> DesignatedParty:
    written = " ".join(_value(cells[1]).split())
    kind = _value(cells[2]).lower()
    schema: PartySchema = _TYPES.get(kind, "Unknown")
    is_person = schema == "Person"
    names = [individual_name(written) if is_person else ListedName(full=written)]
    known = {names[0].full.casefold()}

    def add_name(name: ListedName) -> None:
        if name.full and name.full.casefold() not in known:
            known.add(name.full.casefold())
            names.append(name)

    for alt_type, alt_name, alt_remarks in aliases.get(ent_num, []):
        if not alt_name:
            continue
        quality = "weak" if _WEAK_MARKERS.search(alt_remarks) or _WEAK_MARKERS.search(alt_type) else "strong"
        add_name(individual_name(alt_name, quality) if is_person else ListedName(full=alt_name, quality=quality))  # type: ignore[arg-type]

    remarks_text = _value(cells[11])
    if ent_num in comments:
        remarks_text = _join_comments(remarks_text, comments[ent_num])
    facts = parse_remarks(remarks_text)
    for alias in facts.aliases:
        add_name(alias)

    extra: list[str] = []
    for label, index in (("Title", 4), ("Call Sign", 5), ("Vessel Type", 6), ("Tonnage", 7), ("GRT", 8),
                         ("Vessel Flag", 9), ("Vessel Owner", 10)):  # fmt: skip
        value = _value(cells[index])
        if value:
            extra.append(f"{label} {value}")
    remaining = extra + facts.remaining
    nationalities = facts.nationalities
    flag = country_code(_value(cells[9])) if schema == "Vessel" else None
    if flag and flag not in nationalities:  # a vessel's nationality is its flag state
        nationalities = [*nationalities, flag]
    return DesignatedParty(
        source=src,
        source_id=ent_num,
        schema=schema,
        names=names,
        birth_dates=facts.birth_dates,
        birth_places=facts.birth_places,
        nationalities=nationalities,
        citizenships=facts.citizenships,
        gender=facts.gender,
        addresses=addresses.get(ent_num, []),
        documents=facts.documents,
        emails=facts.emails,
        wallets=facts.wallets,
        websites=facts.websites,
        programs=_programs(cells[3]),
        remarks="; ".join(remaining) + "." if remaining else None,
    )
