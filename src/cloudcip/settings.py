"""Configuration from the environment and the command line; where data, keys and the ledger live.

Served requirements: B1, B2, B3 (where records, keys and the ledger checkpoint are kept).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "cloudcip-data"
MAX_REQUEST_BYTES_DEFAULT = 1_000_000
WEBHOOK_URL_ENV = "CLOUDCIP_WEBHOOK_URL"


@dataclass(frozen=True)
class Settings:
    """Everything a cloudcip process needs to find its data."""

    data_dir: Path
    database_url: str
    witness_url: str | None = None
    max_request_bytes: int = MAX_REQUEST_BYTES_DEFAULT
    profile: str = "eo13984-nprm-2024"
    policy_path: Path | None = None
    veriff_secret: str | None = None
    console_idle_minutes: int = 15  # a console session ends after this long without a request
    console_session_hours: int = 12  # and after this long in all
    #: H1: no foreign customer is granted access before a CIP certification is filed. On unless
    #: CLOUDCIP_CERTIFICATION_GATE=off (a provider whose certification is filed elsewhere); off in a
    #: Settings built by hand (tests of other controls), on in every process started from the environment.
    certification_gate: bool = False
    # G3: the name under which this provider shares (its STIX identity), and the peers it pulls from
    sharing_provider_name: str = "cloudcip provider"
    sharing_peers_path: Path | None = None
    #: G3: how often ``serve`` pulls from those peers, and matches the stored indicators again against
    #: what arrived since (access events inside their windows, new customers and sub-lessees)
    sharing_pull_every_seconds: float = 900.0
    sharing_rematch_every_seconds: float = 3600.0

    @property
    def keyring_path(self) -> Path:
        return self.data_dir / "keyring.json"

    @property
    def ledger_key_path(self) -> Path:
        return self.data_dir / "ledger-signing-key.pem"

    @property
    def ledger_checkpoint_path(self) -> Path:
        return self.data_dir / "ledger-checkpoints.jsonl"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(data_dir: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Settings from arguments first, then ``CLOUDCIP_*`` environment variables, then defaults."""
    directory = Path(data_dir or os.environ.get("CLOUDCIP_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
    directory = directory.resolve()
    url = database_url or os.environ.get("CLOUDCIP_DATABASE_URL") or f"sqlite:///{directory / 'cloudcip.db'}"
    policy = os.environ.get("CLOUDCIP_POLICY")
    return Settings(
        data_dir=directory,
        database_url=url,
        witness_url=os.environ.get("CLOUDCIP_WITNESS_URL") or None,
        max_request_bytes=int(os.environ.get("CLOUDCIP_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES_DEFAULT)),
        profile=os.environ.get("CLOUDCIP_PROFILE", "eo13984-nprm-2024"),
        policy_path=Path(policy) if policy else None,
        veriff_secret=os.environ.get("CLOUDCIP_VERIFF_SECRET") or None,
        console_idle_minutes=int(os.environ.get("CLOUDCIP_CONSOLE_IDLE_MINUTES", 15)),
        console_session_hours=int(os.environ.get("CLOUDCIP_CONSOLE_SESSION_HOURS", 12)),
        certification_gate=os.environ.get("CLOUDCIP_CERTIFICATION_GATE", "on").strip().lower()
        not in ("off", "0", "false", "no"),
        sharing_provider_name=os.environ.get("CLOUDCIP_SHARING_PROVIDER_NAME") or "cloudcip provider",
        sharing_peers_path=Path(peers) if (peers := os.environ.get("CLOUDCIP_SHARING_PEERS")) else None,
        sharing_pull_every_seconds=_seconds("CLOUDCIP_SHARING_PULL_EVERY_SECONDS", 900.0),
        sharing_rematch_every_seconds=_seconds("CLOUDCIP_SHARING_REMATCH_EVERY_SECONDS", 3600.0),
    )


def _seconds(name: str, default: float) -> float:
    """A period in seconds from the environment: a number of at least 60, else the process does not start
    (the error names the variable, never a value)."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds") from None
    if not value >= 60:
        raise ValueError(f"{name} must be at least 60 seconds")
    return value


def webhook_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Where decision and measure notices are posted (A6, D4): ``CLOUDCIP_WEBHOOK_URL``; unset or
    empty: delivery is off and notices wait in the outbox. Read afresh at each delivery pass, so
    setting it takes effect without a restart."""
    env = os.environ if environ is None else environ
    return env.get(WEBHOOK_URL_ENV) or None
