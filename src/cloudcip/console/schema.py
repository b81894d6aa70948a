"""Tables of the analysts' console: per-person users, their sessions, and claims on queue items
(A6, B3, B4, D5).

- ``console_user``: one row per person (never shared): a username, an Argon2id password hash, one of
  the roles of ``records.roles``, an optional TOTP secret (sealed), and whether the person is disabled.
- ``console_session``: server-side sessions; the cookie holds a random token whose SHA-256 is the
  key here, so a copy of the table does not let anyone in. Each row keeps the CSRF token of its
  forms, its last activity (idle timeout) and the purposes the person stated for the records opened.
- ``console_claim``: who works a queue item (a case or a hit) right now, so two people do not.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, LargeBinary, String, Table, Text

from cloudcip.storage.metadata import metadata

console_user = Table(
    "console_user",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # Argon2id (argon2-cffi), never the password
    Column("role", String(32), nullable=False),
    Column("totp_sealed", LargeBinary),  # AES-GCM under a key derived from the keyring; null: no TOTP
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("last_login_at", DateTime(timezone=True)),
)

console_session = Table(
    "console_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(16), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("purposes_json", Text, nullable=False, default="{}"),  # record reference -> stated purpose
)

console_claim = Table(
    "console_claim",
    metadata,
    Column("item", String(64), primary_key=True),  # "case:<application id>" | "hit:<hit id>"
    Column("user_id", String(16), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Index("ix_console_claim_user", "user_id"),
)
