"""Collections, peers, grants, stored objects and statuses of the TAXII server (G3).

Who reads what:

- a key of role ``peer`` reads or writes only the collections its grants name;
- a TLP:RED object is served only to the peer named as its recipient;
- an object that came from a peer is re-served to another peer only when its TLP allows that
  (CLEAR, GREEN); AMBER, AMBER+STRICT and RED stay with us (and go back only to the peer they came from);
- internal roles (analysts, compliance officers) read every collection.

Objects a peer receives are scrubbed again (``scrubber.scrub``, not closed) as they leave.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from cloudcip import clock
from cloudcip.errors import Forbidden, InvalidInput, NotFound
from cloudcip.records.roles import Actor
from cloudcip.sharing.schema import sharing_collection, sharing_grant, sharing_object, sharing_peer, sharing_status
from cloudcip.sharing.scrubber import scrub
from cloudcip.sharing.tlp import TlpLevel
from cloudcip.storage.database import Database

INTERNAL_ROLES = frozenset({"analyst", "compliance-officer"})
RESHAREABLE = frozenset({"clear", "green"})
EPOCH_US = 0


def key_id(actor: Actor) -> str:
    return actor.name.removeprefix("apikey:")


def timestamp_us(moment: datetime) -> int:
    delta = clock.utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_us(value: int) -> str:
    """RFC 3339 with microseconds: ``2026-01-01T00:00:00.000000Z``."""
    seconds, micros = divmod(value, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str, field: str) -> datetime:
    """An RFC 3339 timestamp with or without fractional seconds (``Z`` or an offset); names ``field``."""
    value = text.strip()
    if "T" not in value:
        raise InvalidInput.field(field, "not an RFC 3339 timestamp")
    return clock.parse_instant(value, field)


def version_of(item: dict[str, Any], date_added_us: int) -> str:
    stamp = item.get("modified") or item.get("created")
    if isinstance(stamp, str):
        return format_us(timestamp_us(parse_timestamp(stamp, "modified")))
    return format_us(date_added_us)


@dataclass(frozen=True)
class Filters:
    added_after_us: int | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()

    def key(self) -> list[Any]:
        return [self.added_after_us, list(self.ids), list(self.types), list(self.versions), list(self.spec_versions)]

    def is_default(self) -> bool:
        return self == Filters()


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    more: bool
    next: str | None
    first_added_us: int | None
    last_added_us: int | None


def encode_next(filters: Filters, date_added_us: int, seq: int) -> str:
    raw = json.dumps({"f": filters.key(), "d": date_added_us, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next(token: str, filters: Filters) -> tuple[Filters, int, int]:
    """The filters and position a ``next`` token carries. Filters given with it must be the same
    (TAXII clients repeat them); none given means the token's; others are refused."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        kept = data["f"]
        stored = Filters(kept[0], tuple(kept[1]), tuple(kept[2]), tuple(kept[3]), tuple(kept[4]))
        position = (int(data["d"]), int(data["s"]))
    except Exception:
        raise InvalidInput.field("next", "not a token this server issued") from None
    if not filters.is_default() and filters != stored:
        raise InvalidInput.field("next", "the filters changed while paging; start again without next")
    return stored, position[0], position[1]


