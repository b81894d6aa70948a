"""The newest signed tree heads kept outside the database (B3): a checkpoint file, and optionally a
witness, so that deleting the newest ledger entries together with their heads is still caught.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path

from cloudcip.ledger.tree_head import SignedTreeHead

log = logging.getLogger("cloudcip.ledger")


class Checkpoint:
    """The newest signed tree heads, kept in a file outside the database (B3).

    The file is JSON lines, appended under a lock (one short write per commit, safe across
    processes); reading takes the largest head, skipping a torn last line; past ``compact_bytes``
    the file is rewritten atomically to its newest head.
    """

    def __init__(self, path: Path, witness_url: str | None = None, compact_bytes: int = 256_000) -> None:
        self.path = path
        self.witness_url = witness_url
        self.compact_bytes = compact_bytes

    def read(self) -> SignedTreeHead | None:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return None
        newest: SignedTreeHead | None = None
        for line in lines:
            try:
                head = SignedTreeHead.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash mid-write
            if newest is None or head.tree_size > newest.tree_size:
                newest = head
        return newest

    def publish(self, head: SignedTreeHead) -> None:
        """Append ``head``; compact the file when it has grown."""
        line = (json.dumps(head.to_json(), separators=(",", ":")) + "\n").encode()
        while True:
            try:
                handle = open(self.path, "ab")  # noqa: SIM115 - closed below, reopened after a compaction
            except FileNotFoundError:  # the first head of a data directory without its folder yet
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(self.path, "ab")  # noqa: SIM115
            fcntl.flock(handle, fcntl.LOCK_EX)
            if os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino:
                break
            handle.close()  # another process compacted the file while we waited: append to the new one
        with handle:
            handle.write(line)
            handle.flush()
            if handle.tell() > self.compact_bytes:
                newest = self.read()
                if newest is not None:
                    tmp = self.path.with_name(f".{self.path.name}.tmp")
                    tmp.write_text(json.dumps(newest.to_json(), separators=(",", ":")) + "\n")
                    tmp.replace(self.path)
        if self.witness_url:
            threading.Thread(target=self._post_to_witness, args=(head,), daemon=True).start()

    def _post_to_witness(self, head: SignedTreeHead) -> None:
        import httpx

        try:
            httpx.post(str(self.witness_url), json=head.to_json(), timeout=3.0)
        except httpx.HTTPError:
            log.warning("ledger witness unreachable; the checkpoint file still holds the newest head")
