"""The production package's format and its offline verification (B3, B5).

A production is a zip archive:

- ``manifest.json``: ``{"format": "cloudcip-production-v1", "production_id", "process", "created_at",
  "tree_head", "files": [{"path", "sha256", "bytes"}, ...]}``, listing every other file but the
  signature;
- ``manifest.sig``: base64 of the Ed25519 signature, by the ledger's key, over
  ``b"cloudcip-production-manifest-v1\\n" + manifest.json's bytes`` (the first line keeps these
  signatures apart from the tree heads the same key signs);
- ``ledger/tree-head.json``: the signed tree head every proof leads to (the same as the manifest's);
- ``ledger/entries.jsonl``: the ledger entries of the records produced (``index``, ``leaf_input``);
- ``ledger/proofs.jsonl``: an inclusion proof of each (``index``, ``leaf_hash``, ``audit_path``);
- ``ledger/consistency.json``: the signed tree head of when the process was registered and the
  consistency proof that the ledger then is a prefix of the ledger at the production's head;
- the records, evidence, decisions and access history (``records/``, ``evidence/``, ``decisions/``,
  ``access/``), ``process.json`` and ``public-key.pem`` (for convenience only: verify against a key
  obtained otherwise).

``verify_package`` checks, in order: that it is a production at all, the manifest's signature, every
file's presence and SHA-256 (and that no file is unlisted), the tree head's signature, each entry's
leaf hash and inclusion proof, and the consistency proof; it names the first file or entry that
fails. ``docs/production_verifier.py`` does the same with only the standard library and
``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloudcip.ledger.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from cloudcip.ledger.tree_head import SignedTreeHead, verify_tree_head

FORMAT = "cloudcip-production-v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_DOMAIN = b"cloudcip-production-manifest-v1\n"
TREE_HEAD = "ledger/tree-head.json"
ENTRIES = "ledger/entries.jsonl"
PROOFS = "ledger/proofs.jsonl"
CONSISTENCY = "ledger/consistency.json"


def manifest_message(manifest_bytes: bytes) -> bytes:
    """The bytes the manifest's signature covers."""
    return SIGNATURE_DOMAIN + manifest_bytes


@dataclass(frozen=True)
class PackageCheck:
    """The outcome of verifying a package: ``ok``, or the first ``failure`` naming its file or entry."""

    ok: bool
    failure: str | None = None
    files: int = 0
    entries: int = 0
    tree_size: int = 0


