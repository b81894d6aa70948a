"""Offline IP intelligence for access events (C4): country, ASN, Tor exit, hosting/VPN ranges.

Everything here works without a network:

- registered country from ``iptocc`` (it ships the regional registries' delegation data and is
  refreshed with each release);
- where the operator holds them, a MaxMind country (or city) and ASN database read with ``maxminddb``
  from paths the operator gives (cloudcip ships none: their licence is the operator's);
- tables the operator imports, each import versioned in ``ipintel_dataset`` (kind, sha256, time,
  rows): an IP-to-ASN CSV (``start_ip,end_ip,asn[,org]`` or ``cidr,asn[,org]``), a Tor exit list
  (one IP per line, or the Tor Project's ``ExitAddress`` lines) and a hosting/VPN CIDR list
  (``cidr[,label]``). The newest dataset of each kind is the one in force.

Lookups run in memory on sorted ranges with ``bisect``; the tables are loaded once per ``IpIntel``.
Errors name the line number and the reason only.
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import socket
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import iptocc
from sqlalchemy import func, insert, select

from cloudcip import clock
from cloudcip.access.events import AccessBatchError, ip_to_bytes
from cloudcip.access.schema import ipintel_dataset, ipintel_range
from cloudcip.errors import InvalidInput
from cloudcip.storage.database import Database

DatasetKind = Literal["asn", "tor_exit", "hosting"]
DATASET_KINDS: tuple[str, ...] = ("asn", "tor_exit", "hosting")


@dataclass(frozen=True, slots=True)
class IpFacts:
    """What is known offline about one address."""

    country: str | None
    registered_country: str | None
    asn: int | None
    tor_exit: bool
    hosting: bool


class RangeTable:
    """Sorted, possibly nested, inclusive byte ranges; ``find`` returns the most specific match."""

    def __init__(self, ranges: Iterable[tuple[bytes, bytes, Any]]) -> None:
        ordered = sorted(ranges, key=lambda item: (item[0], item[1]))
        self._lows = [item[0] for item in ordered]
        self._highs = [item[1] for item in ordered]
        self._values = [item[2] for item in ordered]
        self._max_high: list[bytes] = []
        running = b""
        for high in self._highs:
            running = max(running, high)
            self._max_high.append(running)

    def __len__(self) -> int:
        return len(self._lows)

    def find(self, address: bytes) -> Any:
        index = bisect_right(self._lows, address) - 1
        while index >= 0 and self._max_high[index] >= address:
            if self._highs[index] >= address:
                return self._values[index]
            index -= 1
        return None


def _network_bytes(text: str) -> tuple[bytes, bytes]:
    network = ipaddress.ip_network(text.strip(), strict=False)
    return ip_to_bytes(network.network_address), ip_to_bytes(network.broadcast_address)


def _address_bytes(text: str) -> bytes:
    address = ipaddress.ip_address(text.strip())
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return ip_to_bytes(address)


class IpIntel:
    """Offline enrichment of addresses; build once and reuse (lookups are cached)."""

    def __init__(
        self,
        *,
        use_iptocc: bool = True,
        maxmind_country_path: str | Path | None = None,
        maxmind_asn_path: str | Path | None = None,
        asn_ranges: RangeTable | None = None,
        tor_exits: frozenset[bytes] = frozenset(),
        hosting_ranges: RangeTable | None = None,
        cache_size: int = 500_000,
    ) -> None:
        self._use_iptocc = use_iptocc
        self._maxmind_country: Any = None
        self._maxmind_asn: Any = None
        if maxmind_country_path is not None or maxmind_asn_path is not None:
            import maxminddb

            if maxmind_country_path is not None:
                self._maxmind_country = maxminddb.open_database(str(maxmind_country_path))
            if maxmind_asn_path is not None:
                self._maxmind_asn = maxminddb.open_database(str(maxmind_asn_path))
        self._asn = asn_ranges
        self._tor = tor_exits
        self._hosting = hosting_ranges
        self._facts: dict[bytes, IpFacts] = {}
        self._countries: dict[bytes, str | None] = {}
        self._cache_size = cache_size

    @classmethod
    def load(
        cls,
        database: Database,
        *,
        use_iptocc: bool = True,
        maxmind_country_path: str | Path | None = None,
        maxmind_asn_path: str | Path | None = None,
    ) -> IpIntel:
        """An ``IpIntel`` with the newest imported dataset of each kind loaded in memory."""
        tables: dict[str, list[tuple[bytes, bytes, Any]]] = {}
        with database.engine.connect() as connection:
            newest = dict(connection.execute(
                select(ipintel_dataset.c.kind, func.max(ipintel_dataset.c.id)).group_by(ipintel_dataset.c.kind)
            ).all())
            for kind, dataset_id in newest.items():
                result = connection.execute(
                    select(ipintel_range.c.low, ipintel_range.c.high, ipintel_range.c.asn,
                           ipintel_range.c.label).where(ipintel_range.c.dataset_id == dataset_id)
                )
                tables[kind] = [(bytes(low), bytes(high), asn if kind == "asn" else (label or True))
                                for low, high, asn, label in result]
        return cls(
            use_iptocc=use_iptocc,
            maxmind_country_path=maxmind_country_path,
            maxmind_asn_path=maxmind_asn_path,
            asn_ranges=RangeTable(tables["asn"]) if "asn" in tables else None,
            tor_exits=frozenset(low for low, _high, _v in tables.get("tor_exit", [])),
            hosting_ranges=RangeTable(tables["hosting"]) if "hosting" in tables else None,
        )

    def country(self, address: bytes) -> str | None:
        """Country of an address in its 16-byte form: MaxMind's if loaded, else the registered one."""
        cached = self._countries.get(address, "?")
        if cached != "?":
            return cached
        code = self._lookup_country(address)
        if len(self._countries) >= self._cache_size:
            self._countries.clear()
        self._countries[address] = code
        return code

    @property
    def country_only(self) -> bool:
        """No ASN, Tor-exit or hosting source is loaded: beyond its country, every address has the
        same facts (no ASN, not a Tor exit, not hosting), so callers need not ask per address."""
        return self._maxmind_asn is None and self._asn is None and not self._tor and self._hosting is None

    def _lookup_country(self, address: bytes) -> str | None:
        text = _address_text(address)
        if self._maxmind_country is not None:
            record = self._maxmind_country.get(text)
            if isinstance(record, dict):
                for key in ("country", "registered_country"):
                    entry = record.get(key)
                    if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
                        return str(entry["iso_code"])
        return self._registered_country(text)

    def _registered_country(self, text: str) -> str | None:
        if not self._use_iptocc:
            return None
        code = iptocc.country_code(text)
        return code if isinstance(code, str) else None

    def facts(self, address: bytes) -> IpFacts:
        """Everything known about an address in its 16-byte form."""
        cached = self._facts.get(address)
        if cached is not None:
            return cached
        text = _address_text(address)
        asn: int | None = None
        if self._maxmind_asn is not None:
            record = self._maxmind_asn.get(text)
            if isinstance(record, dict) and isinstance(record.get("autonomous_system_number"), int):
                asn = int(record["autonomous_system_number"])
        if asn is None and self._asn is not None:
            found = self._asn.find(address)
            asn = int(found) if found is not None else None
        facts = IpFacts(
            country=self.country(address),
            registered_country=self._registered_country(text),
            asn=asn,
            tor_exit=address in self._tor,
            hosting=self._hosting is not None and self._hosting.find(address) is not None,
        )
        if len(self._facts) >= self._cache_size:
            self._facts.clear()
        self._facts[address] = facts
        return facts


