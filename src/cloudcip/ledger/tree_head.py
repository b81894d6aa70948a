"""Ed25519 signed tree heads and self-contained inclusion-proof documents for the ledger (B3).

A signed tree head commits to the ledger's first ``tree_size`` entries. The signature is Ed25519 over
the tree-head message (see :func:`tree_head_message`)::

    b"cloudcip-tree-head-v1\\n" + f"{tree_size}\\n{root_hash_hex}\\n{timestamp_ms}\\n".encode("ascii")

with ``tree_size`` and ``timestamp_ms`` as decimal integers and the root as 64 lowercase hex digits,
so each message has exactly one reading. An inclusion-proof document (format
``cloudcip-inclusion-proof-v1``) bundles one ledger entry, its audit path and the signed tree head,
so anyone holding the ledger's public key can check it offline (see docs/ledger-verification.md).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cloudcip.ledger.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion

__all__ = [
    "INCLUSION_PROOF_FORMAT",
    "TREE_HEAD_DOMAIN",
    "ProofError",
    "SignedTreeHead",
    "inclusion_proof_document",
    "load_public_key_pem",
    "public_key_pem",
    "sign_tree_head",
    "tree_head_message",
    "verify_inclusion_proof_document",
    "verify_tree_head",
]

TREE_HEAD_DOMAIN = b"cloudcip-tree-head-v1\n"
"""First line of every tree-head message; separates these signatures from any other use of the key."""

INCLUSION_PROOF_FORMAT = "cloudcip-inclusion-proof-v1"
"""Value of the ``format`` field of an inclusion-proof document."""

_SIGNATURE_SIZE = 64


def _check_tree_head_fields(tree_size: int, root_hash: bytes, timestamp_ms: int) -> None:
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or tree_size < 0:
        raise ValueError(f"tree_size must be a non-negative integer, got {tree_size!r}")
    if not isinstance(root_hash, bytes) or len(root_hash) != HASH_SIZE:
        raise ValueError(f"root_hash must be {HASH_SIZE} bytes")
    if not isinstance(timestamp_ms, int) or isinstance(timestamp_ms, bool) or timestamp_ms < 0:
        raise ValueError(f"timestamp_ms must be a non-negative integer, got {timestamp_ms!r}")


def tree_head_message(tree_size: int, root_hash: bytes, timestamp_ms: int) -> bytes:
    """Return the exact bytes that are signed for a tree head.

    ``b"cloudcip-tree-head-v1\\n"`` followed by the decimal tree size, the lowercase hex root hash and
    the decimal timestamp in milliseconds since the Unix epoch, each ended by ``\\n``.
    """
    _check_tree_head_fields(tree_size, root_hash, timestamp_ms)
    return TREE_HEAD_DOMAIN + f"{tree_size}\n{root_hash.hex()}\n{timestamp_ms}\n".encode("ascii")


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree size, the Merkle root over that many entries, when it was signed, and the signature."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    signature: bytes

    def message(self) -> bytes:
        """The signed bytes of this head (see :func:`tree_head_message`)."""
        return tree_head_message(self.tree_size, self.root_hash, self.timestamp_ms)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"tree_size", "root_hash" (hex), "timestamp_ms", "signature" (base64)}``."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp_ms": self.timestamp_ms,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SignedTreeHead:
        """Parse :meth:`to_json` output; raise ValueError naming the first malformed field."""
        if not isinstance(document, dict):
            raise ValueError("tree head must be a JSON object")
        tree_size = document.get("tree_size")
        timestamp_ms = document.get("timestamp_ms")
        root_hex = document.get("root_hash")
        signature_b64 = document.get("signature")
        if not isinstance(root_hex, str):
            raise ValueError("tree head: root_hash must be a hex string")
        try:
            root_hash = bytes.fromhex(root_hex)
        except ValueError as error:
            raise ValueError("tree head: root_hash is not hex") from error
        if not isinstance(signature_b64, str):
            raise ValueError("tree head: signature must be a base64 string")
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("tree head: signature is not base64") from error
        if len(signature) != _SIGNATURE_SIZE:
            raise ValueError(f"tree head: signature must be {_SIGNATURE_SIZE} bytes, got {len(signature)}")
        if not isinstance(tree_size, int) or not isinstance(timestamp_ms, int):
            raise ValueError("tree head: tree_size and timestamp_ms must be integers")
        _check_tree_head_fields(tree_size, root_hash, timestamp_ms)
        return cls(tree_size=tree_size, root_hash=root_hash, timestamp_ms=timestamp_ms, signature=signature)


def sign_tree_head(
    private_key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, timestamp_ms: int
) -> SignedTreeHead:
    """Sign the tree-head message with ``private_key`` and return the signed head."""
    signature = private_key.sign(tree_head_message(tree_size, root_hash, timestamp_ms))
    return SignedTreeHead(
        tree_size=tree_size, root_hash=root_hash, timestamp_ms=timestamp_ms, signature=signature
    )


def verify_tree_head(public_key: Ed25519PublicKey, sth: SignedTreeHead) -> None:
    """Returns when ``sth.signature`` is a valid Ed25519 signature by ``public_key`` over its message;
    :class:`ProofError` otherwise."""
    try:
        public_key.verify(sth.signature, sth.message())
    except (InvalidSignature, ValueError):
        raise ProofError("tree head signature does not verify with this public key") from None


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    """Return the public key as SubjectPublicKeyInfo PEM text."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(text: str | bytes) -> Ed25519PublicKey:
    """Load an Ed25519 public key from PEM text; raise ValueError for anything else."""
    data = text.encode("ascii") if isinstance(text, str) else text
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key


