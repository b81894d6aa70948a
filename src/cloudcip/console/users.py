"""Per-person console users and their sessions (B3, B4).

Each person has an account of their own holding exactly one role of ``records.roles``: passwords
are kept as Argon2id hashes (argon2-cffi), a TOTP second factor is optional (pyotp, RFC 6238) and
its secret is sealed at rest. A session lives on the server; the browser holds only a random token
(its SHA-256 is the row's key) in a ``Secure``, ``HttpOnly``, ``SameSite=Strict`` cookie. A session
ends on sign-out, after ``idle`` without a request, after ``lifetime`` in all, or when the person is
disabled. Time comes from ``cloudcip.clock``, so tests move it instead of sleeping. Sign-ins,
sign-outs and changes to users go on the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select, update

from cloudcip import clock
from cloudcip.console.schema import console_session, console_user
from cloudcip.crypto.keyring import Keyring
from cloudcip.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import ROLES, Actor, Role
from cloudcip.storage.database import Database

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
# people of the provider use the console; services and peers use API keys
CONSOLE_ROLES: tuple[Role, ...] = tuple(r for r in ROLES if r in ("analyst", "compliance-officer", "legal",
                                                                 "auditor", "admin"))


class SignInRefused(Unauthenticated):
    """Username, password or code not accepted (one message for all three, on purpose)."""

    def headers(self) -> dict[str, str] | None:
        return None


@dataclass(frozen=True)
class ConsoleUser:
    id: str
    username: str
    role: Role
    totp: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> Actor:
        """Who this person is on the ledger: ``console:<username>`` with the person's role."""
        return Actor(name=f"console:{self.username}", role=self.role)


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: ConsoleUser
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    purposes: dict[str, str]

    def purpose_for(self, record: str) -> str | None:
        return self.purposes.get(record)


