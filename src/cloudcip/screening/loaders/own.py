"""The provider's own list: a documented CSV (``docs/lists-own-csv.md``) → ``DesignatedParty`` (D3).

Header ``id,schema,name,aliases,birth_date,nationality,country,id_numbers,emails,wallets,programs,remarks``;
multi-valued cells separate values with ``;``; wallets are ``CUR:address``; identity numbers are
``[kind:]number [(Country)]``. Every value is checked: a bad date, country, schema, document kind or
wallet raises ``ListFormatError`` with the line, so the provider learns of a typo before screening
silently misses an entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from cloudcip.domain.designated import DesignatedParty, ListedAddress, ListedDocument, ListedName, PartySchema
from cloudcip.screening.loaders import ListFormatError, Progress, read_list_text
from cloudcip.screening.loaders.countries import country_code, country_name, trailing_country
from cloudcip.screening.loaders.ftm import wallet_currency
from cloudcip.screening.loaders.remarks import parse_single_date

COLUMNS = (
    "id", "schema", "name", "aliases", "birth_date", "nationality", "country",
    "id_numbers", "emails", "wallets", "programs", "remarks",
)  # fmt: skip
DOCUMENT_KINDS = ("passport", "national_id", "tax_id", "registration", "other")
_SCHEMATA: tuple[str, ...] = get_args(PartySchema)


def _split(cell: str) -> list[str]:
    return [" ".join(v.split()) for v in cell.split(";") if v.strip()]


def _row_party(src: str, cells: dict[str, str], file: str, line: int) -> DesignatedParty:
    def fail(reason: str) -> ListFormatError:
        return ListFormatError(file, f"line {line}", reason)

    entry_id = cells["id"].strip()
    if not entry_id:
        raise fail("missing id")
    name = " ".join(cells["name"].split())
    if not name:
        raise fail("missing name")
    schema_text = cells["schema"].strip() or "Unknown"
    matched = next((s for s in _SCHEMATA if s.lower() == schema_text.lower()), None)
    if matched is None:
        raise fail(f"schema must be one of {', '.join(_SCHEMATA)}")
    schema: PartySchema = matched  # type: ignore[assignment]
    names = [ListedName(full=name)]
    for alias in _split(cells["aliases"]):
        if alias.casefold() not in {n.full.casefold() for n in names}:
            names.append(ListedName(full=alias, quality="strong"))
    birth_dates: list[str] = []
    for value in _split(cells["birth_date"]):
        date = parse_single_date(value)
        if date is None:
            raise fail("birth_date is not YYYY, YYYY-MM or YYYY-MM-DD")
        birth_dates.append(date)
    nationalities: list[str] = []
    for value in _split(cells["nationality"]):
        code = country_code(value)
        if code is None:
            raise fail("nationality is not a known country")
        nationalities.append(code)
    addresses: list[ListedAddress] = []
    for value in _split(cells["country"]):
        code = country_code(value)
        if code is None:
            raise fail("country is not a known country")
        addresses.append(ListedAddress(text=country_name(code) if len(value) <= 3 else value, country=code))
    documents: list[ListedDocument] = []
    for value in _split(cells["id_numbers"]):
        kind, _, rest = value.partition(":") if ":" in value else ("other", ":", value)
        kind = kind.strip().lower()
        if kind not in DOCUMENT_KINDS:
            raise fail(f"id_numbers kind must be one of {', '.join(DOCUMENT_KINDS)}")
        number, country = trailing_country(rest)
        if not number:
            raise fail("id_numbers entry without a number")
        documents.append(ListedDocument(kind=kind, number=number, country=country))
    emails = _split(cells["emails"])
    if any("@" not in e for e in emails):
        raise fail("emails entry without @")
    wallets: list[tuple[str, str]] = []
    for value in _split(cells["wallets"]):
        currency, sep, address = value.partition(":")
        if not sep or not currency.strip() or not address.strip():
            raise fail("wallets entry is not CUR:address")
        wallets.append((wallet_currency(currency), address.strip()))
    return DesignatedParty(
        source=src,
        source_id=entry_id,
        schema=schema,
        names=names,
        birth_dates=birth_dates,
        nationalities=nationalities,
        addresses=addresses,
        documents=documents,
        emails=emails,
        wallets=wallets,
        programs=_split(cells["programs"]),
        remarks=" ".join(cells["remarks"].split()) or None,
    )


def load(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None]:
    """Parties of the provider's own list; (parties, source, None)."""
    src = source or "own"
    parties: list[DesignatedParty] = []
    seen: set[str] = set()
    for path in paths:
        text = read_list_text(path)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            if not header:
                raise ListFormatError(path.name, "file", "no entries")
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ListFormatError(path.name, "line 1", f"header lacks {', '.join(missing)}")
            for cells in reader:
                line = reader.line_num
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if len(cells) != len(header):
                    raise ListFormatError(
                        path.name, f"line {line}", f"expected {len(header)} columns, found {len(cells)}"
                    )
                party = _row_party(src, dict(zip(header, cells, strict=True)), path.name, line)
                if party.source_id in seen:
                    raise ListFormatError(path.name, f"line {line}", "id repeated")
                seen.add(party.source_id)
                parties.append(party)
                if progress is not None and line % 500 == 0:
                    progress(line, text.count("\n"))
        except csv.Error as exc:
            raise ListFormatError(path.name, f"line {reader.line_num}", f"bad CSV quoting ({exc})") from None
    if progress is not None:
        progress(len(parties), len(parties))
    return parties, src, None
