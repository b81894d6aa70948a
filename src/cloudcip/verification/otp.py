"""One-time codes for email and phone (A4 non-documentary methods): issued hashed, expiring,
attempt-limited, hashed with a keyed MAC (B2). Delivery is the provider's: the code goes out once
through its webhook, and the outbox forgets it once the notice is delivered or given up
(``jobs.webhooks``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudcip.crypto.envelope import purpose_key

CODE_DIGITS = 6
DEFAULT_TTL = timedelta(minutes=10)
DEFAULT_MAX_ATTEMPTS = 5


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_key(index_key: bytes) -> bytes:
    """The key of the codes' MAC, derived from the keyring's blind-index key (B2): the database never
    holds it, so a copy of the table cannot be searched over the million possible codes."""
    return purpose_key(index_key, "otp-code")


def hash_code(key: bytes, challenge_id: str, code: str) -> str:
    """HMAC-SHA256 under ``code_key``, bound to the challenge id, so equal codes of different
    challenges hash differently."""
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OtpCheck:
    verified: bool
    reason: str  # verified | wrong_code | expired | too_many_attempts | already_used


def check_code(*, key: bytes, challenge_id: str, code_hash: str, presented: str, expires_at: datetime, attempts: int,
               max_attempts: int, verified_at: datetime | None, now: datetime) -> OtpCheck:
    if verified_at is not None:
        return OtpCheck(False, "already_used")
    if now >= expires_at:
        return OtpCheck(False, "expired")
    if attempts >= max_attempts:
        return OtpCheck(False, "too_many_attempts")
    if hmac.compare_digest(hash_code(key, challenge_id, presented.strip()), code_hash):
        return OtpCheck(True, "verified")
    return OtpCheck(False, "wrong_code")
