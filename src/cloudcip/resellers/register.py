"""The reseller register: each reseller relationship, its own written CIP on file, its contract
attestation and certification dates (E1, H1, H3, B2, B3).

A reseller is a customer of the provider (its Reseller Accounts hang off that customer record); it is
a **foreign reseller** unless the customer's U.S./foreign determination says U.S. person (A2:
undetermined counts as foreign). The register keeps the contact e-mail sealed under the customer's
data key, the contract reference and whether the contract holds the reseller's CIP attestation, the
last certification and the next one due (a year later; owed at once while never certified), and the
status (``active``, ``under_review``, ``terminating``, ``terminated``).

The reseller's written CIP is uploaded as a document: its type is detected from its bytes with
``filetype`` (PDF, DOCX) or as UTF-8 text (plain text, HTML); anything else, an empty file or one over
:data:`MAX_CIP_BYTES` is a 422 naming ``file``. Each upload is a new version, never replacing an
earlier one, kept sealed (AES-GCM under the customer's data key) with its SHA-256. Every change and
every read is on the ledger in the same transaction.

:func:`foreign_resellers` is what the certification (H1) and the answers to CIP copy requests (H3) read.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import filetype
from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, Gone, InvalidInput, NotFound
from cloudcip.identity import validate_email
from cloudcip.ledger.store import Ledger, LedgerAction, UnitOfWork
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged, CustomerStore
from cloudcip.records.masking import mask_email
from cloudcip.records.roles import AccessRefused, Actor, Permission, may
from cloudcip.resellers.register_schema import reseller, reseller_cip_document
from cloudcip.storage.database import Database
from cloudcip.storage.idlist import any_of
from cloudcip.storage.schema import account, customer

STATUSES: tuple[str, ...] = ("active", "under_review", "terminating", "terminated")
MAX_CIP_BYTES = 10_000_000
CERTIFICATION_INTERVAL_DAYS = 365
FILE_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


class ResellerNotFound(NotFound, LookupError):
    def __init__(self) -> None:
        super().__init__("no such reseller in the register")


class CipDocumentNotFound(NotFound, LookupError):
    def __init__(self) -> None:
        super().__init__("no such version of the reseller's CIP")


class ResellerTerminated(Conflict):
    """The relationship is terminated: nothing more is taken from this reseller (409)."""

    def __init__(self, detail: str = "the reseller relationship is terminated") -> None:
        super().__init__(detail)


class IncidentReporter(Protocol):
    """Makes an incident report about ``account_id`` in the caller's unit of work (the finding's: both are
    written or neither) and returns its id (wired in ``runtime``; G4)."""

    def __call__(self, work: UnitOfWork, account_id: str, summary: str, kind: str, findings: dict[str, Any],
                 actor: Actor) -> str: ...


def require(actor: Actor, permission: Permission) -> None:
    if not may(actor.role, permission):
        raise AccessRefused(f"role {actor.role} may not do this ({permission})")


def detect_file_type(content: bytes) -> str:
    """``pdf``, ``docx``, ``txt`` or ``html`` from the bytes themselves (never the name or the
    declared media type); :class:`InvalidInput` naming ``file`` for anything else."""
    if not content:
        raise InvalidInput.field("file", "is empty")
    if len(content) > MAX_CIP_BYTES:
        raise InvalidInput.field("file", f"larger than {MAX_CIP_BYTES} bytes")
    kind = filetype.guess(content)
    if kind is not None:
        if kind.extension in ("pdf", "docx"):
            return str(kind.extension)
        raise InvalidInput.field("file", "unsupported type: a PDF, DOCX, plain-text or HTML document")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.field("file", "unsupported type: a PDF, DOCX, plain-text or HTML document") from None
    if "\x00" in text or not text.strip():
        raise InvalidInput.field("file", "unsupported type: a PDF, DOCX, plain-text or HTML document")
    return "html" if _HTML_START.match(content[:512]) else "txt"


def clean_filename(name: str | None, file_type: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _FILENAME.sub("_", base).strip()[:200]
    return base or f"cip.{file_type}"


def reseller_accounts(conn: Connection, customer_id: str) -> list[dict[str, str]]:
    """The customer's accounts (Reseller Accounts first), ids and states only."""
    rows = conn.execute(select(account.c.id, account.c.type, account.c.state)
                        .where(account.c.customer_id == customer_id).order_by(account.c.opened_at, account.c.id))
    accounts = [{"id": row.id, "type": row.type, "state": row.state} for row in rows]
    return sorted(accounts, key=lambda item: item["type"] != "reseller")