def _user(row: Any) -> ConsoleUser:
    return ConsoleUser(row.id, row.username, row.role, row.totp_sealed is not None, bool(row.disabled),
                       clock.utc(row.created_at), clock.utc_or_none(row.last_login_at))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ConsoleUsers:
    """Console users and sessions of one database (built where the app and CLI are wired)."""

    database: Database
    keyring: Keyring
    ledger: Ledger
    idle: timedelta = timedelta(minutes=15)
    lifetime: timedelta = timedelta(hours=12)
    hasher: PasswordHasher = field(default_factory=PasswordHasher)  # Argon2id with argon2-cffi's defaults
    _dummy: str = field(default="", init=False, repr=False)

    # -- the TOTP secret, sealed -------------------------------------------------------------------
    def _totp_key(self) -> bytes:
        return hmac.new(self.keyring.blind_index_key(), b"cloudcip-console-totp", hashlib.sha256).digest()

    def _seal_totp(self, user_id: str, secret: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self._totp_key()).encrypt(nonce, secret.encode(), f"console_user|{user_id}".encode())

    def _open_totp(self, user_id: str, sealed: bytes) -> str:
        return AESGCM(self._totp_key()).decrypt(sealed[:12], sealed[12:], f"console_user|{user_id}".encode()).decode()

    # -- users -------------------------------------------------------------------------------------
    def add(self, username: str, password: str, role: str, actor: Actor, *, totp: bool = False
            ) -> tuple[ConsoleUser, str | None]:
        """A new person; returns the user and, with ``totp``, the provisioning URI for an authenticator."""
        if not USERNAME.match(username):
            raise InvalidInput.field("username", "2-32 characters: lower-case letters, digits, '.', '_', '-'; "
                                     "starting with a letter")
        if role not in CONSOLE_ROLES:
            raise InvalidInput.field("role", f"one of {', '.join(CONSOLE_ROLES)}")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput.field("password", f"{MIN_PASSWORD} to {MAX_PASSWORD} characters")
        user_id = secrets.token_hex(6)
        secret = pyotp.random_base32() if totp else None
        now = clock.now()
        with self.ledger.unit_of_work() as work:
            if work.conn.execute(select(console_user.c.id).where(console_user.c.username == username)).first():
                raise Conflict("a console user with this username exists")
            work.conn.execute(insert(console_user).values(
                id=user_id, username=username, password_hash=self.hasher.hash(password), role=role,
                totp_sealed=self._seal_totp(user_id, secret) if secret else None, disabled=False,
                created_at=now, created_by=actor.name))
            work.log(LedgerAction(actor.name, actor.role, "create", "console_user", user_id,
                                  purpose="console access", detail={"role": role, "totp": bool(secret)}))
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="cloudcip") if secret else None
        return self.get(username), uri

    def get(self, username: str) -> ConsoleUser:
        with self.database.engine.connect() as conn:
            row = conn.execute(select(console_user).where(console_user.c.username == username)).first()
        if row is None:
            raise NotFound("no such console user")
        return _user(row)

    def list(self) -> list[ConsoleUser]:
        with self.database.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(console_user).order_by(console_user.c.username))]

    def disable(self, username: str, actor: Actor) -> ConsoleUser:
        """The person can no longer sign in; their open sessions end now."""
        now = clock.now()
        with self.ledger.unit_of_work() as work:
            row = work.conn.execute(select(console_user).where(console_user.c.username == username)).first()
            if row is None:
                raise NotFound("no such console user")
            work.conn.execute(update(console_user).where(console_user.c.id == row.id).values(
                disabled=True, disabled_at=now))
            work.conn.execute(update(console_session).where(
                console_session.c.user_id == row.id, console_session.c.ended_at.is_(None)).values(ended_at=now))
            work.log(LedgerAction(actor.name, actor.role, "disable", "console_user", row.id,
                                  purpose="console access"))
        return self.get(username)

    def totp_now(self, username: str) -> str:
        """The current code of a user's authenticator (tests and first set-up only)."""
        with self.database.engine.connect() as conn:
            row = conn.execute(select(console_user).where(console_user.c.username == username)).first()
        if row is None or row.totp_sealed is None:
            raise NotFound("no console user with a second factor by this name")
        return str(pyotp.TOTP(self._open_totp(row.id, bytes(row.totp_sealed))).at(clock.now()))

    # -- signing in and out ------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, code: str | None) -> tuple[str, Session]:
        """Check the password (and the TOTP code when the person has one); a new session and its token."""
        with self.database.engine.connect() as conn:
            row = conn.execute(select(console_user).where(console_user.c.username == username)).first()
        if row is None:
            self._verify(self._dummy_hash(), password)  # the same work whether or not the username exists
            raise SignInRefused("username, password or code not accepted")
        if not self._verify(row.password_hash, password) or row.disabled:
            raise SignInRefused("username, password or code not accepted")
        now = clock.now()
        if row.totp_sealed is not None:
            secret = self._open_totp(row.id, bytes(row.totp_sealed))
            if not code or not pyotp.TOTP(secret).verify(code.strip(), for_time=now, valid_window=1):
                raise SignInRefused("username, password or code not accepted")
        token = secrets.token_urlsafe(32)
        user = _user(row)
        with self.ledger.unit_of_work() as work:
            if self.hasher.check_needs_rehash(row.password_hash):
                work.conn.execute(update(console_user).where(console_user.c.id == row.id).values(
                    password_hash=self.hasher.hash(password)))
            work.conn.execute(update(console_user).where(console_user.c.id == row.id).values(last_login_at=now))
            work.conn.execute(insert(console_session).values(
                token_hash=_token_hash(token), user_id=row.id, csrf_token=secrets.token_urlsafe(32),
                created_at=now, last_seen_at=now, ended_at=None, purposes_json="{}"))
            work.log(LedgerAction(user.actor.name, user.role, "sign_in", "console_user", row.id,
                                  purpose="console access", detail={"second_factor": row.totp_sealed is not None}))
        session = self.session(token)
        assert session is not None
        return token, session

    def session(self, token: str | None, *, touch: bool = True) -> Session | None:
        """The live session of ``token``; ``None`` when unknown, ended, idle too long, too old or its
        person disabled. A live session's last activity moves to now (``touch``)."""
        if not token or len(token) > 100:
            return None
        key = _token_hash(token)
        now = clock.now()
        s, u = console_session.c, console_user.c
        with self.database.engine.connect() as conn:
            row = conn.execute(select(
                s.user_id, s.csrf_token, s.created_at.label("session_created"), s.last_seen_at, s.ended_at,
                s.purposes_json, u.username, u.role, u.totp_sealed, u.disabled, u.created_at.label("user_created"),
                u.last_login_at).join_from(console_session, console_user, u.id == s.user_id)
                .where(s.token_hash == key)).first()
        if row is None or row.ended_at is not None or row.disabled:
            return None
        last_seen = clock.utc(row.last_seen_at)
        if now - last_seen > self.idle or now - clock.utc(row.session_created) > self.lifetime:
            self.end(token, reason="expired")
            return None
        if touch and now - last_seen > timedelta(seconds=5):  # one write per few seconds at most
            with self.database.write_gate(), self.database.engine.begin() as conn:
                conn.execute(update(console_session).where(console_session.c.token_hash == key)
                             .values(last_seen_at=now))
        user = ConsoleUser(row.user_id, row.username, row.role, row.totp_sealed is not None, False,
                           clock.utc(row.user_created), clock.utc_or_none(row.last_login_at))
        return Session(key, user, row.csrf_token, clock.utc(row.session_created), now, json.loads(row.purposes_json))

    def remember_purpose(self, session: Session, record: str, purpose: str) -> None:
        """Keep the purpose the person stated for ``record`` for the rest of the session."""
        with self.database.write_gate(), self.database.engine.begin() as conn:
            stored = conn.execute(select(console_session.c.purposes_json)
                                  .where(console_session.c.token_hash == session.token_hash)).scalar()
            purposes: dict[str, str] = json.loads(stored or "{}")
            purposes.pop(record, None)
            purposes[record] = purpose
            if len(purposes) > 200:  # a long session keeps the newest
                purposes = dict(list(purposes.items())[-200:])
            conn.execute(update(console_session).where(console_session.c.token_hash == session.token_hash)
                         .values(purposes_json=json.dumps(purposes)))
        session.purposes[record] = purpose

    def forget_purpose(self, session: Session, record: str) -> None:
        with self.database.write_gate(), self.database.engine.begin() as conn:
            stored = conn.execute(select(console_session.c.purposes_json)
                                  .where(console_session.c.token_hash == session.token_hash)).scalar()
            purposes: dict[str, str] = json.loads(stored or "{}")
            for key in [k for k in purposes if k == record or k.startswith(record + "#")]:
                purposes.pop(key)
            conn.execute(update(console_session).where(console_session.c.token_hash == session.token_hash)
                         .values(purposes_json=json.dumps(purposes)))
        session.purposes.pop(record, None)

    def end(self, token: str, reason: str = "signed_out") -> None:
        key = _token_hash(token)
        with self.ledger.unit_of_work() as work:
            s, u = console_session.c, console_user.c
            row = work.conn.execute(select(s.user_id, s.ended_at, u.username, u.role)
                                    .join_from(console_session, console_user, u.id == s.user_id)
                                    .where(s.token_hash == key)).first()
            if row is None or row.ended_at is not None:
                return
            work.conn.execute(update(console_session).where(console_session.c.token_hash == key)
                              .values(ended_at=clock.now()))
            work.log(LedgerAction(f"console:{row.username}", row.role, "sign_out", "console_user", row.user_id,
                                  purpose="console access", detail={"how": reason}))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if not self._dummy:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy
