"""One-time codes for email and phone (A4 non-documentary methods): issued hashed, expiring,
attempt-limited. Delivery is the provider's: the code goes out once through its webhook."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_DIGITS = 6
DEFAULT_TTL = timedelta(minutes=10)
DEFAULT_MAX_ATTEMPTS = 5


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(challenge_id: str, code: str) -> str:
    """Keyed by the challenge id, so equal codes of different challenges hash differently."""
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()


@dataclass(frozen=True)
class OtpCheck:
    verified: bool
    reason: str  # verified | wrong_code | expired | too_many_attempts | already_used


def check_code(*, challenge_id: str, code_hash: str, presented: str, expires_at: datetime, attempts: int,
               max_attempts: int, verified_at: datetime | None, now: datetime) -> OtpCheck:
    if verified_at is not None:
        return OtpCheck(False, "already_used")
    if now >= expires_at:
        return OtpCheck(False, "expired")
    if attempts >= max_attempts:
        return OtpCheck(False, "too_many_attempts")
    if hmac.compare_digest(hash_code(challenge_id, presented.strip()), code_hash):
        return OtpCheck(True, "verified")
    return OtpCheck(False, "wrong_code")