def inclusion_proof_document(
    leaf_input: bytes, index: int, audit_path: list[bytes], sth: SignedTreeHead
) -> dict[str, Any]:
    """Return the self-contained JSON proof that entry ``index`` is in the tree signed by ``sth``.

    ``leaf_input`` is the ledger entry's canonical JSON; it is carried as UTF-8 text.
    """
    if not 0 <= index < sth.tree_size:
        raise ValueError(f"leaf index {index} out of range for a tree head of size {sth.tree_size}")
    try:
        leaf_text = leaf_input.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("leaf_input must be UTF-8 text (the entry's canonical JSON)") from error
    return {
        "format": INCLUSION_PROOF_FORMAT,
        "index": index,
        "leaf_input": leaf_text,
        "leaf_hash": leaf_hash(leaf_input).hex(),
        "audit_path": [node.hex() for node in audit_path],
        "tree_head": sth.to_json(),
    }


def verify_inclusion_proof_document(document: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Check an inclusion-proof document end to end; raise :class:`ProofError` saying what failed.

    Checks, in order: the format, the tree-head signature, that ``leaf_hash`` is the hash of
    ``leaf_input``, and that the audit path leads from that leaf at ``index`` to the signed root.
    """
    if not isinstance(document, dict):
        raise ProofError("proof document must be a JSON object")
    if document.get("format") != INCLUSION_PROOF_FORMAT:
        raise ProofError(f"unknown proof format {document.get('format')!r}")
    tree_head_json = document.get("tree_head")
    if not isinstance(tree_head_json, dict):
        raise ProofError("tree_head must be a JSON object")
    try:
        sth = SignedTreeHead.from_json(tree_head_json)
    except ValueError as error:
        raise ProofError(f"malformed tree head: {error}") from error
    verify_tree_head(public_key, sth)
    index = document.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < sth.tree_size:
        raise ProofError(f"index {index!r} is not within the signed tree of size {sth.tree_size}")
    leaf_text = document.get("leaf_input")
    if not isinstance(leaf_text, str):
        raise ProofError("leaf_input must be a string")
    computed_leaf_hash = leaf_hash(leaf_text.encode("utf-8"))
    if document.get("leaf_hash") != computed_leaf_hash.hex():
        raise ProofError("leaf_hash does not match the hash of leaf_input")
    hex_path = document.get("audit_path")
    if not isinstance(hex_path, list) or not all(isinstance(node, str) for node in hex_path):
        raise ProofError("audit_path must be a list of hex strings")
    try:
        path = [bytes.fromhex(node) for node in hex_path]
    except ValueError as error:
        raise ProofError("audit_path holds a value that is not hex") from error
    try:
        verify_inclusion(computed_leaf_hash, index, sth.tree_size, path, sth.root_hash)
    except ProofError as error:
        raise ProofError(f"audit path: {error.reason}") from None
