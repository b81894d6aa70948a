"""Productions: the signed package of exactly what a legal process covers (B3, B5).

``ProductionService.create`` resolves the process's scope and writes, one record at a time, a zip of:
the customer records (unmasked when the process allows it, else masked), their evidence (sealed
details opened), their decisions (applications, case transitions, U.S./foreign determinations,
screening hits), the access history of each account in scope within the process's window (only the
access from the named networks, for an account in scope through a network alone), the ledger
entries of all of those records with an inclusion proof of each against the newest signed tree head,
a consistency proof from the tree head of when the process was registered, and a manifest of the
SHA-256 of every file, signed with the ledger's Ed25519 key (``legal.package`` describes the format
and verifies it). The production itself then goes on the ledger as a disclosure (one ``disclose``
entry per customer and account, and one for the process with the manifest's hash), in the same
transaction as its row in the register; only then is the package moved to where it was asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, select

from cloudcip import clock
from cloudcip.access.events import bytes_to_ip, format_time_ms
from cloudcip.access.queries import period_condition
from cloudcip.access.schema import access_account_activity, access_event
from cloudcip.errors import Conflict, Forbidden
from cloudcip.ledger.merkle import consistency_proof, inclusion_proofs
from cloudcip.ledger.schema import ledger_entry, ledger_tree_head
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.ledger.tree_head import SignedTreeHead
from cloudcip.legal.package import CONSISTENCY, ENTRIES, FORMAT, PROOFS, TREE_HEAD, manifest_message
from cloudcip.legal.schema import production
from cloudcip.records.customer_store import CustomerStore
from cloudcip.records.legal_process import ResolvedScope, process_row, resolve_scope
from cloudcip.records.roles import Actor, may
from cloudcip.screening.schema import screening_hit
from cloudcip.storage.database import Database
from cloudcip.storage.schema import beneficial_owner, evidence
from cloudcip.verification.schema import application, case_transition, person_determination

_CHUNK = 500
#: JSON of the package's files: keys sorted, UTF-8 as written (orjson: the production's bulk is JSON)
_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True)
class ProductionRecord:
    id: str
    process_id: str
    path: Path
    manifest_sha256: str
    tree_size: int
    files: int
    customers: int
    accounts: int
    ledger_entries: int


@dataclass
class _Writer:
    """Files written into the zip, each hashed as it goes in."""

    archive: zipfile.ZipFile
    files: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, data: bytes) -> None:
        self.archive.writestr(path, data)
        self.files.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})

    def add_json(self, path: str, document: Any) -> None:
        self.add(path, orjson.dumps(document, default=str, option=_JSON | orjson.OPT_INDENT_2))

    def add_lines(self, path: str, lines: Iterator[Any]) -> None:
        self.add(path, b"".join(orjson.dumps(line, default=str, option=_JSON) + b"\n" for line in lines))


def _row(row: Any) -> dict[str, Any]:
    return {key: clock.iso_ms(value) if isinstance(value, datetime) else value
            for key, value in row._mapping.items() if not isinstance(value, bytes | memoryview)}


@dataclass
class ProductionService:
    database: Database
    ledger: Ledger
    customers: CustomerStore
    clock: Callable[[], datetime] = clock.now

    def create(self, process_id: str, out: Path, actor: Actor) -> ProductionRecord:
        """Build the package of ``process_id`` at ``out``; 404 for an unknown process, 409 for a closed one."""
        if not may(actor.role, "production:create"):
            raise Forbidden(f"role {actor.role} may not make productions")
        production_id = str(uuid.uuid4())
        with self.database.engine.connect() as conn:
            process = process_row(conn, process_id)
            if process.state != "open":
                raise Conflict("the legal process is closed; nothing more is produced under it")
            scope = resolve_scope(conn, process_id)
            head = _newest_head(conn)
            registered = _head_at_least(conn, int(process.registered_tree_size))
        tmp = out.with_name(f".{out.name}.{production_id}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                writer = _Writer(archive)
                record_ids = self._write_records(writer, process, scope)
                entries = self._write_ledger(writer, head, registered, record_ids)
                writer.add("public-key.pem", self.ledger.public_key_pem().encode())
                manifest = {
                    "format": FORMAT, "production_id": production_id, "created_at": clock.iso(self.clock()),
                    "process": {"id": process.id, "kind": process.kind, "authority": process.authority,
                                "reference": process.reference},
                    "tree_head": head.to_json() if head else None, "files": writer.files,
                }
                manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
                archive.writestr("manifest.json", manifest_bytes)
                archive.writestr("manifest.sig", base64.b64encode(
                    self.ledger.signing_key.sign(manifest_message(manifest_bytes))) + b"\n")
            digest = hashlib.sha256(manifest_bytes).hexdigest()
            with self.ledger.unit_of_work() as work:
                work.conn.execute(insert(production).values(
                    id=production_id, process_id=process_id, created_at=self.clock(), created_by=actor.name,
                    manifest_sha256=digest, tree_size=head.tree_size if head else 0, files=len(writer.files),
                    customers=len(scope.customers), accounts=len(scope.accounts), ledger_entries=entries))
                for record_type, ids in (("customer", sorted(scope.customers)), ("account", sorted(scope.accounts))):
                    for record_id in ids:
                        work.log(LedgerAction(actor.name, actor.role, "disclose", record_type, record_id,
                                              purpose="production to legal process", legal_basis=process_id,
                                              detail={"production": production_id}))
                work.log(LedgerAction(actor.name, actor.role, "production", "legal_process", process_id,
                                      purpose="production to legal process", legal_basis=process_id,
                                      detail={"production": production_id, "manifest_sha256": digest,
                                              "files": len(writer.files)}))
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return ProductionRecord(production_id, process_id, out, digest, head.tree_size if head else 0,
                                len(writer.files), len(scope.customers), len(scope.accounts), entries)

    # -- the records ---------------------------------------------------------------------------
    def _write_records(self, writer: _Writer, process: Any, scope: ResolvedScope) -> list[str]:
        """Each customer's record, evidence and decisions, each account's access; the ids whose ledger
        entries go in."""
        writer.add_json("process.json", {
            "id": process.id, "kind": process.kind, "authority": process.authority, "reference": process.reference,
            "received": process.received_on.isoformat(), "due": process.due_on.isoformat() if process.due_on else None,
            "window_from": clock.iso(process.window_from), "window_to": clock.iso(process.window_to),
            "unmask": bool(process.unmask), "customers": len(scope.customers), "accounts": len(scope.accounts)})
        record_ids: list[str] = [process.id]
        with self.database.engine.connect() as conn:  # one read transaction: the records as of one moment
            customers = sorted(scope.customers)
            for start in range(0, len(customers), _CHUNK):
                chunk = customers[start:start + _CHUNK]
                records = self.customers.records_in(conn, chunk, unmask=bool(process.unmask))
                evidence_of = self._evidence(conn, chunk)
                decisions_of = self._decisions(conn, chunk)
                for customer_id in chunk:
                    writer.add_json(f"records/{customer_id}.json", records[customer_id])
                    writer.add_json(f"evidence/{customer_id}.json", evidence_of.get(customer_id, []))
                    decisions = decisions_of[customer_id]
                    writer.add_json(f"decisions/{customer_id}.json", decisions)
                    record_ids.append(customer_id)
                    record_ids.extend(a["id"] for a in decisions["applications"])
            accounts = sorted(scope.accounts)
            for start in range(0, len(accounts), _CHUNK):
                chunk = accounts[start:start + _CHUNK]
                events = self._access(conn, chunk, scope)
                for account_id in chunk:
                    networks = None if account_id in scope.accounts_in_full else scope.networks
                    writer.add_lines(f"access/{account_id}.jsonl", (
                        line for raw, line in events.get(account_id, [])
                        if networks is None or any(n.low <= raw <= n.high for n in networks)))
                    record_ids.append(account_id)
        return record_ids

    def _evidence(self, conn: Connection, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Each customer's evidence, the sealed details opened with its data key."""
        found: dict[str, list[dict[str, Any]]] = {}
        sealers = self.customers.sealers_in(conn, customer_ids)
        for row in conn.execute(select(evidence).where(evidence.c.customer_id.in_(customer_ids))
                                .order_by(evidence.c.customer_id, evidence.c.received_at, evidence.c.id)):
            item = _row(row)
            if row.detail_sealed is not None:
                sealer = sealers.get(row.customer_id)
                if sealer is not None:
                    item["detail"] = json.loads(sealer.open(bytes(row.detail_sealed), table="evidence",
                                                            column="detail", row_id=row.id))
            found.setdefault(row.customer_id, []).append(item)
        return found

    @staticmethod
    def _decisions(conn: Connection, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each customer's cases (with transitions and determinations) and screening hits."""
        found: dict[str, dict[str, Any]] = {c: {"customer_id": c, "applications": [], "screening_hits": []}
                                            for c in customer_ids}
        cases: dict[str, dict[str, Any]] = {}
        for row in conn.execute(select(application).where(application.c.customer_id.in_(customer_ids))
                                .order_by(application.c.created_at, application.c.id)):
            item = _row(row)
            item["response"] = json.loads(item.pop("response_json"))
            item["transitions"], item["determinations"] = [], []
            cases[row.id] = item
            found[row.customer_id]["applications"].append(item)
        ids = sorted(cases)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for t in conn.execute(select(case_transition).where(case_transition.c.application_id.in_(chunk))
                                  .order_by(case_transition.c.id)):
                cases[t.application_id]["transitions"].append(_row(t))
            for d in conn.execute(select(person_determination)
                                  .where(person_determination.c.application_id.in_(chunk))
                                  .order_by(person_determination.c.id)):
                cases[d.application_id]["determinations"].append(_row(d))
        owners = {str(o.id): str(o.customer_id) for o in conn.execute(
            select(beneficial_owner.c.id, beneficial_owner.c.customer_id)
            .where(beneficial_owner.c.customer_id.in_(customer_ids)))}
        subjects = [*customer_ids, *owners]
        for start in range(0, len(subjects), _CHUNK):
            for hit in conn.execute(select(screening_hit).where(screening_hit.c.subject_id.in_(
                    subjects[start:start + _CHUNK])).order_by(screening_hit.c.created_at)):
                holder = owners.get(hit.subject_id, hit.subject_id)
                found[holder]["screening_hits"].append(
                    {k: v for k, v in _row(hit).items() if k != "explanation_json"})
        return found

    def _access(self, conn: Connection, accounts: Sequence[str],
                scope: ResolvedScope) -> dict[str, list[tuple[bytes, dict[str, Any]]]]:
        """The events of ``accounts`` within the process's window, per account in time order, each
        with its address's 16-byte form (to keep only the named networks' where that applies)."""
        event = access_event.c
        low = int(scope.window_from.timestamp() * 1000) if scope.window_from else -(1 << 62)
        high = int(scope.window_to.timestamp() * 1000) if scope.window_to else 1 << 62
        span = conn.execute(select(func.min(access_account_activity.c.first_access_ms),
                                   func.max(access_account_activity.c.last_access_ms))
                            .where(access_account_activity.c.account_id.in_(accounts))).first()
        if span is None or span[0] is None:
            return {}
        low, high = max(low, int(span[0])), min(high, int(span[1]))
        condition = and_(event.account_id.in_(accounts), event.time_ms >= low, event.time_ms <= high)
        period = period_condition(self.database, low, high)
        if period is not None:
            condition = and_(period, condition)
        found: dict[str, list[tuple[bytes, dict[str, Any]]]] = {}
        for row in conn.execute(select(access_event).where(condition)
                                .order_by(event.account_id, event.time_ms, event.id)):
            found.setdefault(row.account_id, []).append((bytes(row.ip), {
                "id": row.event_id, "time": format_time_ms(int(row.time_ms)), "ip": str(bytes_to_ip(bytes(row.ip))),
                "principal": row.principal, "action": row.action, "kind": row.kind, "user_agent": row.user_agent,
                "source": row.source, "country": row.country}))
        return found

    # -- the ledger ----------------------------------------------------------------------------
    def _write_ledger(self, writer: _Writer, head: SignedTreeHead | None, registered: SignedTreeHead | None,
                      record_ids: Sequence[str]) -> int:
        size = head.tree_size if head else 0
        entries: dict[int, str] = {}
        with self.database.engine.connect() as conn:
            ids = sorted(set(record_ids))
            for start in range(0, len(ids), _CHUNK):
                entries.update((int(i), str(t)) for i, t in conn.execute(
                    select(ledger_entry.c.idx, ledger_entry.c.leaf_input)
                    .where(ledger_entry.c.record_id.in_(ids[start:start + _CHUNK]), ledger_entry.c.idx < size)))
            hashes = [bytes(h) for h in conn.execute(select(ledger_entry.c.leaf_hash).where(ledger_entry.c.idx < size)
                                                     .order_by(ledger_entry.c.idx)).scalars()] if size else []
        proofs = inclusion_proofs(hashes, entries, size) if entries else {}
        writer.add_json(TREE_HEAD, head.to_json() if head else None)
        writer.add_lines(ENTRIES, ({"index": index, "leaf_input": entries[index]} for index in sorted(entries)))
        writer.add_lines(PROOFS, ({"index": index, "leaf_hash": hashes[index].hex(),
                                   "audit_path": [node.hex() for node in proofs[index]]} for index in sorted(entries)))
        if registered is not None and head is not None:
            writer.add_json(CONSISTENCY, {"from": registered.to_json(), "proof": [
                node.hex() for node in consistency_proof(hashes, registered.tree_size, size)]})
        else:
            writer.add_json(CONSISTENCY, {"from": None, "proof": []})
        return len(entries)


def _head_from(row: Any) -> SignedTreeHead:
    return SignedTreeHead(tree_size=int(row.tree_size), root_hash=bytes(row.root_hash),
                          timestamp_ms=int(row.timestamp_ms), signature=bytes(row.signature))


def _newest_head(conn: Connection) -> SignedTreeHead | None:
    row = conn.execute(select(ledger_tree_head).order_by(ledger_tree_head.c.tree_size.desc()).limit(1)).first()
    return _head_from(row) if row is not None else None


def _head_at_least(conn: Connection, size: int) -> SignedTreeHead | None:
    """The first signed tree head covering the ledger as it was at ``size`` entries (none for 0)."""
    if size <= 0:
        return None
    row = conn.execute(select(ledger_tree_head).where(ledger_tree_head.c.tree_size >= size)
                       .order_by(ledger_tree_head.c.tree_size).limit(1)).first()
    return _head_from(row) if row is not None else None


__all__ = ["ProductionRecord", "ProductionService"]
