"""Requests for copies of the written CIP, on a clock (H3).

A request (from Commerce or an examiner) is logged with the day it was received; it is due the
profile's ``cip_copies.days`` later (10 in the default profile). Answering it renders the written CIP
of the policy in force, keeps the SHA-256 of each document sent and puts the disclosure on the ledger.
Open requests are listed by ``cloudcip reporting due`` and reminded by the daily job until answered.
The latest CIP on file of each foreign reseller of the register joins the answer (E1), through the
``reseller_cips`` hook ``runtime`` wires to the reseller register (each read on the ledger there).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, may
from cloudcip.reports.schema import cip_copy_request
from cloudcip.reports.written_cip import render_written_cip
from cloudcip.storage.database import Database
from cloudcip.verification.policy import CipPolicy
from cloudcip.verification.profile import RegulatoryProfile


class RequestNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such CIP copy request")


@dataclass
class CipCopyRequests:
    database: Database
    ledger: Ledger
    policy: CipPolicy
    profile: RegulatoryProfile
    clock: Callable[[], datetime] = clock.now
    #: the foreign resellers' CIPs to send with the provider's own: (file name, bytes) each (E1, H3)
    reseller_cips: Callable[[Actor], list[tuple[str, bytes]]] | None = None

    def log(self, requester: str, actor: Actor, received: date | None = None) -> dict[str, Any]:
        """Log a request; its due date is the profile's days after it was received."""
        if not may(actor.role, "reporting:write"):
            raise Forbidden(f"role {actor.role} may not log CIP copy requests")
        requester = requester.strip()
        if not requester or len(requester) > 300:
            raise InvalidInput.field("requester", "1 to 300 characters")
        today = self.clock().date()
        received = received or today
        if received > today:
            raise InvalidInput.field("received", "is in the future")
        request_id = str(uuid.uuid4())
        due = received + timedelta(days=self.profile.cip_copies.days)
        with self.ledger.unit_of_work() as work:
            work.conn.execute(insert(cip_copy_request).values(
                id=request_id, requester=requester, received_on=received, due_on=due, logged_at=self.clock(),
                logged_by=actor.name, answered_at=None, documents_json=None))
            work.log(LedgerAction(actor.name, actor.role, "log_request", "cip_copy_request", request_id,
                                  purpose="request for copies of the written CIP", detail={"due": due.isoformat()}))
        return {"id": request_id, "received": received.isoformat(), "due": due.isoformat()}

    def answer(self, request_id: str, out_dir: Path | None, actor: Actor) -> dict[str, Any]:
        """Write the documents to ``out_dir`` (or, without one, return each document's bytes in base64
        as its ``content_base64``); keep their hashes; the disclosure on the ledger."""
        if not may(actor.role, "reporting:write"):
            raise Forbidden(f"role {actor.role} may not answer CIP copy requests")
        with self.database.engine.connect() as conn:
            row = conn.execute(select(cip_copy_request).where(cip_copy_request.c.id == request_id)).first()
        if row is None:
            raise RequestNotFound()
        if row.answered_at is not None:
            raise Conflict("the CIP copy request is already answered")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        documents = []
        sent = [(f"written-cip-{self.policy.policy_id}-{self.policy.version}.md",
                 render_written_cip(self.policy, self.profile, "md").encode())]
        if self.reseller_cips is not None:
            sent += self.reseller_cips(actor)
        for name, data in sent:
            if out_dir is not None:
                (out_dir / name).write_bytes(data)
            documents.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
        now = self.clock()
        with self.ledger.unit_of_work() as work:
            work.conn.execute(update(cip_copy_request).where(cip_copy_request.c.id == request_id)
                              .values(answered_at=now, documents_json=json.dumps(documents)))
            work.log(LedgerAction(actor.name, actor.role, "disclose", "cip_copy_request", request_id,
                                  purpose="copies of the written CIP sent", detail={"documents": documents}))
        if out_dir is None:
            for document, (_name, data) in zip(documents, sent, strict=True):
                document["content_base64"] = base64.b64encode(data).decode()
        return {"id": request_id, "answered_at": clock.iso(now), "on_time": now.date() <= row.due_on,
                "documents": documents}

    def open_requests(self) -> list[dict[str, Any]]:
        with self.database.engine.connect() as conn:
            rows = conn.execute(select(cip_copy_request).where(cip_copy_request.c.answered_at.is_(None))
                                .order_by(cip_copy_request.c.due_on)).all()
        return [{"id": r.id, "received": r.received_on.isoformat(), "due": r.due_on.isoformat()} for r in rows]


__all__ = ["CipCopyRequests", "RequestNotFound"]
