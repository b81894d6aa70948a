"""Versioned snapshots of the designated-persons lists (D3, D4).

``import_publication`` stores one loaded publication (``cloudcip.screening.loaders``) as a new
snapshot of its source, in one transaction with its ledger entry: a failure stores nothing and the
previous snapshot stays in force; a publication whose SHA-256 equals the in-force snapshot's is a
no-op. A publication given without some of its files (an OFAC SDN file alone) is refused unless
imported as partial on purpose, and a snapshot that drops more than a tenth of the parties or
names in force is imported with a warning. The in-force snapshot of a source is its highest
version. ``diff_snapshots`` tells which parties were added, removed or changed (by ``source_id``
and the hash of the party's document).

``generate_demo_list`` makes a small list of invented designated persons (Faker) so screening shows
on a fresh machine without shipping any real list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import Connection, func, insert, select

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.domain.designated import (
    DesignatedParty,
    ListedAddress,
    ListedDocument,
    ListedName,
    PartySchema,
)
from cloudcip.errors import InvalidInput, NotFound, Refused
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.schema import list_party, list_snapshot
from cloudcip.services import Services

Progress = Callable[[int, int], None]
INSERT_CHUNK = 1000
MAX_SOURCE_ID = 160
PARTY_SCHEMAS: frozenset[str] = frozenset({"Person", "Organization", "Vessel", "Aircraft", "Unknown"})


class SnapshotNotFound(NotFound, LookupError):
    """No snapshot with that id (or version of that source) (404)."""


# --- the party document --------------------------------------------------------------------------


def party_document(party: DesignatedParty) -> dict[str, Any]:
    """The JSON document of a party (the ``DesignatedParty`` model as plain data)."""
    return dataclasses.asdict(party)


def canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 of a party's canonical JSON: it changes exactly when the list entry changes."""
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def _nested(cls: Any, values: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def party_from_document(document: dict[str, Any]) -> DesignatedParty:
    """The ``DesignatedParty`` back from its stored document (fields the model lacks are ignored)."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(DesignatedParty):
        if item.name not in document:
            continue
        value = document[item.name]
        if item.name == "names":
            value = [_nested(ListedName, n) for n in value]
        elif item.name == "addresses":
            value = [_nested(ListedAddress, a) for a in value]
        elif item.name == "documents":
            value = [_nested(ListedDocument, d) for d in value]
        elif item.name == "wallets":
            value = [(str(w[0]), str(w[1])) for w in value]
        elif item.name == "schema" and value not in PARTY_SCHEMAS:
            value = "Unknown"
        values[item.name] = value
    return DesignatedParty(**values)


# --- import -------------------------------------------------------------------------------------


#: A new snapshot holding this share fewer parties or names than the one in force is imported with a
#: warning: a truncated file or a partial publication drops designated persons from screening.
DROP_WARNING_SHARE = 0.10


class IncompletePublication(Refused):
    """A publication given without some of its files (an OFAC SDN file without its ALT, ADD and
    COMMENTS files): refused unless imported as partial on purpose (422)."""


@dataclass(frozen=True)
class ImportResult:
    snapshot_id: str
    source: str
    version: int
    parties: int
    unchanged: bool  # the publication equals the in-force snapshot: nothing was stored
    previous_snapshot_id: str | None
    names: int = 0
    warnings: tuple[str, ...] = ()


def _names(parties: Sequence[DesignatedParty]) -> int:
    return sum(len(party.names) for party in parties)


def _stored_names(conn: Connection, snapshot_id: str) -> int:
    documents = conn.execute(select(list_party.c.document_json).where(list_party.c.snapshot_id == snapshot_id))
    return sum(len(json.loads(document).get("names") or []) for document in documents.scalars())


def _drop_warnings(source: str, previous: Any, previous_names: int, parties: int, names: int) -> list[str]:
    warnings = []
    for what, before, after in (("parties", int(previous.parties), parties), ("names", previous_names, names)):
        if before and after < before * (1 - DROP_WARNING_SHARE):
            warnings.append(f"the new snapshot of {source} has {before - after:,} fewer {what} than the one in force "
                            f"({after:,} instead of {before:,}, -{(before - after) / before:.0%}): those designated "
                            "persons are no longer screened against")
    return warnings


def _file_name(item: Any) -> str:
    return PurePath(str(item)).name


def _party_rows(snapshot_id: str, source: str, parties: Sequence[DesignatedParty]) -> Iterator[dict[str, Any]]:
    seen: dict[str, int] = {}
    for party in parties:
        base = (party.source_id or "").strip()[: MAX_SOURCE_ID - 8] or "unnamed"
        count = seen.get(base, 0) + 1
        seen[base] = count
        source_id = base if count == 1 else f"{base}#{count}"  # repeated ids stay distinct entries
        document = party_document(party)
        document["source"] = party.source or source
        document["source_id"] = source_id
        yield {
            "snapshot_id": snapshot_id,
            "source_id": source_id,
            "schema": party.schema,
            "document_hash": document_hash(document),
            "document_json": canonical(document),
        }


def in_force_snapshot(conn: Connection, source: str) -> Any:
    """The row of the highest version of ``source``, or None."""
    return conn.execute(
        select(list_snapshot).where(list_snapshot.c.source == source)
        .order_by(list_snapshot.c.version.desc()).limit(1)
    ).first()


def import_publication(
    services: Services,
    publication: ListPublication,
    actor: Actor,
    *,
    clock: Clock = clocks.now,
    progress: Progress | None = None,
    partial: bool = False,
) -> ImportResult:
    """Store ``publication`` as the new in-force snapshot of its source; all or nothing, on the ledger.

    A publication missing some of its files (``missing_parts``) is refused with
    :class:`IncompletePublication` unless ``partial``. A snapshot with more than
    ``DROP_WARNING_SHARE`` fewer parties or names than the one in force is stored with a warning in
    the result (and on the ledger)."""
    source = publication.source
    if not source or len(source) > 64:
        raise ValueError("a publication needs a source name of 1 to 64 characters")
    if publication.missing_parts and not partial:
        from cloudcip.screening.loaders.ofac import PARTS

        missing = ", ".join(PARTS.get(part, part) for part in publication.missing_parts)
        raise IncompletePublication.field(
            "paths", f"an incomplete publication: no {missing} file given; import all the files of one "
                     "publication together, or import it as partial on purpose (--partial)")
    parties = list(publication.parties)
    names = _names(parties)
    with services.ledger.unit_of_work() as work:
        previous = in_force_snapshot(work.conn, source)
        if previous is not None and previous.sha256 == publication.sha256:
            return ImportResult(previous.id, source, previous.version, previous.parties, True, previous.id, names)
        warnings = [] if previous is None else _drop_warnings(source, previous, _stored_names(work.conn, previous.id),
                                                               len(parties), names)
        snapshot_id = str(uuid.uuid4())
        version = (previous.version if previous is not None else 0) + 1
        files = [_file_name(f) for f in publication.files]
        work.conn.execute(insert(list_snapshot).values(
            id=snapshot_id, source=source, version=version, format=publication.format,
            sha256=publication.sha256, published=None if publication.published is None else str(publication.published),
            imported_at=clock(), imported_by=actor.name, parties=len(parties), files=json.dumps(files),
        ))
        chunk: list[dict[str, Any]] = []
        done = 0
        for row in _party_rows(snapshot_id, source, parties):
            chunk.append(row)
            if len(chunk) >= INSERT_CHUNK:
                work.conn.execute(insert(list_party), chunk)
                done += len(chunk)
                chunk = []
                if progress:
                    progress(done, len(parties))
        if chunk:
            work.conn.execute(insert(list_party), chunk)
            done += len(chunk)
        if progress:
            progress(done, len(parties))
        work.log(LedgerAction(
            actor.name, actor.role, "import_list", "list_snapshot", snapshot_id, purpose="list import",
            detail={"source": source, "format": publication.format, "version": version,
                    "sha256": publication.sha256, "parties": len(parties), "names": names, "files": files,
                    "missing_parts": publication.missing_parts, "warnings": warnings},
        ))
    return ImportResult(snapshot_id, source, version, len(parties), False,
                        previous.id if previous is not None else None, names, tuple(warnings))


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    source: str
    version: int
    format: str
    sha256: str
    published: str | None
    imported_at: datetime
    parties: int
    files: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "version": self.version, "format": self.format,
                "sha256": self.sha256, "published": self.published, "imported_at": self.imported_at.isoformat(),
                "parties": self.parties, "files": self.files}


def _info(row: Any) -> SnapshotInfo:
    return SnapshotInfo(row.id, row.source, row.version, row.format, row.sha256, row.published, row.imported_at,
                        row.parties, json.loads(row.files))


def snapshots(conn: Connection, source: str | None = None) -> list[SnapshotInfo]:
    """Every snapshot (of ``source``), by source then version."""
    query = select(list_snapshot).order_by(list_snapshot.c.source, list_snapshot.c.version)
    if source is not None:
        query = query.where(list_snapshot.c.source == source)
    return [_info(row) for row in conn.execute(query)]


def in_force_snapshots(conn: Connection) -> list[SnapshotInfo]:
    """The in-force (highest-version) snapshot of each source."""
    latest = (
        select(list_snapshot.c.source, func.max(list_snapshot.c.version).label("version"))
        .group_by(list_snapshot.c.source).subquery()
    )
    rows = conn.execute(
        select(list_snapshot).join(latest, (latest.c.source == list_snapshot.c.source)
                                   & (latest.c.version == list_snapshot.c.version))
        .order_by(list_snapshot.c.source)
    )
    return [_info(row) for row in rows]


def find_snapshot(conn: Connection, ref: str, source: str | None = None) -> SnapshotInfo:
    """A snapshot by id, or by version number (``source`` given) or ``source@version``."""
    if "@" in ref:
        source, _, ref = ref.rpartition("@")
    if ref.isdigit() and source:
        row = conn.execute(select(list_snapshot).where(
            (list_snapshot.c.source == source) & (list_snapshot.c.version == int(ref)))).first()
    else:
        row = conn.execute(select(list_snapshot).where(list_snapshot.c.id == ref)).first()
    if row is None:
        raise SnapshotNotFound(f"no such snapshot: {ref[:80]}")
    return _info(row)


def snapshot_parties(conn: Connection, snapshot_id: str) -> Iterator[tuple[DesignatedParty, str]]:
    """The parties of a snapshot with their document hashes."""
    rows = conn.execute(
        select(list_party.c.document_json, list_party.c.document_hash)
        .where(list_party.c.snapshot_id == snapshot_id).order_by(list_party.c.source_id)
    )
    for row in rows:
        yield party_from_document(json.loads(row.document_json)), row.document_hash


def _hashes(conn: Connection, snapshot_id: str) -> dict[str, str]:
    rows = conn.execute(select(list_party.c.source_id, list_party.c.document_hash)
                        .where(list_party.c.snapshot_id == snapshot_id))
    return {row.source_id: row.document_hash for row in rows}


@dataclass(frozen=True)
class SnapshotDiff:
    source: str
    older: SnapshotInfo
    newer: SnapshotInfo
    added: list[str]
    removed: list[str]
    changed: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "from": self.older.as_json(), "to": self.newer.as_json(),
                "added": self.added, "removed": self.removed, "changed": self.changed}


def diff_snapshots(conn: Connection, older: SnapshotInfo, newer: SnapshotInfo) -> SnapshotDiff:
    """Parties added, removed and changed (same ``source_id``, different document hash)."""
    if older.source != newer.source:
        raise InvalidInput(f"snapshots of different sources ({older.source}, {newer.source}) cannot be compared")
    a, b = _hashes(conn, older.id), _hashes(conn, newer.id)
    return SnapshotDiff(
        source=older.source, older=older, newer=newer,
        added=sorted(set(b) - set(a)),
        removed=sorted(set(a) - set(b)),
        changed=sorted(k for k in set(a) & set(b) if a[k] != b[k]),
    )


def latest_two(conn: Connection, source: str) -> tuple[SnapshotInfo, SnapshotInfo]:
    """The two newest snapshots of ``source`` (older first); ``SnapshotNotFound`` with fewer."""
    found = snapshots(conn, source)
    if len(found) < 2:
        raise SnapshotNotFound(f"source {source} has {len(found)} snapshot(s); a diff needs two")
    return found[-2], found[-1]


# --- demo list ----------------------------------------------------------------------------------

DEMO_LOCALES = ("en_US", "ru_RU", "ar_AA", "fa_IR", "zh_CN", "es_ES", "de_DE", "tr_TR", "fr_FR", "uk_UA")
DEMO_NATIONALITY = {"en_US": "US", "ru_RU": "RU", "ar_AA": "SY", "fa_IR": "IR", "zh_CN": "CN", "es_ES": "VE",
                    "de_DE": "DE", "tr_TR": "TR", "fr_FR": "FR", "uk_UA": "UA"}


def generate_demo_list(n: int = 50, seed: int = 13984) -> ListPublication:
    """A publication of ``n`` invented designated persons and entities (source ``demo``)."""
    from faker import Faker  # imported here: only the demo needs it

    if n < 0:
        raise ValueError("n must not be negative")
    fakers = {locale: Faker(locale) for locale in DEMO_LOCALES}
    latin = Faker("en_US")
    for position, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + position)
    latin.seed_instance(seed)
    parties: list[DesignatedParty] = []
    for i in range(n):
        locale = DEMO_LOCALES[i % len(DEMO_LOCALES)]
        faker = fakers[locale]
        source_id = f"DEMO-{i + 1:04d}"
        schema: PartySchema = "Organization" if i % 5 == 4 else "Person"
        if schema == "Organization":
            names = [ListedName(latin.company().upper())]
            parties.append(DesignatedParty(
                source="demo", source_id=source_id, schema=schema, names=names,
                addresses=[ListedAddress(text=latin.city(), country=DEMO_NATIONALITY[locale])],
                programs=["DEMO"], remarks="invented for the cloudcip demo",
            ))
            continue
        given, family = faker.first_name(), faker.last_name()
        names = [ListedName(f"{family}, {given}", given=given, family=family)]
        if locale != "en_US":
            names.append(ListedName(f"{latin.first_name()} {latin.last_name()}", quality="weak"))
        birth = faker.date_of_birth(minimum_age=25, maximum_age=75).isoformat()
        parties.append(DesignatedParty(
            source="demo", source_id=source_id, schema="Person", names=names,
            birth_dates=[birth], nationalities=[DEMO_NATIONALITY[locale]], gender=None,
            programs=["DEMO"], remarks="invented for the cloudcip demo",
        ))
    digest = hashlib.sha256(canonical({"parties": [party_document(p) for p in parties]}).encode()).hexdigest()
    return ListPublication(format="demo", source="demo", parties=parties, files=[], sha256=digest, published=None)


def listed_party(conn: Connection, source: str, source_id: str) -> dict[str, Any] | None:
    """The in-force list entry ``source:source_id`` as its stored document (what a reviewer compares a
    hit against), or ``None`` when the entry is no longer on the in-force list (D5)."""
    snapshot = in_force_snapshot(conn, source)
    if snapshot is None:
        return None
    text = conn.execute(select(list_party.c.document_json).where(
        list_party.c.snapshot_id == snapshot.id, list_party.c.source_id == source_id)).scalar()
    document: dict[str, Any] | None = json.loads(text) if text else None
    return document