def refuse_if_terminated(conn: Connection, customer_id: str) -> None:
    """E3: a terminated reseller shares no more sub-lessees (409)."""
    status = conn.execute(select(reseller.c.status).where(reseller.c.customer_id == customer_id)).scalar()
    if status == "terminated":
        raise ResellerTerminated("the reseller relationship is terminated; it takes no sub-lessees")


def foreign_resellers(conn: Connection) -> list[dict[str, Any]]:
    """E1, H1, H3: every foreign reseller of the register (no personal data): its id, customer,
    Reseller Accounts, status, certification dates and the latest version of its CIP on file."""
    latest = (select(reseller_cip_document.c.reseller_id, func.max(reseller_cip_document.c.version).label("version"))
              .group_by(reseller_cip_document.c.reseller_id).subquery())
    rows = conn.execute(
        select(reseller, reseller_cip_document.c.id.label("cip_id"),
               reseller_cip_document.c.version.label("cip_version"),
               reseller_cip_document.c.sha256.label("cip_sha256"), reseller_cip_document.c.file_type)
        .select_from(reseller.outerjoin(latest, latest.c.reseller_id == reseller.c.id)
                     .outerjoin(reseller_cip_document, (reseller_cip_document.c.reseller_id == reseller.c.id)
                                & (reseller_cip_document.c.version == latest.c.version)))
        .where(reseller.c.foreign_reseller.is_(True)).order_by(reseller.c.id)).all()
    accounts: dict[str, list[str]] = {}  # each customer's Reseller Accounts, read in one query
    if rows:
        for item in conn.execute(select(account.c.customer_id, account.c.id).where(
                any_of(account.c.customer_id, [row.customer_id for row in rows]), account.c.type == "reseller")
                .order_by(account.c.opened_at, account.c.id)):
            accounts.setdefault(item.customer_id, []).append(item.id)
    return [{"reseller_id": row.id, "customer_id": row.customer_id, "status": row.status,
             "accounts": accounts.get(row.customer_id, []),
             "certified_on": row.certified_on.isoformat() if row.certified_on else None,
             "certification_due": row.certification_due.isoformat() if row.certification_due else None,
             "cip": None if row.cip_id is None else {"id": row.cip_id, "version": row.cip_version,
                                                     "sha256": row.cip_sha256, "file_type": row.file_type}}
            for row in rows]


