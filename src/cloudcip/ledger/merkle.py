"""RFC 9162 (RFC 6962) Merkle tree hashing for the tamper-evident ledger (B3).

Pure functions, no I/O. SHA-256 throughout; a leaf is hashed as ``SHA-256(0x00 || leaf_input)`` and
an interior node as ``SHA-256(0x01 || left || right)``; the empty tree's root is ``SHA-256("")``.
The tree over ``n`` leaves splits at the largest power of two smaller than ``n`` (RFC 9162 sec 2.1.1).

Provided here:

* :func:`leaf_hash`, :func:`node_hash`, :data:`EMPTY_ROOT`;
* :func:`root_from_leaf_hashes`, the tree head over a whole list of leaf hashes, computed level by
  level (about a million leaves a second);
* :class:`CompactRange`, the incremental tree a store keeps to append leaves and read the root in
  ``O(log n)``, with a JSON-able state so it can be persisted and resumed;
* inclusion proofs (RFC 9162 sec 2.1.3) and consistency proofs (sec 2.1.4), generation and verification.

Generators raise :class:`ValueError` for out-of-range arguments. Verifiers answer ``None`` when the
proof holds and raise :class:`ProofError` saying why when it does not (a bad or malformed proof
included), like every verifier of the ledger (``tree_head.verify_tree_head``,
``tree_head.verify_inclusion_proof_document``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from cloudcip.errors import InvalidInput

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""Root hash of the tree with no leaves: SHA-256 of the empty string."""


