"""The standalone offline verifier script docs/offline_verifier.py, run as an auditor would (B3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloudcip.ledger.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from cloudcip.ledger.tree_head import inclusion_proof_document, public_key_pem, sign_tree_head

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "offline_verifier.py"
SIZE = 13


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _document(key: Ed25519PrivateKey, index: int) -> dict[str, Any]:
    entries = [
        json.dumps({"idx": i, "actor": "officer-2", "action": "unmask", "purpose": "CIP review ü"}).encode()
        for i in range(SIZE)
    ]
    hashes = [leaf_hash(e) for e in entries]
    sth = sign_tree_head(key, SIZE, root_from_leaf_hashes(hashes), 1_750_000_000_000)
    return inclusion_proof_document(entries[index], index, inclusion_proof(hashes, index), sth)


def _run(
    tmp_path: Path, document: dict[str, Any], key: Ed25519PrivateKey
) -> subprocess.CompletedProcess[str]:
    proof_file = tmp_path / "proof.json"
    key_file = tmp_path / "pub.pem"
    proof_file.write_text(json.dumps(document, indent=1), encoding="utf-8")
    key_file.write_text(public_key_pem(key.public_key()))
    # -I: isolated mode, so the script sees neither cloudcip on sys.path nor the working directory.
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(proof_file), str(key_file)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_script_is_standalone_and_short() -> None:
    text = SCRIPT.read_text()
    assert len(text.splitlines()) < 60
    assert "cloudcip." not in text.replace("cloudcip-", "") and "import cloudcip" not in text


@pytest.mark.parametrize("index", [0, 5, 12])
def test_valid_proof_exits_zero(tmp_path: Path, signing_key: Ed25519PrivateKey, index: int) -> None:
    document = _document(signing_key, index)
    result = _run(tmp_path, document, signing_key)
    assert result.returncode == 0, result.stdout + result.stderr
    root = document["tree_head"]["root_hash"]
    assert result.stdout.strip() == f"OK tree_size={SIZE} root={root}"


def test_wrong_root_in_tree_head_exits_one(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    document = _document(signing_key, 5)
    document["tree_head"]["root_hash"] = "ab" * 32
    result = _run(tmp_path, document, signing_key)
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED")
    assert "signature" in result.stdout


def test_wrong_root_resigned_fails_on_the_path(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # Even a validly signed head fails when its root is not the one the audit path leads to.
    document = _document(signing_key, 5)
    forged = sign_tree_head(signing_key, SIZE, bytes(32), 1_750_000_000_000)
    document["tree_head"] = forged.to_json()
    result = _run(tmp_path, document, signing_key)
    assert result.returncode == 1
    assert "does not lead to the signed root" in result.stdout


def test_tampered_leaf_input_exits_one(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    document = _document(signing_key, 5)
    document["leaf_input"] = document["leaf_input"].replace("unmask", "read")
    result = _run(tmp_path, document, signing_key)
    assert result.returncode == 1
    assert "leaf_hash" in result.stdout
    # Recomputing leaf_hash to match does not help: the audit path no longer reaches the root.
    document["leaf_hash"] = leaf_hash(document["leaf_input"].encode()).hex()
    result = _run(tmp_path, document, signing_key)
    assert result.returncode == 1
    assert "does not lead to the signed root" in result.stdout


def test_tampered_path_and_other_key_exit_one(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    document = _document(signing_key, 5)
    document["audit_path"][1] = "00" * 32
    assert _run(tmp_path, document, signing_key).returncode == 1
    assert _run(tmp_path, _document(signing_key, 5), Ed25519PrivateKey.generate()).returncode == 1
