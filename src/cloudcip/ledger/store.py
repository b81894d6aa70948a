"""The ledger in the database: appending entries, signing tree heads, proofs, verification (B3).

Every create, read, update, export, disclosure and purge of a customer record appends an entry
(who, role, purpose, legal basis, action, record reference; never the personal data) in the same
transaction as the change itself. Each commit batch gets an Ed25519-signed tree head (RFC 9162
hashing); the newest head is also written to a checkpoint file outside the database, and optionally
posted to a witness, so deleting the newest entries together with their heads is still caught.

Each entry's canonical JSON carries its index and the leaf hash of the entry before it, and each row
keeps its leaf hash: an edited, deleted, inserted or reordered entry is named by index, and an
attacker who rewrites hashes and chain still meets the signed tree heads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, bindparam, func, select, text, update
from sqlalchemy.exc import NoResultFound

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.crypto.keyring import write_private_file
from cloudcip.errors import Internal, NotFound
from cloudcip.ledger.checkpoint import Checkpoint as Checkpoint  # re-exported: the ledger's file
from cloudcip.ledger.merkle import CompactRange, inclusion_proof, leaf_hash, root_from_leaf_hashes
from cloudcip.ledger.schema import ledger_entry, ledger_state, ledger_tree_head
from cloudcip.ledger.tree_head import (
    ProofError,
    SignedTreeHead,
    inclusion_proof_document,
    public_key_pem,
    sign_tree_head,
    verify_tree_head,
)
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database
from cloudcip.storage.prepared import Prepared

log = logging.getLogger("cloudcip.ledger")


# built once and run on the driver (``storage.prepared``): the append path runs on every request that
# touches a record
_LOCK_STATE = Prepared(
    update(ledger_state)
    .where(ledger_state.c.id == 1)
    .values(tree_size=ledger_state.c.tree_size)
    .returning(ledger_state.c.tree_size, ledger_state.c.last_leaf_hash, ledger_state.c.compact_state)
)
_SAVE_STATE = Prepared(update(ledger_state).where(ledger_state.c.id == 1).values(
    tree_size=bindparam("tree_size"), last_leaf_hash=bindparam("last_leaf_hash"),
    compact_state=bindparam("compact_state")))


class LedgerEntryNotFound(NotFound, IndexError):
    """No entry at that index in the newest signed tree (404)."""

    def __init__(self, index: int) -> None:
        super().__init__("no such ledger entry")
        self.index = index


@dataclass(frozen=True)
class LedgerAction:
    """One access to a record, as it goes on the ledger. No personal data in any field."""

    actor: str
    role: str
    action: str  # create | read | read_unmasked | update | export | disclose | purge | ...
    record_type: str  # customer | application | account | ...
    record_id: str
    purpose: str | None = None
    legal_basis: str | None = None
    detail: dict[str, Any] | None = None  # non-personal context, e.g. {"fields": ["email"]}


def canonical_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private_file(path, pem)
    return key


def initial_state_row() -> dict[str, Any]:
    return {"id": 1, "tree_size": 0, "last_leaf_hash": None, "compact_state": json.dumps(CompactRange().to_state())}


def _holds_writes(conn: Connection) -> bool:
    """Whether ``conn`` has written in its open transaction. sqlite3 begins its own transaction only
    before the first write (its ``in_transaction``); PostgreSQL assigns a transaction id at the first
    write (``pg_current_xact_id_if_assigned()`` is null until then), whereas psycopg begins a
    transaction at any statement. Other back-ends' open transactions are taken as reads (a unit of
    work is begun on a signup's read connection only)."""
    if conn.dialect.name == "sqlite":
        return bool(getattr(conn.connection.dbapi_connection, "in_transaction", False))
    if conn.dialect.name == "postgresql":
        return conn.execute(_XACT_ASSIGNED).scalar() is not None
    return False


_XACT_ASSIGNED = text("SELECT pg_current_xact_id_if_assigned()")


