"""B3: the checkpoint file outside the database keeps the newest signed tree head through its
compaction, whichever process appended it, and the compaction on a commit's path parses only the
lines other writers appended (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloudcip.ledger import checkpoint as checkpoint_module
from cloudcip.ledger.checkpoint import Checkpoint
from cloudcip.ledger.tree_head import SignedTreeHead, sign_tree_head

KEY = Ed25519PrivateKey.generate()


def _head(size: int) -> SignedTreeHead:
    return sign_tree_head(KEY, size, bytes([size % 256]) * 32, 1_700_000_000_000 + size)


def _lines(path: Path) -> list[int]:
    return [json.loads(line)["tree_size"] for line in path.read_bytes().splitlines()]


@pytest.mark.requirement("B3")
def test_compaction_keeps_the_newest_head_whoever_appended_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger-checkpoints.jsonl"
    line_bytes = len(json.dumps(_head(100).to_json(), separators=(",", ":"))) + 1
    mine, other = Checkpoint(path, compact_bytes=10 * line_bytes), Checkpoint(path, compact_bytes=10 * line_bytes)
    for size in range(100, 104):
        mine.publish(_head(size))
    other.publish(_head(200))  # a later commit of another worker, published first
    with path.open("ab") as torn:
        torn.write(b'{"tree_size":999,"root_ha')  # a writer that died mid-line
    for size in range(104, 109):  # the straggling heads of this worker cross the bound at the last one
        mine.publish(_head(size))
    assert _lines(path) == [200]  # compacted to the newest head, another worker's
    assert Checkpoint(path).read() == _head(200)
    mine.publish(_head(201))
    other.publish(_head(202))  # appends to the compacted file (a new inode), not to the old one
    assert _lines(path) == [200, 201, 202]


@pytest.mark.requirement("B3")
def test_compaction_parses_only_what_other_writers_appended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger-checkpoints.jsonl"
    parsed: list[bytes] = []
    parse = checkpoint_module._parse

    def counting(line: bytes) -> SignedTreeHead | None:
        parsed.append(line)
        return parse(line)

    monkeypatch.setattr(checkpoint_module, "_parse", counting)
    line_bytes = len(json.dumps(_head(100).to_json(), separators=(",", ":"))) + 1
    alone = Checkpoint(path, compact_bytes=20 * line_bytes)
    for size in range(101, 125):
        alone.publish(_head(size))
    assert parsed == [] and _lines(path) == [121, 122, 123, 124]  # compacted at the 21st head, unparsed
    other = Checkpoint(path)
    other.publish(_head(130))
    other.publish(_head(125))
    for size in range(126, 141):
        alone.publish(_head(size))
    # the second compaction (the 21st line again) parsed the lines this writer did not append since
    # the file was replaced: the compacted head it left, and the other writer's two
    assert sorted(json.loads(line)["tree_size"] for line in parsed) == [121, 125, 130]
    assert _lines(path) == [140] and Checkpoint(path).read() == _head(140)