_V4_MAPPED = bytes(10) + b"\xff\xff"


def _address_text(address: bytes) -> str:
    """The text of a 16-byte address (``inet_ntop``: several times faster than ``ipaddress``)."""
    if address[:12] == _V4_MAPPED:
        return socket.inet_ntop(socket.AF_INET, address[12:])
    return socket.inet_ntop(socket.AF_INET6, address)


_default: IpIntel | None = None


def default_intel() -> IpIntel:
    """The process-wide enrichment with the registered country only (iptocc)."""
    global _default
    if _default is None:
        _default = IpIntel()
    return _default


# --------------------------------------------------------------------------------------------------
# Versioned imports


@dataclass(frozen=True)
class DatasetImport:
    """The outcome of one ``import_dataset``: its id, and whether this file was already imported."""

    dataset_id: int
    kind: str
    sha256: str
    rows: int
    already_imported: bool


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8", errors="strict") as handle:
        try:
            yield from enumerate(handle, start=1)
        except UnicodeDecodeError:
            raise AccessBatchError([(0, "file is not valid UTF-8")]) from None


def parse_asn_csv(path: Path) -> list[tuple[bytes, bytes, int | None, str | None]]:
    """``start_ip,end_ip,asn[,org]`` or ``cidr,asn[,org]`` rows; a header line is allowed."""
    rows: list[tuple[bytes, bytes, int | None, str | None]] = []
    errors: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8", newline="") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
                continue
            try:
                if "/" in fields[0]:
                    low, high = _network_bytes(fields[0])
                    rest = fields[1:]
                else:
                    low, high = _address_bytes(fields[0]), _address_bytes(fields[1])
                    rest = fields[2:]
            except (ValueError, IndexError):
                if number == 1:
                    continue  # header
                errors.append((number, "not an IP range or CIDR network"))
                continue
            if high < low:
                errors.append((number, "range ends before it starts"))
                continue
            try:
                asn_text = rest[0].strip().upper().removeprefix("AS")
                asn = int(asn_text)
            except (IndexError, ValueError):
                errors.append((number, "ASN is missing or not a number"))
                continue
            org = rest[1].strip()[:255] if len(rest) > 1 and rest[1].strip() else None
            rows.append((low, high, asn, org))
    if errors:
        raise AccessBatchError(errors)
    return rows