@dataclass
class Ledger:
    """Appends, proves and verifies; one per process, shared by every request."""

    database: Database
    signing_key: Ed25519PrivateKey
    checkpoint: Checkpoint
    clock: Clock = clocks.now
    #: the compact range of the state this process last saved, with its stored text: the next append
    #: starts from it when the state row still holds that text (else it parses the row)
    _saved: tuple[str, CompactRange] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    # -- appending -----------------------------------------------------------------------------
    def append(self, conn: Connection, actions: Sequence[LedgerAction]) -> SignedTreeHead | None:
        """Append ``actions`` inside the caller's transaction and sign the new tree head.

        The caller publishes the returned head with ``checkpoint.publish`` after commit
        (``Ledger.unit_of_work`` does both).
        """
        if not actions:
            return None
        # an UPDATE comes first: it takes the write lock that serialises appenders on both engines
        locked = _LOCK_STATE.all(conn)
        if not locked:
            raise NoResultFound("the ledger's state row is missing")
        tree_size, last_leaf_hash, compact_state = locked[0]
        size = int(tree_size)
        previous = bytes(last_leaf_hash) if last_leaf_hash is not None else b""
        saved = self._saved
        compact = saved[1].copy() if saved is not None and saved[0] == compact_state else \
            CompactRange.from_state(json.loads(compact_state))
        now = self.clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the column holds what is hashed
        at_text = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rows: list[dict[str, Any]] = []
        for action in actions:
            entry = {
                "index": size,
                "time": at_text,
                "actor": action.actor,
                "role": action.role,
                "action": action.action,
                "record": f"{action.record_type}/{action.record_id}",
                "purpose": action.purpose,
                "legal_basis": action.legal_basis,
                "prev": previous.hex(),
            }
            if action.detail:
                entry["detail"] = action.detail
            leaf_input = canonical_json(entry)
            digest = leaf_hash(leaf_input.encode())
            compact.append(digest)
            rows.append({"idx": size, "at": now, "actor": action.actor, "role": action.role, "action": action.action,
                         "record_type": action.record_type, "record_id": action.record_id,
                         "purpose": action.purpose, "legal_basis": action.legal_basis, "leaf_input": leaf_input,
                         "leaf_hash": digest})
            previous = digest
            size += 1
        insert_rows(conn, ledger_entry, rows)  # straight to the driver: on the path of every request
        head = sign_tree_head(self.signing_key, size, compact.root(), int(now.timestamp() * 1000))
        insert_rows(conn, ledger_tree_head, [
            {"tree_size": size, "root_hash": head.root_hash, "timestamp_ms": head.timestamp_ms,
             "signature": head.signature}])
        state_text = json.dumps(compact.to_state())
        _SAVE_STATE.execute(conn, {"tree_size": size, "last_leaf_hash": previous, "compact_state": state_text})
        self._saved = (state_text, compact)
        return head

    @contextmanager
    def unit_of_work(self, conn: Connection | None = None) -> Iterator[UnitOfWork]:
        """A transaction whose ledger actions are appended before commit, and published after.

        ``conn``: a connection the caller holds and has done its reads on (a signup's, issue 11): the
        transaction is begun on it, the reads' own (implicit) transaction ended first, instead of on a
        connection checked out of the pool for it."""
        work = UnitOfWork()
        with self.database.write_gate(), self._transaction(conn) as begun:
            work.conn = begun
            yield work
            work.head = self.append(begun, work.actions)
        if work.head is not None:
            self.checkpoint.publish(work.head)

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is None:
            with self.database.engine.begin() as fresh:
                yield fresh
            return
        if conn.in_transaction():
            if _holds_writes(conn):  # ended here, they would be lost: the caller's error, not the data's
                raise Internal("a unit of work was begun on a connection holding uncommitted writes")
            conn.rollback()  # the reads' transaction: nothing of it to keep
        with conn.begin():
            yield conn

    # -- reading -------------------------------------------------------------------------------
    def size(self) -> int:
        with self.database.engine.connect() as conn:
            return int(conn.execute(select(ledger_state.c.tree_size).where(ledger_state.c.id == 1)).scalar_one())

    def latest_head(self) -> SignedTreeHead | None:
        with self.database.engine.connect() as conn:
            row = conn.execute(
                select(ledger_tree_head).order_by(ledger_tree_head.c.tree_size.desc()).limit(1)
            ).first()
        return _head_from_row(row) if row else None

    def inclusion_proof(self, index: int) -> dict[str, Any]:
        """The JSON document an auditor verifies offline with ``docs/offline_verifier.py``."""
        with self.database.engine.connect() as conn:
            head_row = conn.execute(
                select(ledger_tree_head).order_by(ledger_tree_head.c.tree_size.desc()).limit(1)
            ).first()
            if head_row is None or index < 0 or index >= int(head_row.tree_size):
                raise LedgerEntryNotFound(index)
            head = _head_from_row(head_row)
            hashes = [bytes(h) for h in conn.execute(
                select(ledger_entry.c.leaf_hash).where(ledger_entry.c.idx < head.tree_size)
                .order_by(ledger_entry.c.idx)
            ).scalars()]
            leaf_input = conn.execute(
                select(ledger_entry.c.leaf_input).where(ledger_entry.c.idx == index)
            ).scalar_one()
        path = inclusion_proof(hashes, index, head.tree_size)
        return inclusion_proof_document(leaf_input.encode(), index, path, head)

    def inclusion_proofs(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """The proofs of several entries against the newest signed head, reading the leaf hashes once
        (what a page that verifies many entries asks for)."""
        with self.database.engine.connect() as conn:
            head_row = conn.execute(
                select(ledger_tree_head).order_by(ledger_tree_head.c.tree_size.desc()).limit(1)
            ).first()
            if head_row is None:
                raise IndexError("the ledger is empty")
            head = _head_from_row(head_row)
            wanted = sorted({i for i in indices if 0 <= i < head.tree_size})
            if len(wanted) != len(set(indices)):
                raise IndexError("no such ledger entry")
            hashes = [bytes(h) for h in conn.execute(
                select(ledger_entry.c.leaf_hash).where(ledger_entry.c.idx < head.tree_size)
                .order_by(ledger_entry.c.idx)
            ).scalars()]
            inputs = {int(row.idx): str(row.leaf_input) for row in conn.execute(
                select(ledger_entry.c.idx, ledger_entry.c.leaf_input).where(ledger_entry.c.idx.in_(wanted)))}
        return [inclusion_proof_document(inputs[i].encode(), i, inclusion_proof(hashes, i, head.tree_size), head)
                for i in wanted]

    def entries_for_record(self, record_type: str, record_id: str) -> list[dict[str, Any]]:
        """The entries about one record, read from what is hashed: the indexed ``record_id`` column
        finds the candidates, the hashed ``record`` field decides (every column is also checked by
        ``verify``)."""
        reference = f"{record_type}/{record_id}"
        with self.database.engine.connect() as conn:
            rows = conn.execute(
                select(ledger_entry.c.leaf_input)
                .where(ledger_entry.c.record_id == record_id)
                .order_by(ledger_entry.c.idx)
            ).scalars()
            entries = [json.loads(r) for r in rows]
        return [entry for entry in entries if entry.get("record") == reference]

    # -- verification --------------------------------------------------------------------------
    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerificationReport:
        return verify_ledger(self.database, self.public_key, self.checkpoint, progress=progress)


@dataclass
class UnitOfWork:
    conn: Connection = field(init=False)
    actions: list[LedgerAction] = field(default_factory=list)
    head: SignedTreeHead | None = None

    def log(self, action: LedgerAction) -> None:
        self.actions.append(action)


def _head_from_row(row: Any) -> SignedTreeHead:
    return SignedTreeHead(
        tree_size=int(row.tree_size),
        root_hash=bytes(row.root_hash),
        timestamp_ms=int(row.timestamp_ms),
        signature=bytes(row.signature),
    )


# every stored column: each one is compared with the hashed entry (``_columns_agree``)
_ENTRY_COLUMNS = ("SELECT idx, leaf_input, leaf_hash, at, actor, role, action, record_type, record_id, purpose, "
                  "legal_basis FROM ledger_entry ORDER BY idx")
CHECKED_COLUMNS = ("idx", "leaf_input", "leaf_hash", "at", "actor", "role", "action", "record_type", "record_id",
                   "purpose", "legal_basis")


def _at_text(value: Any) -> str | None:
    """A stored ``at`` as the hashed entry writes its time (``2026-01-01T10:00:00.123Z``): SQLite hands
    the raw text back (``2026-01-01 10:00:00.123000``, UTC), PostgreSQL an aware datetime."""
    if isinstance(value, str):
        if len(value) >= 23 and value[10] == " " and (len(value) == 26 or value.endswith("+00:00")):
            return f"{value[:10]}T{value[11:23]}Z"  # the fast path: SQLAlchemy's own SQLite format
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return clocks.iso_ms(value)
    return None


def _columns_agree(entry: dict[str, Any], row: tuple[Any, ...]) -> bool:
    """Whether every stored column of ``row`` says what the hashed ``entry`` says (B3): an edit of a
    column alone (``purpose``, ``role``, ``legal_basis``, ``at``, ``record_type`` ...) is tampering."""
    _idx, _leaf, _hash, at, actor, role, action, record_type, record_id, purpose, legal_basis = row
    return (entry.get("actor") == actor and entry.get("role") == role and entry.get("action") == action
            and entry.get("record") == f"{record_type}/{record_id}" and entry.get("purpose") == purpose
            and entry.get("legal_basis") == legal_basis and entry.get("time") == _at_text(at))


def _signed(public_key: Ed25519PublicKey, head: SignedTreeHead) -> bool:
    """Whether ``head`` is signed by ``public_key``: the verification report names the entry at fault
    instead of raising."""
    try:
        verify_tree_head(public_key, head)
    except ProofError:
        return False
    return True


def _entry_rows(conn: Connection, batch: int) -> Iterator[tuple[Any, ...]]:
    """Every entry as a plain tuple, streamed in ``batch``-sized fetches straight from the driver
    (a server-side cursor on PostgreSQL), since verification reads the whole log."""
    driver = conn.connection.dbapi_connection
    assert driver is not None
    server_side = conn.dialect.name == "postgresql"
    cursor = driver.cursor(name="cloudcip_ledger_verify") if server_side else driver.cursor()
    try:
        cursor.execute(_ENTRY_COLUMNS)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            yield from rows
    finally:
        cursor.close()


@dataclass
class VerificationReport:
    ok: bool
    tree_size: int
    root_hash: bytes
    heads_checked: int
    first_bad_index: int | None = None
    problem: str | None = None
    seconds: float = 0.0


def verify_ledger(
    database: Database,
    public_key: Ed25519PublicKey,
    checkpoint: Checkpoint | None,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 20_000,
) -> VerificationReport:
    """Recompute the tree from the entries and check every signed head and the checkpoint.

    Returns a report naming the first bad index when any entry was edited, deleted, inserted,
    reordered, or the log was truncated.
    """
    started = time.perf_counter()
    problems: list[tuple[int, str]] = []

    def bad(index: int, why: str) -> None:
        problems.append((index, why))

    with database.engine.connect() as conn:
        heads = [_head_from_row(r) for r in
                 conn.execute(select(ledger_tree_head).order_by(ledger_tree_head.c.tree_size))]
        state_size = conn.execute(select(ledger_state.c.tree_size).where(ledger_state.c.id == 1)).scalar_one_or_none()
        total = int(conn.execute(select(func.count()).select_from(ledger_entry)).scalar_one())
        compact = CompactRange()
        head_iter = iter(heads)
        next_head = next(head_iter, None)
        checked = 0
        last_good_head = 0
        previous_hex = ""
        position = 0
        decode = json.JSONDecoder().decode
        for row in _entry_rows(conn, batch):
            idx, leaf_input, stored_hash = row[0], row[1], row[2]
            digest = leaf_hash(leaf_input.encode())
            try:
                entry = decode(leaf_input)
            except ValueError:
                entry = {}
            if idx != position or entry.get("index") != position:
                bad(position, "entry out of place (deleted, inserted or reordered)")
            elif digest != bytes(stored_hash):
                bad(position, "entry content does not match its leaf hash (edited)")
            elif entry.get("prev") != previous_hex:
                bad(max(position - 1, 0), "hash chain broken: the previous entry was altered")
            elif not _columns_agree(entry, row):
                bad(position, "entry columns disagree with the hashed entry (edited)")
            if problems:
                break
            compact.append(digest)
            previous_hex = digest.hex()
            position += 1
            while next_head is not None and next_head.tree_size == position:
                checked += 1
                if not _signed(public_key, next_head):
                    bad(last_good_head, f"tree head at size {next_head.tree_size} has a bad signature")
                elif compact.root() != next_head.root_hash:
                    bad(last_good_head, f"tree head at size {next_head.tree_size} does not match the entries")
                else:
                    last_good_head = position
                next_head = next(head_iter, None)
            if problems:
                break
            if progress is not None and position % batch == 0:
                progress(position, total)
    size = position
    if not problems:
        if next_head is not None:
            bad(size, f"log truncated: a signed tree head covers {next_head.tree_size} entries, the log has {size}")
        elif state_size is not None and int(state_size) != size:
            bad(min(size, int(state_size)), f"log has {size} entries, its state records {state_size}")
        elif heads and heads[-1].tree_size != size:
            bad(heads[-1].tree_size, "entries after the newest signed tree head")
    if not problems and checkpoint is not None:
        outside = checkpoint.read()
        if outside is not None:
            if not _signed(public_key, outside):
                bad(0, "checkpoint file has a bad signature")
            elif outside.tree_size > size:
                bad(size, f"log truncated: the checkpoint signed {outside.tree_size} entries, the log has {size}")
            elif not any(h.tree_size == outside.tree_size and h.root_hash == outside.root_hash for h in heads):
                bad(outside.tree_size - 1 if outside.tree_size else 0,
                    "the checkpoint's tree head is not in the log")
    root = compact.root() if size else root_from_leaf_hashes([])
    if progress is not None:
        progress(size, total)
    first = min(problems) if problems else None
    return VerificationReport(
        ok=not problems,
        tree_size=size,
        root_hash=root,
        heads_checked=checked,
        first_bad_index=first[0] if first else None,
        problem=first[1] if first else None,
        seconds=time.perf_counter() - started,
    )