class ProofError(InvalidInput, ValueError):
    """A proof, a tree head or an inclusion-proof document does not verify; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def leaf_hash(leaf_input: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || leaf_input)``."""
    return _sha256(_LEAF_PREFIX + bytes(leaf_input)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The split point ``k`` of RFC 9162: the largest power of two with ``k < n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {value!r:.80}")


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (MTH) over ``leaf_hashes``.

    Computed level by level: adjacent nodes are paired and an odd last node is carried up unchanged,
    which yields exactly the RFC 9162 tree (splitting at the largest power of two below ``n``).
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if set(map(len, leaf_hashes)) != {HASH_SIZE}:
        position = next(i for i, value in enumerate(leaf_hashes) if len(value) != HASH_SIZE)
        raise ValueError(f"leaf hash {position} must be {HASH_SIZE} bytes, got {len(leaf_hashes[position])}")
    level: list[bytes] = list(leaf_hashes)
    sha256 = _sha256
    prefix = _NODE_PREFIX
    while len(level) > 1:
        pairs = iter(level)
        upper = [sha256(prefix + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if len(level) & 1:
            upper.append(level[-1])
        level = upper
    return bytes(level[0])


class CompactRange:
    """An append-only Merkle tree that keeps only the roots of its perfect subtrees.

    For a tree of ``size`` leaves it holds one hash per set bit of ``size``, largest subtree first,
    so appending costs amortised ``O(1)`` hashes and :meth:`root` ``O(log n)``. The root equals
    :func:`root_from_leaf_hashes` over the same leaves for every size.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf, given as its leaf hash (see :func:`leaf_hash`)."""
        _check_hash(leaf_hash, "leaf hash")
        hashes = self._hashes
        merged = bytes(leaf_hash)
        carry = self._size
        while carry & 1:
            merged = _sha256(_NODE_PREFIX + hashes.pop() + merged).digest()
            carry >>= 1
        hashes.append(merged)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append each leaf hash of ``leaf_hashes`` in order."""
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """Return the Merkle tree hash of the leaves appended so far."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        result = hashes[-1]
        for left in reversed(hashes[:-1]):
            result = _sha256(_NODE_PREFIX + left + result).digest()
        return result

    def to_state(self) -> dict[str, Any]:
        """Return a JSON-able state: ``{"size": n, "hashes": [hex, ...]}`` (largest subtree first)."""
        return {"size": self._size, "hashes": [value.hex() for value in self._hashes]}

    def copy(self) -> CompactRange:
        """An independent range with the same leaves (appending to one leaves the other as it is)."""
        compact = CompactRange()
        compact._size = self._size
        compact._hashes = list(self._hashes)
        return compact

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CompactRange:
        """Rebuild a range from :meth:`to_state` output; raise ValueError if it is inconsistent."""
        size = state.get("size") if isinstance(state, dict) else None
        hex_hashes = state.get("hashes") if isinstance(state, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"compact range state: size must be a non-negative integer, got {size!r}")
        if not isinstance(hex_hashes, list) or not all(isinstance(h, str) for h in hex_hashes):
            raise ValueError("compact range state: hashes must be a list of hex strings")
        if len(hex_hashes) != size.bit_count():
            raise ValueError(
                f"compact range state: a tree of size {size} needs {size.bit_count()} subtree hashes, "
                f"got {len(hex_hashes)}"
            )
        hashes: list[bytes] = []
        for position, text in enumerate(hex_hashes):
            try:
                value = bytes.fromhex(text)
            except ValueError as error:
                raise ValueError(f"compact range state: hash {position} is not hex") from error
            _check_hash(value, f"compact range state: hash {position}")
            hashes.append(value)
        compact = cls()
        compact._size = size
        compact._hashes = hashes
        return compact


def _check_tree_size(leaf_hashes: Sequence[bytes], tree_size: int | None) -> int:
    available = len(leaf_hashes)
    if tree_size is None:
        return available
    if tree_size < 0 or tree_size > available:
        raise ValueError(f"tree_size {tree_size} out of range: 0 <= tree_size <= {available} leaves given")
    return tree_size


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int | None = None) -> list[bytes]:
    """Return the audit path PATH(index, D[tree_size]) of RFC 9162 sec 2.1.3.1.

    ``tree_size`` defaults to ``len(leaf_hashes)``; only the first ``tree_size`` leaves are used.
    The path lists sibling hashes from the leaf upwards.
    """
    size = _check_tree_size(leaf_hashes, tree_size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} out of range for a tree of size {size}")
    top_down: list[bytes] = []
    low, high, position = 0, size, index
    while high - low > 1:
        split = _largest_power_of_two_below(high - low)
        if position < split:
            top_down.append(root_from_leaf_hashes(leaf_hashes[low + split : high]))
            high = low + split
        else:
            top_down.append(root_from_leaf_hashes(leaf_hashes[low : low + split]))
            low += split
            position -= split
    top_down.reverse()
    return top_down


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an audit path with the algorithm of RFC 9162 sec 2.1.3.2.

    Returns when ``proof`` shows that the leaf with hash ``leaf_hash`` sits at ``index`` in the tree
    of ``tree_size`` leaves whose root is ``root``; raises :class:`ProofError` otherwise, including
    for malformed input.
    """
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is not within the tree of size {tree_size}")
    if len(leaf_hash) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError(f"the leaf hash and the root must be {HASH_SIZE} bytes")
    fn, sn = index, tree_size - 1
    result = bytes(leaf_hash)
    for sibling in proof:
        if len(sibling) != HASH_SIZE:
            raise ProofError(f"the audit path holds a node that is not {HASH_SIZE} bytes")
        if sn == 0:
            raise ProofError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the audit path is shorter than the tree is deep")
    if result != root:
        raise ProofError("the audit path does not lead from the leaf to the root")


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return the consistency proof PROOF(old_size, D[new_size]) of RFC 9162 sec 2.1.4.1.

    The proof is empty when ``old_size`` is 0 or equals ``new_size``.
    """
    _check_tree_size(leaf_hashes, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old_size {old_size} out of range: 0 <= old_size <= new_size ({new_size})")
    if old_size in (0, new_size):
        return []
    top_down: list[bytes] = []
    low, high, m = 0, new_size, old_size
    whole_old_tree = True  # the "b" flag of SUBPROOF
    while m != high - low:
        split = _largest_power_of_two_below(high - low)
        if m <= split:
            top_down.append(root_from_leaf_hashes(leaf_hashes[low + split : high]))
            high = low + split
        else:
            top_down.append(root_from_leaf_hashes(leaf_hashes[low : low + split]))
            low += split
            m -= split
            whole_old_tree = False
    if not whole_old_tree:
        top_down.append(root_from_leaf_hashes(leaf_hashes[low:high]))
    top_down.reverse()
    return top_down


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof with the algorithm of RFC 9162 sec 2.1.4.2.

    Returns when ``proof`` shows that the tree of ``old_size`` leaves with root ``old_root`` is a
    prefix of the tree of ``new_size`` leaves with root ``new_root``; raises :class:`ProofError`
    otherwise. Any tree is consistent with the empty tree (whose root must be :data:`EMPTY_ROOT`);
    equal sizes need equal roots and an empty proof.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is not within 0 and the new size {new_size}")
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        raise ProofError(f"the roots must be {HASH_SIZE} bytes")
    if any(len(value) != HASH_SIZE for value in proof):
        raise ProofError(f"the proof holds a node that is not {HASH_SIZE} bytes")
    if old_size == 0:
        if proof or old_root != EMPTY_ROOT:
            raise ProofError("the empty tree needs the empty root and an empty proof")
        return
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("trees of equal size need equal roots and an empty proof")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is the first node
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_root = second_root = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the new tree is deep")
        if fn & 1 or fn == sn:
            first_root = node_hash(sibling, first_root)
            second_root = node_hash(sibling, second_root)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second_root = node_hash(second_root, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the new tree is deep")
    if first_root != old_root:
        raise ProofError("the proof does not lead to the old root")
    if second_root != new_root:
        raise ProofError("the proof does not lead to the new root")


def inclusion_proofs(leaf_hashes: Sequence[bytes], indices: Iterable[int],
                     tree_size: int | None = None) -> dict[int, list[bytes]]:
    """The audit paths of many leaves at once, as :func:`inclusion_proof` gives each (B3, B5).

    The tree's levels are built once (an odd last node is carried up unchanged, which is the RFC
    9162 tree), so each path costs ``O(log n)`` lookups instead of ``O(n)`` hashing: a production
    proves thousands of entries of a ledger of millions this way.
    """
    size = _check_tree_size(leaf_hashes, tree_size)
    wanted = sorted(set(indices))
    for index in wanted:
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} out of range for a tree of size {size}")
    levels: list[Sequence[bytes]] = [leaf_hashes[:size] if size != len(leaf_hashes) else leaf_hashes]
    sha256 = _sha256
    while len(levels[-1]) > 1:
        level = levels[-1]
        pairs = iter(level)
        upper = [sha256(_NODE_PREFIX + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if len(level) & 1:
            upper.append(level[-1])
        levels.append(upper)
    proofs: dict[int, list[bytes]] = {}
    for index in wanted:
        path: list[bytes] = []
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(bytes(level[sibling]))
            position >>= 1
        proofs[index] = path
    return proofs
