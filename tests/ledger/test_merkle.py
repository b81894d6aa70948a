"""RFC 9162 Merkle hashing, compact ranges, inclusion and consistency proofs (B3)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudcip.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def holds(verify: Callable[..., None], *args: Any) -> bool:
    """Whether a verifier accepts: verifiers return None or raise ProofError naming the reason."""
    try:
        verify(*args)
    except ProofError as error:
        assert error.reason
        return False
    return True


VECTORS_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "merkle" / "rfc6962_vectors.json"


# --- a naive, recursive reading of RFC 9162 sec 2.1, used as the reference ------------------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf *inputs*, exactly as written in RFC 9162 sec 2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + reference_mth(leaves[:k]) + reference_mth(leaves[k:])).digest()


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 sec 2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_mth(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_mth(leaves[:k])]


def reference_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 sec 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], whole), reference_mth(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_mth(leaves[:k])]


def make_leaves(n: int) -> list[bytes]:
    return [f"entry-{i}".encode() for i in range(n)]


# --- known-answer vectors ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> dict[str, list[str]]:
    if not VECTORS_PATH.is_file():
        pytest.skip(f"RFC 6962 known-answer vectors not found at {VECTORS_PATH}")
    return json.loads(VECTORS_PATH.read_text())  # type: ignore[no-any-return]


@pytest.mark.shared_data
def test_known_answer_leaf_hashes(vectors: dict[str, list[str]]) -> None:
    inputs = [bytes.fromhex(h) for h in vectors["leaf_inputs_hex"]]
    assert [leaf_hash(x).hex() for x in inputs] == vectors["leaf_hashes_hex"]


@pytest.mark.shared_data
def test_known_answer_roots_for_sizes_0_to_8(vectors: dict[str, list[str]]) -> None:
    hashes = [bytes.fromhex(h) for h in vectors["leaf_hashes_hex"]]
    roots = vectors["root_by_size_hex"]
    assert len(roots) == len(hashes) + 1
    compact = CompactRange()
    assert compact.root().hex() == roots[0]
    for size in range(len(hashes) + 1):
        assert root_from_leaf_hashes(hashes[:size]).hex() == roots[size]
        if size:
            compact.append(hashes[size - 1])
            assert compact.root().hex() == roots[size]


@pytest.mark.shared_data
def test_known_answer_proofs_verify_for_every_pair(vectors: dict[str, list[str]]) -> None:
    hashes = [bytes.fromhex(h) for h in vectors["leaf_hashes_hex"]]
    roots = [bytes.fromhex(h) for h in vectors["root_by_size_hex"]]
    for size in range(1, len(hashes) + 1):
        for index in range(size):
            proof = inclusion_proof(hashes, index, size)
            assert holds(verify_inclusion, hashes[index], index, size, proof, roots[size])
        for old in range(size + 1):
            proof = consistency_proof(hashes, old, size)
            assert holds(verify_consistency, old, size, roots[old], roots[size], proof)


def test_empty_root_and_prefixes() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    # A leaf can never pass for a node: different prefixes give different hashes of the same bytes.
    assert leaf_hash(a + b) != node_hash(a, b)


# --- against the reference -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=300))
def test_root_and_compact_range_match_reference(size: int) -> None:
    leaves = make_leaves(size)
    hashes = [leaf_hash(x) for x in leaves]
    expected = reference_mth(leaves)
    assert root_from_leaf_hashes(hashes) == expected
    compact = CompactRange()
    compact.extend(hashes)
    assert compact.size == size
    assert compact.root() == expected


def test_compact_range_root_matches_at_every_size() -> None:
    hashes = [leaf_hash(x) for x in make_leaves(130)]
    compact = CompactRange()
    for size in range(1, 131):
        compact.append(hashes[size - 1])
        assert compact.root() == root_from_leaf_hashes(hashes[:size])
        assert len(compact.to_state()["hashes"]) == bin(size).count("1")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=12), min_size=0, max_size=200), st.integers(min_value=0, max_value=200))
def test_compact_range_state_round_trip_resumes(leaves: list[bytes], cut: int) -> None:
    hashes = [leaf_hash(x) for x in leaves]
    cut = min(cut, len(hashes))
    first = CompactRange()
    first.extend(hashes[:cut])
    state = json.loads(json.dumps(first.to_state()))
    assert state["size"] == cut
    resumed = CompactRange.from_state(state)
    assert resumed.size == cut and resumed.root() == first.root()
    resumed.extend(hashes[cut:])
    assert resumed.root() == root_from_leaf_hashes(hashes) == reference_mth(leaves)


def test_compact_range_rejects_bad_state_and_bad_hashes() -> None:
    with pytest.raises(ValueError, match="needs 2 subtree hashes"):
        CompactRange.from_state({"size": 3, "hashes": ["00" * 32]})
    with pytest.raises(ValueError, match="size"):
        CompactRange.from_state({"size": -1, "hashes": []})
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange.from_state({"size": 1, "hashes": ["00" * 31]})
    with pytest.raises(ValueError, match="not hex"):
        CompactRange.from_state({"size": 1, "hashes": ["zz" * 32]})
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
    with pytest.raises(ValueError, match="leaf hash 1"):
        root_from_leaf_hashes([b"\x00" * 32, b"\x00" * 31])


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=120), st.data())
def test_proofs_match_reference(size: int, data: st.DataObject) -> None:
    leaves = make_leaves(size)
    hashes = [leaf_hash(x) for x in leaves]
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert inclusion_proof(hashes, index) == reference_path(index, leaves)
    old = data.draw(st.integers(min_value=1, max_value=size))
    assert consistency_proof(hashes, old, size) == reference_subproof(old, leaves, True)


# --- inclusion proofs ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100])
def test_every_inclusion_proof_verifies_and_tampering_fails(size: int) -> None:
    hashes = [leaf_hash(x) for x in make_leaves(size + 5)]  # extra leaves beyond tree_size are ignored
    root = root_from_leaf_hashes(hashes[:size])
    wrong_root = root_from_leaf_hashes(hashes[: size + 1])
    for index in range(size):
        proof = inclusion_proof(hashes, index, size)
        assert holds(verify_inclusion, hashes[index], index, size, proof, root)
        assert not holds(verify_inclusion, hashes[index], index, size, proof, wrong_root)
        assert not holds(verify_inclusion, hashes[size], index, size, proof, root)  # another leaf
        if size > 1:
            other = (index + 1) % size
            assert not holds(verify_inclusion, hashes[index], other, size, proof, root)
        for position in range(len(proof)):
            tampered = list(proof)
            tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
            assert not holds(verify_inclusion, hashes[index], index, size, tampered, root)
        assert not holds(verify_inclusion, hashes[index], index, size, [*proof, root], root)
        if proof:
            assert not holds(verify_inclusion, hashes[index], index, size, proof[:-1], root)


def test_inclusion_arguments_out_of_range() -> None:
    hashes = [leaf_hash(x) for x in make_leaves(4)]
    with pytest.raises(ValueError, match="leaf index 4 out of range"):
        inclusion_proof(hashes, 4)
    with pytest.raises(ValueError, match="leaf index -1"):
        inclusion_proof(hashes, -1)
    with pytest.raises(ValueError, match="tree_size 5 out of range"):
        inclusion_proof(hashes, 0, 5)
    with pytest.raises(ValueError, match="leaf index 2 out of range for a tree of size 2"):
        inclusion_proof(hashes, 2, 2)
    root = root_from_leaf_hashes(hashes)
    assert not holds(verify_inclusion, hashes[0], 4, 4, [], root)
    assert not holds(verify_inclusion, hashes[0], -1, 4, [], root)
    assert not holds(verify_inclusion, hashes[0], 0, 4, [b"short"], root)


# --- consistency proofs --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 12, 33, 70])
def test_every_consistency_proof_verifies_and_tampering_fails(size: int) -> None:
    hashes = [leaf_hash(x) for x in make_leaves(size)]
    roots = [root_from_leaf_hashes(hashes[:n]) for n in range(size + 1)]
    for old in range(size + 1):
        proof = consistency_proof(hashes, old, size)
        assert holds(verify_consistency, old, size, roots[old], roots[size], proof)
        if old in (0, size):
            assert proof == []
            continue
        forged_old = leaf_hash(b"forged")
        assert not holds(verify_consistency, old, size, forged_old, roots[size], proof)
        assert not holds(verify_consistency, old, size, roots[old], forged_old, proof)
        assert not holds(verify_consistency, old, size, roots[old - 1], roots[size], proof)
        for position in range(len(proof)):
            tampered = list(proof)
            tampered[position] = bytes(32)
            assert not holds(verify_consistency, old, size, roots[old], roots[size], tampered)
        assert not holds(verify_consistency, old, size, roots[old], roots[size], [])
        assert not holds(verify_consistency, old, size, roots[old], roots[size], [*proof, roots[0]])
        if old + 1 < size:
            assert not holds(verify_consistency, old + 1, size, roots[old], roots[size], proof)


def test_rewritten_history_fails_consistency() -> None:
    hashes = [leaf_hash(x) for x in make_leaves(20)]
    old_root = root_from_leaf_hashes(hashes[:11])
    rewritten = list(hashes)
    rewritten[3] = leaf_hash(b"edited entry")
    proof = consistency_proof(rewritten, 11, 20)
    assert not holds(verify_consistency, 11, 20, old_root, root_from_leaf_hashes(rewritten), proof)


def test_consistency_edge_cases_and_out_of_range() -> None:
    hashes = [leaf_hash(x) for x in make_leaves(6)]
    root = root_from_leaf_hashes(hashes)
    assert holds(verify_consistency, 0, 6, EMPTY_ROOT, root, [])
    assert not holds(verify_consistency, 0, 6, root, root, [])
    assert not holds(verify_consistency, 0, 6, EMPTY_ROOT, root, [root])
    assert holds(verify_consistency, 6, 6, root, root, [])
    assert not holds(verify_consistency, 6, 6, root, EMPTY_ROOT, [])
    assert not holds(verify_consistency, 7, 6, root, root, [])
    with pytest.raises(ValueError, match="old_size 7 out of range"):
        consistency_proof(hashes, 7, 6)
    with pytest.raises(ValueError, match="tree_size 7 out of range"):
        consistency_proof(hashes, 2, 7)
    with pytest.raises(ValueError, match="old_size -1"):
        consistency_proof(hashes, -1, 6)
