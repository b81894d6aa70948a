"""The local keyring: key-encryption keys and the blind-index key, in a 0600 file (B2).

The database never holds a key in the clear: it holds each customer's data key wrapped by a
key-encryption key (KEK) that lives only here. ``Keyring`` is the interface a KMS or Vault transit
backend would also implement; ``LocalKeyring`` is the embedded default.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudcip.errors import Internal

KEYRING_FORMAT = "cloudcip-keyring-v1"


class KeyringError(Internal, RuntimeError):
    """The keyring file is missing, unreadable, or lacks a key that is asked for."""


class Keyring(Protocol):
    """What envelope encryption needs from a key store."""

    @property
    def active_kek_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes: ...

    def blind_index_key(self) -> bytes: ...


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def write_private_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    os.chmod(path, 0o600)


@dataclass
class _KeyringState:
    keks: dict[str, bytes]
    active: str
    blind_index: bytes
    mtime_ns: int = 0


@dataclass
class LocalKeyring:
    """Keys kept in one JSON file with 0600 permissions; re-read when the file changes.

    A running service picks up a rotation made by ``cloudcip keys rotate`` in another process: an
    unknown KEK id or a changed file makes it reload.
    """

    path: Path
    _state: _KeyringState = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._state = self._read()

    # -- file handling -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> LocalKeyring:
        """Create a new keyring file (refuses to overwrite an existing one)."""
        if path.exists():
            raise KeyringError(f"keyring already exists at {path}")
        kek_id = "kek-" + secrets.token_hex(4)
        document = {
            "format": KEYRING_FORMAT,
            "active_kek": kek_id,
            "keks": {kek_id: _b64(AESGCM.generate_key(bit_length=256))},
            "blind_index_key": _b64(secrets.token_bytes(32)),
        }
        write_private_file(path, json.dumps(document, indent=2).encode())
        return cls(path)

    def _read(self) -> _KeyringState:
        try:
            stat = self.path.stat()
            document = json.loads(self.path.read_text())
        except FileNotFoundError as exc:
            raise KeyringError(f"no keyring at {self.path}; run `cloudcip init`") from exc
        except (OSError, ValueError) as exc:
            raise KeyringError(f"keyring at {self.path} is unreadable") from exc
        if document.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"keyring at {self.path} has an unknown format")
        keks = {kid: _unb64(value) for kid, value in document["keks"].items()}
        active = document["active_kek"]
        if active not in keks:
            raise KeyringError("keyring names an active key-encryption key it does not hold")
        return _KeyringState(keks, active, _unb64(document["blind_index_key"]), stat.st_mtime_ns)

    def _write(self, state: _KeyringState) -> None:
        document = {
            "format": KEYRING_FORMAT,
            "active_kek": state.active,
            "keks": {kid: _b64(key) for kid, key in state.keks.items()},
            "blind_index_key": _b64(state.blind_index),
        }
        write_private_file(self.path, json.dumps(document, indent=2).encode())
        self._state = self._read()

    def reload_if_changed(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._state.mtime_ns:
            with self._lock:
                self._state = self._read()

    # -- rotation ------------------------------------------------------------------------------
    def add_kek(self) -> str:
        """Add a new key-encryption key and make it the active one; returns its id."""
        with self._lock:
            state = self._read()
            kek_id = "kek-" + secrets.token_hex(4)
            state.keks[kek_id] = AESGCM.generate_key(bit_length=256)
            state.active = kek_id
            self._write(state)
        return kek_id

    def retire_keks(self, keep: set[str]) -> list[str]:
        """Remove every KEK not in ``keep`` (the active one always stays); returns removed ids."""
        with self._lock:
            state = self._read()
            removed = [kid for kid in state.keks if kid not in keep and kid != state.active]
            for kid in removed:
                del state.keks[kid]
            if removed:
                self._write(state)
        return removed

    @property
    def kek_ids(self) -> list[str]:
        return list(self._state.keks)

    # -- Keyring protocol ----------------------------------------------------------------------
    @property
    def active_kek_id(self) -> str:
        return self._state.active

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        self.reload_if_changed()
        state = self._state
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(state.keks[state.active]).encrypt(nonce, data_key, context + state.active.encode())
        return state.active, nonce + wrapped

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        if kek_id not in self._state.keks:
            self.reload_if_changed()
        key = self._state.keks.get(kek_id)
        if key is None:
            raise KeyringError(f"key-encryption key {kek_id} is not in the keyring")
        return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], context + kek_id.encode())

    def blind_index_key(self) -> bytes:
        return self._state.blind_index
