"""Ed25519 signed tree heads and inclusion-proof documents (B3)."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from cloudcip.ledger.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from cloudcip.ledger.tree_head import (
    ProofError,
    SignedTreeHead,
    inclusion_proof_document,
    load_public_key_pem,
    public_key_pem,
    sign_tree_head,
    tree_head_message,
    verify_inclusion_proof_document,
    verify_tree_head,
)

ROOT = bytes(range(32))


def test_tree_head_message_is_the_documented_byte_string() -> None:
    message = tree_head_message(42, ROOT, 1_700_000_000_123)
    assert message == (
        b"cloudcip-tree-head-v1\n42\n000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        b"1700000000123\n"
    )
    # Each field change changes the message: the encoding has one reading.
    assert tree_head_message(4, ROOT, 21_700_000_000_123) != message
    with pytest.raises(ValueError, match="root_hash must be 32 bytes"):
        tree_head_message(1, b"short", 0)
    with pytest.raises(ValueError, match="tree_size"):
        tree_head_message(-1, ROOT, 0)
    with pytest.raises(ValueError, match="timestamp_ms"):
        tree_head_message(1, ROOT, -5)


def test_sign_and_verify_round_trip_through_json() -> None:
    key = Ed25519PrivateKey.generate()
    sth = sign_tree_head(key, 7, ROOT, 1_700_000_000_000)
    verify_tree_head(key.public_key(), sth)  # returns: the signature verifies
    document = json.loads(json.dumps(sth.to_json()))
    assert document == {
        "tree_size": 7,
        "root_hash": ROOT.hex(),
        "timestamp_ms": 1_700_000_000_000,
        "signature": base64.b64encode(sth.signature).decode(),
    }
    again = SignedTreeHead.from_json(document)
    assert again == sth
    verify_tree_head(key.public_key(), again)  # returns: the signature verifies


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 8},
        {"tree_size": 6},
        {"root_hash": bytes(32)},
        {"timestamp_ms": 1_700_000_000_001},
        {"signature": bytes(64)},
    ],
)
def test_changed_field_fails(change: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.generate()
    sth = sign_tree_head(key, 7, ROOT, 1_700_000_000_000)
    with pytest.raises(ProofError, match="signature"):
        verify_tree_head(key.public_key(), replace(sth, **change))


def test_different_key_fails() -> None:
    sth = sign_tree_head(Ed25519PrivateKey.generate(), 7, ROOT, 0)
    with pytest.raises(ProofError, match="signature"):
        verify_tree_head(Ed25519PrivateKey.generate().public_key(), sth)


def test_public_key_pem_round_trip_and_wrong_key_type() -> None:
    key = Ed25519PrivateKey.generate()
    pem = public_key_pem(key.public_key())
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    loaded = load_public_key_pem(pem)
    sth = sign_tree_head(key, 1, ROOT, 0)
    verify_tree_head(loaded, sth)  # returns: the signature verifies
    verify_tree_head(load_public_key_pem(pem.encode()), sth)  # returns: the signature verifies

    other = (
        X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_public_key_pem(other)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("root_hash", "xyz", "not hex"),
        ("root_hash", "00" * 31, "32 bytes"),
        ("signature", "not base64!", "not base64"),
        ("signature", base64.b64encode(b"x" * 10).decode(), "64 bytes"),
        ("tree_size", "7", "integers"),
        ("tree_size", -1, "tree_size"),
    ],
)
def test_from_json_rejects_malformed(field: str, value: object, message: str) -> None:
    document = sign_tree_head(Ed25519PrivateKey.generate(), 7, ROOT, 0).to_json()
    document[field] = value
    with pytest.raises(ValueError, match=message):
        SignedTreeHead.from_json(document)


# --- inclusion-proof documents -------------------------------------------------------------------


def _entries(n: int) -> list[bytes]:
    return [
        json.dumps({"idx": i, "actor": "analyst-7", "action": "read", "note": "é"}).encode() for i in range(n)
    ]


def _proof_document(key: Ed25519PrivateKey, index: int, size: int = 11) -> dict[str, Any]:
    entries = _entries(size)
    hashes = [leaf_hash(e) for e in entries]
    sth = sign_tree_head(key, size, root_from_leaf_hashes(hashes), 1_700_000_000_000)
    return inclusion_proof_document(entries[index], index, inclusion_proof(hashes, index), sth)


def test_proof_document_shape_and_every_index_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    for index in range(11):
        document = json.loads(json.dumps(_proof_document(key, index)))
        assert document["format"] == "cloudcip-inclusion-proof-v1"
        assert document["index"] == index
        assert json.loads(document["leaf_input"])["idx"] == index
        assert document["leaf_hash"] == leaf_hash(document["leaf_input"].encode()).hex()
        assert all(len(bytes.fromhex(h)) == 32 for h in document["audit_path"])
        assert document["tree_head"]["tree_size"] == 11
        verify_inclusion_proof_document(document, key.public_key())


def _tamper(document: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def test_proof_document_failures_name_the_reason() -> None:
    key = Ed25519PrivateKey.generate()
    document = _proof_document(key, 5)
    public = key.public_key()
    cases: list[tuple[dict[str, Any], str]] = [
        (_tamper(document, ("format",), "other"), "unknown proof format"),
        (_tamper(document, ("tree_head", "root_hash"), "00" * 32), "signature"),
        (_tamper(document, ("tree_head", "tree_size"), 12), "signature"),
        (_tamper(document, ("tree_head",), None), "tree_head"),
        (_tamper(document, ("leaf_input",), document["leaf_input"].replace("read", "edit")), "leaf_hash"),
        (_tamper(document, ("index",), 4), "audit path"),
        (_tamper(document, ("index",), 11), "not within"),
        (_tamper(document, ("audit_path",), document["audit_path"][:-1]), "audit path"),
        (_tamper(document, ("audit_path", 0), "ff" * 32), "audit path"),
        (_tamper(document, ("audit_path", 0), "zz"), "not hex"),
    ]
    # A consistently forged leaf (new leaf_input and its matching leaf_hash) still fails on the path.
    forged = _tamper(document, ("leaf_input",), "{}")
    forged["leaf_hash"] = leaf_hash(b"{}").hex()
    cases.append((forged, "audit path"))
    for bad, reason in cases:
        with pytest.raises(ProofError, match=reason) as caught:
            verify_inclusion_proof_document(bad, public)
        assert caught.value.reason
    with pytest.raises(ProofError, match="signature"):
        verify_inclusion_proof_document(document, Ed25519PrivateKey.generate().public_key())


def test_proof_document_rejects_bad_arguments() -> None:
    key = Ed25519PrivateKey.generate()
    sth = sign_tree_head(key, 2, ROOT, 0)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof_document(b"{}", 2, [], sth)
    with pytest.raises(ValueError, match="UTF-8"):
        inclusion_proof_document(b"\xff", 0, [], sth)
