"""FollowTheMoney entities as JSON lines (the OpenSanctions export format) → ``DesignatedParty`` (D3).

One JSON object per line: ``{"id", "schema", "properties": {"name": [...], ...}}``. Person,
Organization, Company, LegalEntity, PublicBody, Vessel and Airplane entities become parties;
CryptoWallet entities (``publicKey``, ``currency``, ``holder``) are attached to their holder, or become
a party of their own when the holder is not in the file; Sanction entities add their ``program`` to
the sanctioned entity, and Passport/Identification entities add a document to their holder. Other
schemas (Address, Ownership, ...) are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloudcip.domain.designated import (
    DesignatedParty,
    ListedAddress,
    ListedDocument,
    ListedName,
    NameQuality,
    PartySchema,
)
from cloudcip.screening.loaders import ListFormatError, Progress, read_list_text
from cloudcip.screening.loaders.countries import country_code, country_name

PARTY_SCHEMATA: dict[str, PartySchema] = {
    "Person": "Person",
    "Organization": "Organization",
    "Company": "Organization",
    "PublicBody": "Organization",
    "LegalEntity": "Unknown",
    "Vessel": "Vessel",
    "Airplane": "Aircraft",
}
_DOCUMENT_PROPERTIES = (
    ("passportNumber", "passport"),
    ("idNumber", "national_id"),
    ("taxNumber", "tax_id"),
    ("innCode", "tax_id"),
    ("vatCode", "tax_id"),
    ("registrationNumber", "registration"),
    ("ogrnCode", "registration"),
    ("imoNumber", "registration"),
    ("mmsi", "registration"),
)
_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?")
CURRENCY_CODES = {"BTC": "XBT"}  # OFAC writes bitcoin as XBT; one code per currency across lists


def wallet_currency(code: str) -> str:
    """The list-wide currency code: upper case, ``BTC`` written as OFAC's ``XBT``."""
    code = code.strip().upper()
    return CURRENCY_CODES.get(code, code)


def _values(properties: dict[str, list[str]], key: str) -> list[str]:
    return [" ".join(v.split()) for v in properties.get(key, []) if v and v.strip()]