def parse_tor_exits(path: Path) -> list[tuple[bytes, bytes, int | None, str | None]]:
    """One IP per line (``#`` comments), or the Tor Project's ``ExitAddress IP DATE`` lines."""
    rows: list[tuple[bytes, bytes, int | None, str | None]] = []
    errors: list[tuple[int, str]] = []
    for number, line in _text_lines(path):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(("ExitNode", "Published", "LastStatus")):
            continue
        if text.startswith("ExitAddress"):
            parts = text.split()
            text = parts[1] if len(parts) > 1 else ""
        try:
            address = _address_bytes(text)
        except ValueError:
            errors.append((number, "not an IP address"))
            continue
        rows.append((address, address, None, None))
    if errors:
        raise AccessBatchError(errors)
    return rows


def parse_hosting_ranges(path: Path) -> list[tuple[bytes, bytes, int | None, str | None]]:
    """``cidr[,label]`` (or whitespace-separated) per line; ``#`` comments."""
    rows: list[tuple[bytes, bytes, int | None, str | None]] = []
    errors: list[tuple[int, str]] = []
    for number, line in _text_lines(path):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.replace(",", " ").split(None, 1)
        try:
            low, high = _network_bytes(parts[0])
        except ValueError:
            errors.append((number, "not a CIDR network"))
            continue
        label = parts[1].strip()[:255] if len(parts) > 1 else None
        rows.append((low, high, None, label))
    if errors:
        raise AccessBatchError(errors)
    return rows


_PARSERS = {"asn": parse_asn_csv, "tor_exit": parse_tor_exits, "hosting": parse_hosting_ranges}


def import_dataset(database: Database, kind: str, path: str | Path) -> DatasetImport:
    """Import one IP-intelligence file as a new version of its kind (idempotent on sha256).

    The whole file is validated first: a file with any bad line is refused whole
    (``AccessBatchError`` lists every line).
    """
    if kind not in _PARSERS:
        raise InvalidInput.field("kind", f"unknown dataset kind (expected one of {', '.join(DATASET_KINDS)})")
    source = Path(path)
    digest = _sha256(source)
    with database.engine.begin() as connection:
        existing = connection.execute(
            select(ipintel_dataset.c.id, ipintel_dataset.c.rows).where(
                ipintel_dataset.c.kind == kind, ipintel_dataset.c.sha256 == digest)
        ).first()
        if existing is not None:
            return DatasetImport(int(existing[0]), kind, digest, int(existing[1]), True)
    rows = _PARSERS[kind](source)
    with database.engine.begin() as connection:
        dataset_id = connection.execute(
            insert(ipintel_dataset).values(kind=kind, sha256=digest, imported_at=clock.now(),
                                           rows=len(rows), source_name=source.name[:255])
        ).inserted_primary_key
        assert dataset_id is not None
        new_id = int(dataset_id[0])
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(ipintel_range), [
                {"dataset_id": new_id, "low": low, "high": high, "asn": asn, "label": label}
                for low, high, asn, label in rows[start:start + 10_000]
            ])
    return DatasetImport(new_id, kind, digest, len(rows), False)


def list_datasets(database: Database) -> list[dict[str, Any]]:
    """Every imported dataset version, newest first."""
    with database.engine.connect() as connection:
        result = connection.execute(select(ipintel_dataset).order_by(ipintel_dataset.c.id.desc()))
        return [dict(row._mapping) for row in result]
