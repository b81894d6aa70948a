"""A batch of access events ready for the database (C1, C2): enriched rows and their rollups.

``prepare_rows`` enriches rows (offline country, ASN, Tor, hosting) and aggregates the
per-account-per-IP rollup (``access_ip_seen``) and the account's first/last access
(``access_account_activity``) in one pass; the engine's back-end (``access.backends``) writes the
result. ``copy_text`` and ``copy_text_plain`` encode rows in PostgreSQL's COPY text format, which a
file import's worker processes hand over to the writer. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from cloudcip.access.events import AccessEvent, EventRow
from cloudcip.access.ipintel import IpIntel, default_intel


class _Default:
    pass


DEFAULT_ENRICHMENT: Any = _Default()


def resolve_intel(enrich: Any) -> IpIntel | None:
    """The ``IpIntel`` an ``enrich`` argument names (``DEFAULT_ENRICHMENT``: iptocc's; else ``None``)."""
    if isinstance(enrich, _Default):
        return default_intel()
    return enrich if isinstance(enrich, IpIntel) else None


ACCOUNT = itemgetter(1)  # an event row's account: batches are sorted by it


def _dedupe_in_batch(rows: Sequence[EventRow]) -> list[EventRow]:
    """Drop repeats of an event (same id, account, time and address) inside one batch."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[EventRow] = []
    for row in rows:
        if row[0] is not None:
            key = (row[0], row[1], row[3], row[4])
            if key in seen:
                continue
            seen.add(key)
        unique.append(row)
    return unique



def rows_of(events: Iterable[AccessEvent] | Iterable[EventRow]) -> list[EventRow]:
    rows: list[EventRow] = []
    for item in events:
        rows.append(item.to_row() if isinstance(item, AccessEvent) else item)
    return rows


@dataclass
class PreparedBatch:
    """A batch ready for the database: rows with their country, and the rollups they imply if all
    of them turn out to be new. Built in a parse worker process during ``import_file``."""

    params: list[tuple[Any, ...]]  # EventRow + country
    seen: list[tuple[Any, ...]]  # account, ip, first, last, count, country, asn, tor_exit, hosting
    activity: list[tuple[Any, ...]]  # account, first, last, count
    submitted: int  # rows before removing repeats inside the batch
    count: int = -1  # rows to write (after removing repeats); -1: len(params)
    stage_path: str | None = None  # SQLite: the rows and rollups written by a worker to this file
    copy_text: bytes | None = None  # PostgreSQL: the rows as COPY text, encoded by a worker
    months: list[tuple[Any, ...]] | None = None  # with copy_text: one (.., .., .., time_ms) per month
    facts_text: bytes | None = None  # with copy_text: the addresses' enrichment as COPY text
    seen_text: bytes | None = None  # with copy_text: ``seen`` as COPY text
    activity_text: bytes | None = None  # with copy_text: ``activity`` as COPY text

    def __post_init__(self) -> None:
        if self.count < 0:
            self.count = len(self.params)


def prepare_rows(rows: Sequence[EventRow], intel: IpIntel | None) -> PreparedBatch:
    """Enrich rows and aggregate the rollups (per account+IP and per account) in one pass.

    Rows come out grouped by account, in the order of the account index: each index
    page is then visited once per batch instead of once per row (C1)."""
    unique = _dedupe_in_batch(rows)
    unique.sort(key=ACCOUNT)  # stable: rows of one account keep their (mostly time) order
    country = intel.country if intel is not None else None
    countries: dict[bytes, str | None] = {}
    params: list[tuple[Any, ...]] = []
    append = params.append
    pairs: dict[tuple[str, bytes], list[Any]] = {}
    accounts: dict[str, list[int]] = {}
    for row in unique:
        ip = row[4]
        if country is None:
            code = None
        else:
            code = countries.get(ip, "?")
            if code == "?":
                code = countries[ip] = country(ip)
        append((*row, code))
        account = row[1]
        when = row[3]
        pair = pairs.get((account, ip))
        if pair is None:
            pairs[(account, ip)] = [when, when, 1, code]
        else:
            if when < pair[0]:
                pair[0] = when
            elif when > pair[1]:
                pair[1] = when
            pair[2] += 1
        span = accounts.get(account)
        if span is None:
            accounts[account] = [when, when, 1]
        else:
            if when < span[0]:
                span[0] = when
            elif when > span[1]:
                span[1] = when
            span[2] += 1
    seen: list[tuple[Any, ...]] = []
    same = intel.facts(bytes(16)) if intel is not None and intel.country_only else None
    for (account, ip), (first, last, count, code) in pairs.items():
        if same is not None:
            seen.append((account, ip, first, last, count, code, same.asn, same.tor_exit, same.hosting))
        elif intel is not None:
            facts = intel.facts(ip)
            seen.append((account, ip, first, last, count, code, facts.asn, facts.tor_exit, facts.hosting))
        else:
            seen.append((account, ip, first, last, count, code, None, None, None))
    activity = [(account, first, last, count) for account, (first, last, count) in accounts.items()]
    return PreparedBatch(params, seen, activity, len(rows))


def ip_facts(seen: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One (ip, country, asn, tor_exit, hosting) per address of the rollup rows."""
    facts: dict[bytes, tuple[Any, ...]] = {}
    for entry in seen:
        if entry[1] not in facts:
            facts[entry[1]] = (entry[1], entry[5], entry[6], entry[7], entry[8])
    return list(facts.values())


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
                "\r", "\\r")
        return str(value)
    if kind is bytes:
        return "\\\\x" + bytes(value).hex()
    return str(value)


def copy_text(params: Sequence[tuple[Any, ...]]) -> bytes:
    """Rows in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL, escaped)."""
    field = _copy_field
    return "".join("\t".join([field(value) for value in param]) + "\n" for param in params).encode()


def copy_text_plain(params: Sequence[tuple[Any, ...]]) -> bytes:
    """``copy_text`` of event rows none of whose texts holds a backslash, tab, newline or carriage
    return (true of every row decoded from JSON text without a backslash: JSON strings cannot hold
    raw control characters), in one formatted string per row instead of a call per field."""
    null = "\\N"
    return "".join(
        f"{null if event_id is None else event_id}\t{account}\t{principal}\t{time_ms}\t\\\\x{ip.hex()}\t{action}"
        f"\t{kind}\t{null if agent is None else agent}\t{null if source is None else source}"
        f"\t{null if country is None else country}\n"
        for event_id, account, principal, time_ms, ip, action, kind, agent, source, country in params
    ).encode()