def _ref(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _entity(line: int, raw: str, file: str) -> tuple[str, str, dict[str, list[Any]], str | None]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ListFormatError(file, f"line {line}", f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ListFormatError(file, f"line {line}", "not a JSON object")
    entity_id, schema, properties = data.get("id"), data.get("schema"), data.get("properties", {})
    if not isinstance(entity_id, str) or not entity_id:
        raise ListFormatError(file, f"line {line}", "missing id")
    if not isinstance(schema, str) or not schema:
        raise ListFormatError(file, f"line {line}", "missing schema")
    if not isinstance(properties, dict) or not all(isinstance(v, list) for v in properties.values()):
        raise ListFormatError(file, f"line {line}", "properties is not an object of lists")
    changed = data.get("last_change")
    return entity_id, schema, properties, changed if isinstance(changed, str) else None


def _strings(properties: dict[str, list[Any]], file: str, line: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, values in properties.items():
        if all(isinstance(v, str) for v in values):
            out[key] = values
        elif key not in ("holder", "entity"):
            raise ListFormatError(file, f"line {line}", f"property {key} holds values that are not strings")
    return out


def _party(src: str, entity_id: str, schema: PartySchema, props: dict[str, list[str]]) -> DesignatedParty:
    names: list[ListedName] = []
    known: set[str] = set()

    def add(full: str, quality: NameQuality, given: str | None = None, family: str | None = None) -> None:
        if full and full.casefold() not in known:
            known.add(full.casefold())
            names.append(ListedName(full=full, quality=quality, given=given, family=family))

    given = " ".join(_values(props, "firstName") + _values(props, "secondName") + _values(props, "middleName"))
    family = " ".join(_values(props, "lastName"))
    for index, full in enumerate(_values(props, "name")):
        if index == 0 and schema == "Person" and (given or family):
            add(full, "primary", given or None, family or None)
        else:
            add(full, "primary" if index == 0 else "strong")
    for key, quality in (("alias", "strong"), ("previousName", "strong"), ("weakAlias", "weak")):
        for full in _values(props, key):
            add(full, quality)  # type: ignore[arg-type]

    def codes(*keys: str) -> list[str]:
        found: list[str] = []
        for key in keys:
            for value in _values(props, key):
                code = country_code(value)
                if code and code not in found:
                    found.append(code)
        return found

    documents = [
        ListedDocument(kind=kind, number=number) for key, kind in _DOCUMENT_PROPERTIES for number in _values(props, key)
    ]
    addresses = [ListedAddress(text=text) for text in _values(props, "address")]
    for value in _values(props, "country"):
        code = country_code(value)
        addresses.append(ListedAddress(text=country_name(code) if code else value, country=code))
    nationalities = codes("nationality") if schema == "Person" else codes("jurisdiction", "nationality")
    gender = next((g.lower() for g in _values(props, "gender") if g.lower() in ("male", "female")), None)
    programs = _values(props, "programId") + _values(props, "program")
    topics = _values(props, "topics")
    notes = [n.rstrip(".") for n in _values(props, "notes")] + ([f"Topics: {', '.join(topics)}"] if topics else [])
    return DesignatedParty(
        source=src,
        source_id=entity_id,
        schema=schema,
        names=names,
        birth_dates=[m.group(0) for d in _values(props, "birthDate") if (m := _DATE.match(d))],
        birth_places=_values(props, "birthPlace"),
        nationalities=nationalities,
        citizenships=codes("citizenship"),
        gender=gender,
        addresses=addresses,
        documents=documents,
        emails=_values(props, "email"),
        websites=_values(props, "website"),
        programs=list(dict.fromkeys(programs)),
        remarks="; ".join(notes) or None,
    )


def load(
    paths: Sequence[Path], *, source: str | None = None, progress: Progress | None = None
) -> tuple[list[DesignatedParty], str, str | None]:
    """Parties of one FtM JSON-lines publication; (parties, source, latest ``last_change`` or None)."""
    src = source or "ftm"
    parties: dict[str, DesignatedParty] = {}
    wallets: list[tuple[str, int, dict[str, list[Any]]]] = []
    attachments: list[tuple[str, int, str, dict[str, list[Any]]]] = []  # (file, line, schema, properties)
    published: str | None = None
    for path in paths:
        lines = read_list_text(path).split("\n")  # not splitlines: U+2028 is valid inside JSON strings
        for line, raw in enumerate(lines, start=1):
            raw = raw.rstrip("\r")
            if not raw.strip():
                continue
            entity_id, schema, properties, changed = _entity(line, raw, path.name)
            if changed and (published is None or changed > published):
                published = changed
            if schema == "CryptoWallet":
                wallets.append((path.name, line, {**properties, "id": [entity_id]}))
                continue
            if schema in ("Sanction", "Passport", "Identification"):
                attachments.append((path.name, line, schema, properties))
                continue
            party_schema = PARTY_SCHEMATA.get(schema)
            if party_schema is None:
                continue
            props = _strings(properties, path.name, line)
            if not _values(props, "name"):
                raise ListFormatError(path.name, f"line {line}", "missing name")
            party = _party(src, entity_id, party_schema, props)
            if entity_id in parties:
                raise ListFormatError(path.name, f"line {line}", "entity id repeated")
            parties[entity_id] = party
            if progress is not None and line % 500 == 0:
                progress(line, len(lines))
    for file, line, schema, properties in attachments:
        _attach(parties, file, line, schema, properties)
    for file, line, properties in wallets:
        _attach_wallet(src, parties, file, line, properties)
    if progress is not None:
        progress(len(parties), len(parties))
    return list(parties.values()), src, published


def _attach(
    parties: dict[str, DesignatedParty], file: str, line: int, schema: str, properties: dict[str, list[Any]]
) -> None:
    props = _strings(properties, file, line)
    key = "entity" if schema == "Sanction" else "holder"
    for ref in (r for r in (_ref(v) for v in properties.get(key, [])) if r):
        party = parties.get(ref)
        if party is None:
            continue
        if schema == "Sanction":
            for program in _values(props, "programId") + _values(props, "program"):
                if program not in party.programs:
                    party.programs.append(program)
            continue
        kind = "passport" if schema == "Passport" else "national_id"
        country = next((c for c in (country_code(v) for v in _values(props, "country")) if c), None)
        for number in _values(props, "number") + _values(props, "passportNumber"):
            document = ListedDocument(kind=kind, number=number, country=country)
            if document not in party.documents:
                party.documents.append(document)


def _attach_wallet(
    src: str, parties: dict[str, DesignatedParty], file: str, line: int, properties: dict[str, list[Any]]
) -> None:
    props = _strings(properties, file, line)
    keys = _values(props, "publicKey")
    if not keys:
        raise ListFormatError(file, f"line {line}", "CryptoWallet without publicKey")
    currency = wallet_currency(next(iter(_values(props, "currency")), "") or "UNKNOWN")
    holders = [h for h in (_ref(v) for v in properties.get("holder", [])) if h and h in parties]
    if holders:
        for holder in holders:
            for key in keys:
                if (currency, key) not in parties[holder].wallets:
                    parties[holder].wallets.append((currency, key))
        return
    wallet_id = props["id"][0]
    names = [
        ListedName(full=n, quality="primary" if i == 0 else "strong") for i, n in enumerate(_values(props, "name"))
    ]
    programs = _values(props, "programId") + _values(props, "program")
    notes = _values(props, "notes")
    parties[wallet_id] = DesignatedParty(
        source=src,
        source_id=wallet_id,
        schema="Unknown",
        names=names,
        wallets=[(currency, key) for key in keys],
        programs=programs,
        remarks="; ".join(notes) or None,
    )