@dataclass
class ResellerRegister:
    """E1: the register of one database; each change and read on the ledger."""

    database: Database
    ledger: Ledger
    customers: CustomerStore
    termination_days: int = 30
    reporter: IncidentReporter | None = None
    now: Callable[[], datetime] = clock.now
    review_interval_days: int = 365  # E3: the profile's cadence of scheduled reviews (``scheduled``)
    review_sample_size: int = 25

    # -- helpers shared with the oversight and the clock ------------------------------------------
    def _row(self, conn: Connection, reseller_id: str) -> Any:
        row = conn.execute(select(reseller).where(reseller.c.id == reseller_id)).first()
        if row is None:
            raise ResellerNotFound()
        return row

    def _set_status(self, work: UnitOfWork, row: Any, status: str, reason: str, actor: Actor) -> None:
        if row.status == status:
            return
        work.conn.execute(update(reseller).where(reseller.c.id == row.id).values(
            status=status, status_reason=reason[:500], updated_at=self.now()))
        work.log(LedgerAction(actor.name, actor.role, "status", "reseller", row.id, purpose="reseller oversight",
                              detail={"from": row.status, "to": status}))

    def _view(self, conn: Connection, row: Any, contact: str | None) -> dict[str, Any]:
        versions = conn.execute(select(func.count(), func.max(reseller_cip_document.c.version))
                                .where(reseller_cip_document.c.reseller_id == row.id)).one()
        return {
            "id": row.id, "customer_id": row.customer_id, "foreign": bool(row.foreign_reseller),
            "person_status": row.person_status, "contact": mask_email(contact) if contact else None,
            "contract_reference": row.contract_reference, "attestation": bool(row.attestation),
            "certified_on": row.certified_on.isoformat() if row.certified_on else None,
            "certification_due": row.certification_due.isoformat() if row.certification_due else None,
            "status": row.status, "status_reason": row.status_reason,
            "accounts": reseller_accounts(conn, row.customer_id),
            "cip_versions": int(versions[0]), "latest_cip_version": versions[1],
            "created_at": clock.iso(clock.utc(row.created_at)),
        }

    def _contact(self, conn: Connection, row: Any) -> str | None:
        try:
            sealer = self.customers.sealer_in(conn, row.customer_id)
        except CustomerPurged:
            return None
        return sealer.open(bytes(row.contact_email_sealed), table="reseller", column="contact_email", row_id=row.id)

    # -- E1: the register ------------------------------------------------------------------------
    def add(self, customer_id: str, contact: str, actor: Actor, *, contract_reference: str | None = None,
            attestation: bool = False, certified_on: date | None = None, purpose: str | None = None) -> dict[str, Any]:
        """Register the customer ``customer_id`` as a reseller; foreign unless determined a U.S. person."""
        require(actor, "reseller:write")
        email = validate_email(contact, "contact").normalized
        if contract_reference is not None and not 1 <= len(contract_reference.strip()) <= 128:
            raise InvalidInput.field("contract_reference", "1 to 128 characters")
        now = self.now()
        if certified_on is not None and certified_on > now.date():
            raise InvalidInput.field("certified_on", "is in the future")
        reseller_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            person = conn.execute(select(customer.c.status, customer.c.person_status)
                                  .where(customer.c.id == customer_id)).first()
            if person is None:
                raise CustomerNotFound(customer_id)
            if person.status == "purged":
                raise Gone("the customer record was purged")
            if conn.execute(select(reseller.c.id).where(reseller.c.customer_id == customer_id)).first() is not None:
                raise Conflict("this customer is already in the reseller register")
            status = person.person_status or "undetermined"
            sealer = self.customers.sealer_in(conn, customer_id)
            due = (certified_on + timedelta(days=CERTIFICATION_INTERVAL_DAYS)) if certified_on else now.date()
            conn.execute(insert(reseller).values(
                id=reseller_id, customer_id=customer_id, foreign_reseller=status != "us_person", person_status=status,
                contact_email_sealed=sealer.seal(email, table="reseller", column="contact_email", row_id=reseller_id),
                contract_reference=contract_reference.strip() if contract_reference else None,
                attestation=attestation, certified_on=certified_on, certification_due=due, status="active",
                status_reason=None, created_at=now, created_by=actor.name[:64], updated_at=now))
            work.log(LedgerAction(actor.name, actor.role, "create", "reseller", reseller_id,
                                  purpose=purpose or "reseller registered",
                                  detail={"customer_id": customer_id, "foreign": status != "us_person",
                                          "attestation": attestation}))
            return self._view(conn, self._row(conn, reseller_id), email)

    def show(self, reseller_id: str, actor: Actor, *, purpose: str | None = None) -> dict[str, Any]:
        """One relationship (contact masked); the read is on the ledger."""
        require(actor, "reseller:read")
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            view = self._view(work.conn, row, self._contact(work.conn, row))
            work.log(LedgerAction(actor.name, actor.role, "read", "reseller", reseller_id, purpose=purpose))
        return view

    def entries(self, actor: Actor, *, status: str | None = None, foreign: bool | None = None,
                purpose: str | None = None) -> list[dict[str, Any]]:
        """The register, oldest first, optionally one status or only (non-)foreign resellers."""
        require(actor, "reseller:read")
        if status is not None and status not in STATUSES:
            raise InvalidInput.field("status", f"one of {', '.join(STATUSES)}")
        query = select(reseller).order_by(reseller.c.created_at, reseller.c.id)
        if status is not None:
            query = query.where(reseller.c.status == status)
        if foreign is not None:
            query = query.where(reseller.c.foreign_reseller.is_(foreign))
        with self.ledger.unit_of_work() as work:
            rows = work.conn.execute(query).all()
            views = [self._view(work.conn, row, self._contact(work.conn, row)) for row in rows]
            work.log(LedgerAction(actor.name, actor.role, "list", "reseller", "*", purpose=purpose,
                                  detail={"count": len(views), "status": status}))
        return views

    def foreign_resellers(self) -> list[dict[str, Any]]:
        """E1: the foreign resellers, for the certification and the CIP copy requests."""
        with self.database.engine.connect() as conn:
            return foreign_resellers(conn)

    def foreign_cip_documents(self, actor: Actor) -> list[tuple[str, bytes]]:
        """H3: the latest CIP on file of each foreign reseller, to send with the provider's own when
        copies are requested: ``(file name, bytes)``; each read is on the ledger."""
        require(actor, "reseller:read")
        documents = []
        for item in self.foreign_resellers():
            if item["cip"] is None:
                continue
            try:
                meta, content = self.cip_document(item["reseller_id"], item["cip"]["version"], actor,
                                                  purpose="copies of the foreign resellers' CIPs requested (H3)")
            except Gone:
                continue  # the reseller's customer record was purged: nothing left to send
            documents.append((f"reseller-{item['reseller_id']}-cip-v{meta['version']}.{meta['file_type']}", content))
        return documents

    def record_certification(self, reseller_id: str, certified_on: date, actor: Actor, *,
                             attestation: bool | None = None) -> dict[str, Any]:
        """The reseller certified (annually): the date, the next one due, the determination refreshed."""
        require(actor, "reseller:write")
        if certified_on > self.now().date():
            raise InvalidInput.field("certified_on", "is in the future")
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            if row.status == "terminated":
                raise ResellerTerminated()
            person_status = work.conn.execute(select(customer.c.person_status)
                                              .where(customer.c.id == row.customer_id)).scalar() or "undetermined"
            due = certified_on + timedelta(days=CERTIFICATION_INTERVAL_DAYS)
            values: dict[str, Any] = {"certified_on": certified_on, "certification_due": due,
                                      "person_status": person_status, "foreign_reseller": person_status != "us_person",
                                      "updated_at": self.now()}
            if attestation is not None:
                values["attestation"] = attestation
            work.conn.execute(update(reseller).where(reseller.c.id == reseller_id).values(**values))
            work.log(LedgerAction(actor.name, actor.role, "certify", "reseller", reseller_id,
                                  purpose="reseller certification",
                                  detail={"certified_on": certified_on.isoformat(), "due": due.isoformat()}))
            return self._view(work.conn, self._row(work.conn, reseller_id), self._contact(work.conn, row))

    # -- E1: the reseller's own written CIP ------------------------------------------------------
    def upload_cip(self, reseller_id: str, content: bytes, actor: Actor, *,
                   filename: str | None = None) -> dict[str, Any]:
        """A new version of the reseller's CIP: type detected, SHA-256 kept, sealed at rest."""
        require(actor, "reseller:write")
        file_type = detect_file_type(content)
        digest = hashlib.sha256(content).hexdigest()
        document_id = str(uuid.uuid4())
        now = self.now()
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            row = self._row(conn, reseller_id)
            sealer = self.customers.sealer_in(conn, row.customer_id)
            version = int(conn.execute(select(func.coalesce(func.max(reseller_cip_document.c.version), 0))
                                       .where(reseller_cip_document.c.reseller_id == reseller_id)).scalar_one()) + 1
            meta = {"id": document_id, "reseller_id": reseller_id, "version": version,
                    "filename": clean_filename(filename, file_type), "file_type": file_type,
                    "media_type": FILE_TYPES[file_type], "size": len(content), "sha256": digest}
            conn.execute(insert(reseller_cip_document).values(
                **meta, uploaded_at=now, uploaded_by=actor.name[:64],
                content_sealed=sealer.seal_bytes(content, table="reseller_cip_document", column="content",
                                                 row_id=document_id)))
            work.log(LedgerAction(actor.name, actor.role, "upload_cip", "reseller", reseller_id,
                                  purpose="reseller CIP on file",
                                  detail={"document_id": document_id, "version": version, "sha256": digest,
                                          "file_type": file_type, "size": len(content)}))
        return {**meta, "uploaded_at": clock.iso(now)}

    def cip_versions(self, reseller_id: str, actor: Actor) -> list[dict[str, Any]]:
        """The versions of the reseller's CIP on file, oldest first (metadata only)."""
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            self._row(conn, reseller_id)
            rows = conn.execute(select(reseller_cip_document).where(reseller_cip_document.c.reseller_id == reseller_id)
                                .order_by(reseller_cip_document.c.version)).all()
        return [_document_meta(row) for row in rows]

    def cip_document(self, reseller_id: str, version: int | None, actor: Actor, *,
                     purpose: str | None = None) -> tuple[dict[str, Any], bytes]:
        """A version of the CIP (the latest by default), opened and checked against its SHA-256."""
        require(actor, "reseller:read")
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            query = select(reseller_cip_document).where(reseller_cip_document.c.reseller_id == reseller_id)
            query = query.where(reseller_cip_document.c.version == version) if version is not None else \
                query.order_by(reseller_cip_document.c.version.desc()).limit(1)
            document = work.conn.execute(query).first()
            if document is None:
                raise CipDocumentNotFound()
            try:
                sealer = self.customers.sealer_in(work.conn, row.customer_id)
            except CustomerPurged:
                raise Gone("the reseller's customer record was purged; its CIP documents with it") from None
            content = sealer.open_bytes(bytes(document.content_sealed), table="reseller_cip_document",
                                        column="content", row_id=document.id)
            if hashlib.sha256(content).hexdigest() != document.sha256:
                raise Conflict("the stored CIP document does not match its SHA-256")
            work.log(LedgerAction(actor.name, actor.role, "read_cip", "reseller", reseller_id, purpose=purpose,
                                  detail={"document_id": document.id, "version": document.version}))
        return _document_meta(document), content


def _document_meta(row: Any) -> dict[str, Any]:
    return {"id": row.id, "reseller_id": row.reseller_id, "version": row.version, "filename": row.filename,
            "file_type": row.file_type, "media_type": row.media_type, "size": row.size, "sha256": row.sha256,
            "uploaded_at": clock.iso(clock.utc(row.uploaded_at))}
