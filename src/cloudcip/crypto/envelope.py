"""Envelope encryption of sensitive fields with AES-256-GCM (B2).

Each customer has one data key; the keyring's key-encryption key wraps it. Every sealed value is
bound by associated data to its table, column and row, so a ciphertext copied to another row, column
or table fails to open.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cloudcip.crypto.keyring import Keyring
from cloudcip.errors import Internal

SEALED_VERSION = b"\x01"


class SealError(Internal, ValueError):
    """A sealed value does not open: wrong key, wrong place, or tampered (the detail names the table
    and column, never the row or the value)."""


def _data_key_context(owner_id: str) -> bytes:
    return b"cloudcip-data-key|" + owner_id.encode() + b"|"


def _field_context(table: str, column: str, row_id: str) -> bytes:
    return f"{table}|{column}|{row_id}".encode()


@dataclass(frozen=True)
class WrappedDataKey:
    kek_id: str
    wrapped: bytes


def new_data_key(keyring: Keyring, owner_id: str) -> tuple[bytes, WrappedDataKey]:
    """A fresh 256-bit data key for ``owner_id`` and its wrapped form for storage."""
    data_key = AESGCM.generate_key(bit_length=256)
    kek_id, wrapped = keyring.wrap(data_key, _data_key_context(owner_id))
    return data_key, WrappedDataKey(kek_id, wrapped)


def unwrap_data_key(keyring: Keyring, owner_id: str, stored: WrappedDataKey) -> bytes:
    try:
        return keyring.unwrap(stored.kek_id, stored.wrapped, _data_key_context(owner_id))
    except InvalidTag as exc:
        raise SealError("data key does not unwrap") from exc


def rewrap_data_key(keyring: Keyring, owner_id: str, stored: WrappedDataKey) -> WrappedDataKey:
    """Unwrap under the old KEK and wrap under the keyring's active KEK (key rotation)."""
    data_key = unwrap_data_key(keyring, owner_id, stored)
    kek_id, wrapped = keyring.wrap(data_key, _data_key_context(owner_id))
    return WrappedDataKey(kek_id, wrapped)


class FieldSealer:
    """Seals and opens the fields of one customer with that customer's data key."""

    __slots__ = ("_aead",)

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)

    def seal(self, plaintext: str, *, table: str, column: str, row_id: str) -> bytes:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _field_context(table, column, row_id))
        return SEALED_VERSION + nonce + sealed

    def open(self, sealed: bytes, *, table: str, column: str, row_id: str) -> str:
        return self.open_bytes(sealed, table=table, column=column, row_id=row_id).decode("utf-8")

    def seal_bytes(self, plaintext: bytes, *, table: str, column: str, row_id: str) -> bytes:
        """Seal a document's bytes as they are (an uploaded file), bound to its place like a field."""
        nonce = secrets.token_bytes(12)
        return SEALED_VERSION + nonce + self._aead.encrypt(nonce, plaintext, _field_context(table, column, row_id))

    def open_bytes(self, sealed: bytes, *, table: str, column: str, row_id: str) -> bytes:
        if not sealed or sealed[:1] != SEALED_VERSION:
            raise SealError(f"{table}.{column}: not a sealed value")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], _field_context(table, column, row_id))
        except InvalidTag as exc:
            raise SealError(f"{table}.{column}: sealed value does not open for this row") from exc


def purpose_key(root_key: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose (``screening-hit-explanation``, ``otp-code``), derived with
    HKDF-SHA256 from a key of the keyring (its blind-index key), so the database never sees it and
    no purpose's key opens another's values."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"cloudcip-purpose-key|" + purpose.encode()).derive(root_key)
