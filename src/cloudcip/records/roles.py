"""Roles, permissions and purposes: who may do what to a record, and what must be stated (B4).

The signup service writes; analysts see masked data; compliance officers unmask with a stated
purpose; legal staff unmask only against a recorded legal basis; administrators purge and may break
the glass, loudly; auditors read the ledger. Nobody reads without being on the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, insert, select

from cloudcip.errors import Forbidden
from cloudcip.storage.schema import api_key

Role = Literal["signup-service", "event-ingest", "analyst", "compliance-officer", "legal", "auditor", "admin", "peer"]
ROLES: tuple[Role, ...] = (
    "signup-service",
    "event-ingest",
    "analyst",
    "compliance-officer",
    "legal",
    "auditor",
    "admin",
    "peer",
)

Permission = Literal[
    "customer:create",
    "customer:read",
    "customer:unmask",
    "customer:search",
    "customer:purge",
    "ledger:read",
    "break_glass",
    "screening:read",
    "screening:adjudicate",
    "measures:write",
    "lists:write",
    "application:submit",
    "application:read",
    "application:decide",
    "access:ingest",
    "access:read",
    "sub_lessee:share",
    "sub_lessee:read",
    "incident:create",
    "incident:read",
    "incident:disclose",
    "sharing:export",
    "sharing:manage",
    "sharing:adjudicate",
    "taxii:read",
    "taxii:write",
    "links:read",
]

PERMISSIONS: dict[Permission, frozenset[Role]] = {
    "customer:create": frozenset({"signup-service"}),
    "customer:read": frozenset({"analyst", "compliance-officer", "legal", "admin"}),
    "customer:unmask": frozenset({"compliance-officer", "legal"}),
    "customer:search": frozenset({"analyst", "compliance-officer", "legal"}),
    "customer:purge": frozenset({"admin"}),
    "ledger:read": frozenset({"auditor", "compliance-officer", "admin"}),
    "break_glass": frozenset({"admin"}),
    "screening:read": frozenset({"analyst", "compliance-officer", "auditor", "admin"}),
    "screening:adjudicate": frozenset({"analyst", "compliance-officer"}),
    "measures:write": frozenset({"compliance-officer"}),
    "lists:write": frozenset({"compliance-officer", "admin"}),
    "application:submit": frozenset({"signup-service"}),
    "application:read": frozenset({"signup-service", "analyst", "compliance-officer", "admin"}),
    "application:decide": frozenset({"analyst", "compliance-officer"}),
    "access:ingest": frozenset({"signup-service", "event-ingest"}),
    "access:read": frozenset({"analyst", "compliance-officer", "legal"}),
    "sub_lessee:share": frozenset({"signup-service"}),
    "sub_lessee:read": frozenset({"analyst", "compliance-officer", "admin"}),
    # G3, G4: incident reports, sharing with peers (a peer's key reaches only the TAXII collections
    # its grants name), the linkage graph
    "incident:create": frozenset({"analyst", "compliance-officer"}),
    "incident:read": frozenset({"analyst", "compliance-officer", "legal", "admin"}),
    "incident:disclose": frozenset({"compliance-officer"}),
    "sharing:export": frozenset({"compliance-officer"}),
    "sharing:manage": frozenset({"compliance-officer", "admin"}),
    "sharing:adjudicate": frozenset({"analyst", "compliance-officer"}),
    "taxii:read": frozenset({"peer", "compliance-officer", "analyst"}),
    "taxii:write": frozenset({"peer", "compliance-officer"}),
    "links:read": frozenset({"analyst", "compliance-officer", "legal", "admin"}),
}


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key's id (never a person's name) and its role."""

    name: str
    role: Role


def may(role: str, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


class AccessRefused(Forbidden, PermissionError):
    """The actor's role or the stated purpose does not allow the access (403; the detail names the
    role and what is missing, never the record)."""


KEY_PREFIX = "ccip"


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(conn: Connection, role: Role, label: str | None, now: datetime) -> str:
    """Store a new API key (hashed) and return it in full, once: ``ccip_<id>_<secret>``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(api_key).values(id=key_id, secret_hash=_hash_secret(secret), role=role, label=label, created_at=now)
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(conn: Connection, presented: str) -> Actor | None:
    """The actor an API key stands for, or None when the key is unknown, malformed or revoked."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1].isalnum() or len(parts[1]) > 16:
        return None
    row = conn.execute(
        select(api_key.c.secret_hash, api_key.c.role, api_key.c.revoked_at).where(api_key.c.id == parts[1])
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash_secret(parts[2])):
        return None
    return Actor(name=f"apikey:{parts[1]}", role=row.role)