@dataclass
class SharingStore:
    database: Database

    # -- administration ------------------------------------------------------------------------
    def add_collection(self, title: str, description: str | None = None) -> str:
        if not title.strip() or len(title) > 200:
            raise InvalidInput.field("title", "between 1 and 200 characters")
        collection_id = str(uuid.uuid4())
        with self.database.write_gate(), self.database.engine.begin() as conn:
            conn.execute(insert(sharing_collection).values(id=collection_id, title=title.strip(),
                                                           description=description, created_at=clock.now()))
        return collection_id

    def add_peer(self, conn: Connection, api_key_id: str, name: str) -> None:
        if not name.strip() or len(name) > 200:
            raise InvalidInput.field("name", "between 1 and 200 characters")
        conn.execute(insert(sharing_peer).values(api_key_id=api_key_id, name=name.strip(), created_at=clock.now()))

    def grant(self, api_key_id: str, collection_id: str, *, read: bool, write: bool) -> None:
        with self.database.write_gate(), self.database.engine.begin() as conn:
            self.collection_row(conn, collection_id)
            if conn.execute(select(sharing_peer.c.name).where(sharing_peer.c.api_key_id == api_key_id)).first() is None:
                raise NotFound("no such peer key")
            conn.execute(sharing_grant.delete().where(sharing_grant.c.api_key_id == api_key_id,
                                                      sharing_grant.c.collection_id == collection_id))
            conn.execute(insert(sharing_grant).values(api_key_id=api_key_id, collection_id=collection_id,
                                                      can_read=read, can_write=write))

    # -- who may ---------------------------------------------------------------------------------
    def peer_name(self, conn: Connection, actor: Actor) -> str | None:
        if actor.role != "peer":
            return None
        row = conn.execute(select(sharing_peer.c.name).where(sharing_peer.c.api_key_id == key_id(actor))).first()
        return None if row is None else str(row.name)

    def collection_row(self, conn: Connection, collection_id: str) -> Any:
        row = conn.execute(select(sharing_collection).where(sharing_collection.c.id == collection_id)).first()
        if row is None:
            raise NotFound("no such collection")
        return row

    def rights(self, conn: Connection, actor: Actor, collection_id: str) -> tuple[bool, bool]:
        if actor.role in INTERNAL_ROLES:
            return True, actor.role == "compliance-officer"
        if actor.role != "peer":
            return False, False
        row = conn.execute(select(sharing_grant.c.can_read, sharing_grant.c.can_write)
                           .where(sharing_grant.c.api_key_id == key_id(actor),
                                  sharing_grant.c.collection_id == collection_id)).first()
        return (bool(row.can_read), bool(row.can_write)) if row is not None else (False, False)

    def collections(self, conn: Connection, actor: Actor) -> list[tuple[Any, bool, bool]]:
        rows = conn.execute(select(sharing_collection).order_by(sharing_collection.c.created_at)).all()
        listed = []
        for row in rows:
            can_read, can_write = self.rights(conn, actor, row.id)
            if can_read or can_write:
                listed.append((row, can_read, can_write))
        return listed

    def require(self, conn: Connection, actor: Actor, collection_id: str, *, write: bool = False) -> None:
        self.collection_row(conn, collection_id)
        can_read, can_write = self.rights(conn, actor, collection_id)
        if not (can_write if write else can_read):
            raise Forbidden(f"this key may not {'write to' if write else 'read'} this collection")

    # -- objects ---------------------------------------------------------------------------------
    def add_objects(self, conn: Connection, collection_id: str, objects: Sequence[dict[str, Any]], *, source: str,
                    tlp_of: dict[str, TlpLevel | None], recipient: str | None = None) -> list[dict[str, Any]]:
        """Store validated objects (one date added for the batch, microsecond apart); each outcome. The
        versions already stored of the batch's objects are read at once, the new rows inserted in one
        ``executemany`` (in order: ``seq`` follows the envelope), the stored rows no longer first or
        latest updated by id list."""
        added = timestamp_us(clock.now())
        column = sharing_object.c
        ids = sorted({str(item["id"]) for item in objects})
        stored: dict[str, set[str]] = {}
        for start in range(0, len(ids), 500):
            for object_id, version in conn.execute(select(column.object_id, column.version).where(
                    column.collection_id == collection_id, column.object_id.in_(ids[start:start + 500]))).all():
                stored.setdefault(str(object_id), set()).add(str(version))
        new_rows: dict[str, list[dict[str, Any]]] = {}  # by object id, this batch's rows
        not_latest: set[str] = set()  # objects whose stored rows are no longer the latest version
        not_first: set[str] = set()
        outcomes = []
        for offset, item in enumerate(objects):
            object_id = str(item["id"])
            date_added = added + offset
            version = version_of(item, date_added)
            batch_rows = new_rows.setdefault(object_id, [])
            versions = stored.get(object_id, set()) | {row["version"] for row in batch_rows}
            if version in versions:
                outcomes.append({"id": object_id, "version": version, "stored": False})
                continue
            is_latest = all(version > other for other in versions)
            is_first = all(version < other for other in versions)
            if is_latest and versions:
                not_latest.add(object_id)
                for row in batch_rows:
                    row["is_latest"] = False
            if is_first and versions:
                not_first.add(object_id)
                for row in batch_rows:
                    row["is_first"] = False
            level = tlp_of.get(object_id)
            peer_body = None
            if source != "local":  # what another peer receives, scrubbed once here rather than on every page
                kept = scrub([item], level or "clear", (), closed=False)
                peer_body = json.dumps(kept[0], sort_keys=True) if kept else ""
            batch_rows.append({
                "collection_id": collection_id, "object_id": object_id, "object_type": str(item["type"]),
                "version": version, "spec_version": str(item.get("spec_version", "2.1")), "date_added_us": date_added,
                "source": source[:200], "tlp": level, "recipient": recipient if level == "red" else None,
                "is_first": is_first, "is_latest": is_latest, "body": json.dumps(item, sort_keys=True),
                "peer_body": peer_body, "_order": offset})
            outcomes.append({"id": object_id, "version": version, "stored": True})
        for flag, objects_of in (("is_latest", not_latest), ("is_first", not_first)):
            listed = sorted(object_id for object_id in objects_of if object_id in stored)
            for start in range(0, len(listed), 500):
                conn.execute(update(sharing_object).where(column.collection_id == collection_id,
                                                          column.object_id.in_(listed[start:start + 500]))
                             .values({flag: False}))
        rows = sorted((row for batch_rows in new_rows.values() for row in batch_rows), key=lambda row: row["_order"])
        if rows:
            conn.execute(insert(sharing_object), [{k: v for k, v in row.items() if k != "_order"} for row in rows])
        return outcomes

    def _visible(self, conn: Connection, actor: Actor) -> Any:
        """The condition on ``sharing_object`` rows this reader may see (TLP honoured)."""
        if actor.role != "peer":
            return None
        peer = self.peer_name(conn, actor) or "\x00"
        column = sharing_object.c
        red_ok = or_(column.tlp.is_(None), column.tlp != "red", column.recipient == peer)
        reshare_ok = or_(column.source == "local", column.source == peer, column.tlp.in_(RESHAREABLE))
        return and_(red_ok, reshare_ok)

    def page(self, conn: Connection, actor: Actor, collection_id: str, filters: Filters, limit: int,
             next_token: str | None) -> tuple[Page, Filters]:
        position: tuple[int, int] | None = None
        if next_token:
            filters, date_added, seq = decode_next(next_token, filters)
            position = (date_added, seq)
        column = sharing_object.c
        conditions: list[Any] = [column.collection_id == collection_id]
        if filters.added_after_us is not None:
            conditions.append(column.date_added_us > filters.added_after_us)
        if filters.ids:
            conditions.append(column.object_id.in_(filters.ids))
        if filters.types:
            conditions.append(column.object_type.in_(filters.types))
        if filters.spec_versions:
            conditions.append(column.spec_version.in_(filters.spec_versions))
        version_terms: list[Any] = []
        for version in filters.versions:
            if version == "all":
                version_terms = []
                break
            if version == "last":
                version_terms.append(column.is_latest.is_(True))
            elif version == "first":
                version_terms.append(column.is_first.is_(True))
            else:
                version_terms.append(column.version == format_us(timestamp_us(parse_timestamp(version,
                                                                                            "match[version]"))))
        if version_terms:
            conditions.append(or_(*version_terms))
        visible = self._visible(conn, actor)
        if visible is not None:
            conditions.append(visible)
        if position is not None:
            conditions.append(or_(column.date_added_us > position[0],
                                  and_(column.date_added_us == position[0], column.seq > position[1])))
        rows: list[Any] = list(conn.execute(select(sharing_object).where(*conditions)
                                            .order_by(column.date_added_us, column.seq).limit(limit + 1)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        token = encode_next(filters, int(rows[-1].date_added_us), int(rows[-1].seq)) if more else None
        first = int(rows[0].date_added_us) if rows else None
        last = int(rows[-1].date_added_us) if rows else None
        return Page(rows, more, token, first, last), filters

    def served(self, actor: Actor, row: Any) -> str | None:
        """The object as this reader receives it, as JSON text: the stored text itself (never parsed
        again: a page of 1,000 is joined, not rebuilt), except that a peer gets peer-sourced objects
        scrubbed again (once, when stored: ``peer_body``; rows stored before it, here)."""
        if actor.role == "peer" and row.source != "local":
            if row.peer_body is not None:
                return str(row.peer_body) or None
            kept = scrub([json.loads(row.body)], row.tlp or "clear", (), closed=False)
            return json.dumps(kept[0], sort_keys=True) if kept else None
        return str(row.body)

    def count(self, conn: Connection, collection_id: str) -> int:
        return int(conn.execute(select(func.count()).select_from(sharing_object)
                                .where(sharing_object.c.collection_id == collection_id)).scalar_one())

    # -- status ----------------------------------------------------------------------------------
    def add_status(self, conn: Connection, collection_id: str, actor: Actor, request_timestamp: str,
                   detail: dict[str, Any]) -> str:
        status_id = str(uuid.uuid4())
        conn.execute(insert(sharing_status).values(
            id=status_id, collection_id=collection_id, api_key_id=key_id(actor)[:16],
            request_timestamp=request_timestamp, status="pending" if detail["pendings"] else "complete",
            detail=json.dumps(detail)))
        return status_id

    def status(self, conn: Connection, actor: Actor, status_id: str) -> dict[str, Any]:
        row = conn.execute(select(sharing_status).where(sharing_status.c.id == status_id)).first()
        if row is None or (actor.role == "peer" and row.api_key_id != key_id(actor)[:16]):
            raise NotFound("no such status")
        detail = json.loads(row.detail)
        return {"id": row.id, "status": row.status, "request_timestamp": row.request_timestamp,
                "total_count": len(detail["successes"]) + len(detail["failures"]) + len(detail["pendings"]),
                "success_count": len(detail["successes"]), "successes": detail["successes"],
                "failure_count": len(detail["failures"]), "failures": detail["failures"],
                "pending_count": len(detail["pendings"]), "pendings": detail["pendings"]}