class _Failed(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _sha256_of(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(name) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _json_lines(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    try:
        with archive.open(name) as handle:
            return [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    except (KeyError, ValueError) as error:
        raise _Failed(f"{name}: not readable JSON lines") from error


def _head(document: Any, where: str) -> SignedTreeHead:
    try:
        return SignedTreeHead.from_json(document)
    except (ValueError, KeyError, TypeError) as error:
        raise _Failed(f"{where}: malformed tree head") from error


def verify_package(source: str | Path | IO[bytes], public_key: Ed25519PublicKey) -> PackageCheck:
    """Check a production package offline with the ledger's public key; never raises for a bad package."""
    try:
        if not zipfile.is_zipfile(source):
            return PackageCheck(False, "not a production: the file is not a zip archive")
        with zipfile.ZipFile(source) as archive:
            return _verify(archive, public_key)
    except _Failed as failed:
        return PackageCheck(False, failed.what)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return PackageCheck(False, f"not a production: the archive cannot be read ({type(error).__name__})")


def _verify(archive: zipfile.ZipFile, public_key: Ed25519PublicKey) -> PackageCheck:
    names = set(archive.namelist())
    if MANIFEST not in names or SIGNATURE not in names:
        return PackageCheck(False, f"not a production: no {MANIFEST} and {SIGNATURE} in the archive")
    manifest_bytes = archive.read(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        return PackageCheck(False, f"not a production: {MANIFEST} is not JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return PackageCheck(False, f"not a production: {MANIFEST} is not of format {FORMAT}")
    try:
        signature = base64.b64decode(archive.read(SIGNATURE).strip(), validate=True)
        public_key.verify(signature, manifest_message(manifest_bytes))
    except (binascii.Error, ValueError, InvalidSignature):
        return PackageCheck(False, f"{SIGNATURE}: the manifest's signature does not verify with this public key")
    listed = manifest.get("files")
    if not isinstance(listed, list):
        raise _Failed(f"{MANIFEST}: no list of files")
    seen: set[str] = set()
    for item in listed:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            raise _Failed(f"{MANIFEST}: a file entry without a path")
        if path not in names:
            raise _Failed(f"{path}: listed in the manifest but missing from the package")
        digest, size = _sha256_of(archive, path)
        if digest != item.get("sha256") or size != item.get("bytes"):
            raise _Failed(f"{path}: SHA-256 does not match the manifest (the file was altered)")
        seen.add(path)
    for name in sorted(names - seen - {MANIFEST, SIGNATURE}):
        raise _Failed(f"{name}: in the package but not listed in the manifest")
    head = _head(json.loads(archive.read(TREE_HEAD)) if TREE_HEAD in names else None, TREE_HEAD)
    try:
        verify_tree_head(public_key, head)
    except ProofError as error:
        raise _Failed(f"{TREE_HEAD}: the tree head's signature does not verify") from error
    if manifest.get("tree_head") != head.to_json():
        raise _Failed(f"{TREE_HEAD}: differs from the tree head the manifest names")
    proofs = {p.get("index"): p for p in _json_lines(archive, PROOFS)}
    entries = _json_lines(archive, ENTRIES)
    for entry in entries:
        index = entry.get("index")
        text = entry.get("leaf_input")
        if not isinstance(index, int) or not isinstance(text, str):
            raise _Failed(f"{ENTRIES}: an entry without index or leaf_input")
        try:
            if json.loads(text).get("index") != index:
                raise _Failed(f"ledger entry {index}: its content names another index")
        except ValueError as error:
            raise _Failed(f"ledger entry {index}: its content is not JSON") from error
        proof = proofs.get(index)
        if proof is None:
            raise _Failed(f"ledger entry {index}: no inclusion proof")
        entry_hash = leaf_hash(text.encode("utf-8"))
        if proof.get("leaf_hash") != entry_hash.hex():
            raise _Failed(f"ledger entry {index}: its leaf hash does not match its content")
        try:
            path = [bytes.fromhex(node) for node in proof.get("audit_path", [])]
        except (TypeError, ValueError) as error:
            raise _Failed(f"ledger entry {index}: its inclusion proof is malformed") from error
        try:
            verify_inclusion(entry_hash, index, head.tree_size, path, head.root_hash)
        except ProofError as error:
            raise _Failed(f"ledger entry {index}: its inclusion proof does not lead to the signed root") from error
    if CONSISTENCY in names:
        _check_consistency(json.loads(archive.read(CONSISTENCY)), head, public_key)
    return PackageCheck(True, None, len(seen), len(entries), head.tree_size)


def _check_consistency(document: Any, head: SignedTreeHead, public_key: Ed25519PublicKey) -> None:
    if not isinstance(document, dict):
        raise _Failed(f"{CONSISTENCY}: not a JSON object")
    if document.get("from") is None:
        return  # the ledger was empty when the process was registered: nothing to be consistent with
    old = _head(document.get("from"), CONSISTENCY)
    try:
        verify_tree_head(public_key, old)
    except ProofError as error:
        raise _Failed(f"{CONSISTENCY}: the earlier tree head's signature does not verify") from error
    try:
        proof = [bytes.fromhex(node) for node in document.get("proof", [])]
    except (TypeError, ValueError) as error:
        raise _Failed(f"{CONSISTENCY}: the consistency proof is malformed") from error
    try:
        verify_consistency(old.tree_size, head.tree_size, old.root_hash, head.root_hash, proof)
    except ProofError as error:
        raise _Failed(f"{CONSISTENCY}: the ledger at the production is not an extension of the ledger "
                      f"when the process was registered") from error


__all__ = ["FORMAT", "PackageCheck", "manifest_message", "verify_package"]
