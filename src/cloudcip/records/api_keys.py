"""API keys: one role each, stored hashed, with an expiry, a last-used time and revocation (B4).

A key is ``ccip_<id>_<secret>``; only the SHA-256 of the 256-bit random secret is stored. Every
request looks its key up (one primary-key read): a revoked or expired key is refused at once, in
every worker process and on every node, with no cache to wait out. The last-used time is written
at most once a minute per key and process (``LAST_USED_EVERY``), so authentication stays a read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select, update

from cloudcip import clock
from cloudcip.errors import InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.storage.database import Database
from cloudcip.storage.schema import api_key

if TYPE_CHECKING:
    from cloudcip.records.roles import Actor, Role

KEY_PREFIX = "ccip"
LAST_USED_EVERY = timedelta(seconds=60)


class ApiKeyNotFound(NotFound):
    """No API key with that id."""

    def __init__(self) -> None:
        super().__init__("no such API key")


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown of a key: never its secret or hash."""

    id: str
    role: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "label": self.label, "state": self.state(now),
                "created_at": clock.iso(self.created_at), "expires_at": clock.iso(self.expires_at),
                "last_used_at": clock.iso(self.last_used_at), "revoked_at": clock.iso(self.revoked_at)}


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(conn: Connection, role: Role, label: str | None, now: datetime,
                   expires_at: datetime | None = None) -> str:
    """Store a new API key (hashed) and return it in full, once: ``ccip_<id>_<secret>``."""
    from cloudcip.records.roles import ROLES

    if role not in ROLES:
        raise InvalidInput.field("role", f"unknown role; one of {', '.join(ROLES)}")
    if expires_at is not None and clock.utc(expires_at) <= clock.utc(now):
        raise InvalidInput.field("expires_at", "must be in the future")
    if label is not None and (len(label) > 200 or not label.isprintable()):
        raise InvalidInput.field("label", "at most 200 printable characters")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    conn.execute(insert(api_key).values(id=key_id, secret_hash=_hash_secret(secret), role=role, label=label,
                                        created_at=now, expires_at=expires_at))
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def key_id_of(presented: str) -> str | None:
    """The public id part of a presented key, or None when it is not shaped like one."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1].isalnum() or len(parts[1]) > 16:
        return None
    return parts[1]


#: the row ``authenticate`` reads, built once: building the statement on every request cost more than
#: running it (~0.1 ms of a worker's CPU per request)
_KEY_ROW = select(api_key.c.secret_hash, api_key.c.role, api_key.c.revoked_at, api_key.c.expires_at).where(
    api_key.c.id == bindparam("key_id"))


def authenticate(conn: Connection, presented: str, now: datetime | None = None) -> Actor | None:
    """The actor an API key stands for, or None when the key is unknown, malformed, revoked or expired."""
    from cloudcip.records.roles import Actor

    key_id = key_id_of(presented)
    if key_id is None:
        return None
    row = conn.execute(_KEY_ROW, {"key_id": key_id}).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and clock.utc(row.expires_at) <= clock.utc(now or clock.now()):
        return None
    if not hmac.compare_digest(row.secret_hash, _hash_secret(presented.split("_", 2)[2])):
        return None
    return Actor(name=f"apikey:{key_id}", role=row.role)


def touch(conn: Connection, key_id: str, now: datetime) -> None:
    """Record that the key was used at ``now`` (callers do it at most every ``LAST_USED_EVERY``)."""
    conn.execute(update(api_key).where(api_key.c.id == key_id).values(last_used_at=now))


def _info(row: Any) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.role, row.label, clock.utc(row.created_at), clock.utc_or_none(row.expires_at),
                      clock.utc_or_none(row.last_used_at), clock.utc_or_none(row.revoked_at))


def list_api_keys(conn: Connection) -> list[ApiKeyInfo]:
    """Every key, oldest first (revoked and expired ones too: they stay for the record)."""
    columns = (api_key.c.id, api_key.c.role, api_key.c.label, api_key.c.created_at, api_key.c.expires_at,
               api_key.c.last_used_at, api_key.c.revoked_at)
    return [_info(row) for row in conn.execute(select(*columns).order_by(api_key.c.created_at, api_key.c.id))]


def get_api_key(conn: Connection, key_id: str) -> ApiKeyInfo:
    for info in list_api_keys_by_id(conn, [key_id]):
        return info
    raise ApiKeyNotFound


def list_api_keys_by_id(conn: Connection, ids: list[str]) -> list[ApiKeyInfo]:
    columns = (api_key.c.id, api_key.c.role, api_key.c.label, api_key.c.created_at, api_key.c.expires_at,
               api_key.c.last_used_at, api_key.c.revoked_at)
    return [_info(row) for row in conn.execute(select(*columns).where(api_key.c.id.in_(ids)))]


def revoke_api_key(conn: Connection, key_id: str, now: datetime) -> ApiKeyInfo:
    """Revoke a key (kept, never deleted); revoking a revoked key changes nothing. ``ApiKeyNotFound``."""
    current = get_api_key(conn, key_id)
    if current.revoked_at is None:
        conn.execute(update(api_key).where(api_key.c.id == key_id, api_key.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    return get_api_key(conn, key_id)


@dataclass
class ApiKeyRegister:
    """Creating, listing and revoking keys, each change on the ledger (B3, B4): the CLI's
    ``cloudcip apikeys`` and the admin's ``/v1/apikeys`` both go through here."""

    database: Database
    ledger: Ledger

    def create(self, actor: Actor, role: Role, label: str | None = None,
               expires_at: datetime | None = None) -> tuple[str, ApiKeyInfo]:
        """A new key (shown once) and what may be shown of it afterwards."""
        with self.ledger.unit_of_work() as work:
            key = create_api_key(work.conn, role, label, clock.now(), expires_at)
            key_id = key.split("_")[1]
            work.log(LedgerAction(actor.name, actor.role, "create_api_key", "api_key", key_id,
                                  detail={"role": role, "expires_at": clock.iso(expires_at)}))
            return key, get_api_key(work.conn, key_id)

    def list(self) -> list[ApiKeyInfo]:
        with self.database.engine.connect() as conn:
            return list_api_keys(conn)

    def revoke(self, actor: Actor, key_id: str) -> ApiKeyInfo:
        """Revoke at once: the next request with the key is refused by every worker and node."""
        with self.ledger.unit_of_work() as work:
            info = revoke_api_key(work.conn, key_id, clock.now())
            work.log(LedgerAction(actor.name, actor.role, "revoke_api_key", "api_key", key_id,
                                  detail={"role": info.role}))
            return info
