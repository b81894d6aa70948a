"""Sub-lessees a Reseller Account shares: checked, sealed, screened on arrival, listed masked, removed
(E2, D3, B2, B3, B4).

A reseller (through the provider's signup service) shares one sub-lessee or a batch. Each is checked
with the identity validators (one ``IdentityFieldError`` naming every bad field, values never
echoed), located from its country, subdivision, nationality and document countries (D2), screened
against the in-force lists and measures with the process's ``ScreeningService`` (D3), and stored
with its personal fields sealed under the data key of the reseller's customer record (B2). New hits
go to the review queue as ``sub_lessee`` hits (D5); special measures in force reach through the
reseller chain (``cloudcip.resellers.chain``, D4). Every write and every read is a ledger entry in the
same transaction (B3). Re-sharing the same ``reference`` is idempotent: an unchanged record is
answered as it stands, a changed one is updated and screened again. The request's models, the
checks of each field and the screening on arrival are in ``resellers.sub_lessee_input``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from cloudcip import clock
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.errors import Conflict, NotFound
from cloudcip.identity import (
    IdentityFieldError,
)
from cloudcip.identity.problems import ProblemCollector
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.masking import MASK, mask_email, mask_tail
from cloudcip.records.roles import AccessRefused, Actor, Permission, may
from cloudcip.resellers.chain import ChainEffect, measure_reviews, reach_through
from cloudcip.resellers.linking import SubLesseeLinking, SubLesseeLinks
from cloudcip.resellers.register import refuse_if_terminated
from cloudcip.resellers.schema import sub_lessee
from cloudcip.resellers.sub_lessee_input import (
    CheckedSubLessee,
    EntitySubLessee,
    PersonSubLessee,
    SubLesseeInput,
    check_sub_lessees,
    screen_sub_lessee,
)
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.service import ScreeningResult, ScreeningService
from cloudcip.services import Services
from cloudcip.storage.schema import account, customer

MAX_BATCH = 500
CLOSED_ACCOUNT_STATES = frozenset({"closed", "refused"})


class ResellerAccountNotFound(NotFound, LookupError):
    """No account with that id, or the account is not a Reseller Account (404)."""

    def __init__(self, account_id: str = "") -> None:
        super().__init__("no such Reseller Account")
        self.account_id = account_id


class ResellerAccountClosed(Conflict, ValueError):
    """The Reseller Account is closed or was refused: it takes no new sub-lessees (409)."""

    def __init__(self, account_id: str = "") -> None:
        super().__init__("the Reseller Account is closed; it takes no sub-lessees")
        self.account_id = account_id


class SubLesseeNotFound(NotFound, LookupError):
    """No sub-lessee with that id under that Reseller Account (404)."""

    def __init__(self, sub_lessee_id: str = "") -> None:
        super().__init__("no such sub-lessee under this Reseller Account")
        self.sub_lessee_id = sub_lessee_id


# -- the request body (one sub-lessee or an array) ----------------------------------------------
_ONE: TypeAdapter[PersonSubLessee | EntitySubLessee] = TypeAdapter(SubLesseeInput)
_TAGS = {"person", "entity"}


def _problems_of(error: ValidationError, prefix: str) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors():
        parts = [str(p) for p in item.get("loc", ()) if str(p) not in _TAGS]
        message = str(item.get("msg", "invalid"))
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        elif item.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            parts.append("kind")
            message = "must be person or entity"
        problems.append((prefix + ".".join(parts) if parts else (prefix.rstrip(".") or "body"), message))
    return problems


def parse_sub_lessees(body: Any) -> tuple[list[PersonSubLessee | EntitySubLessee], bool]:
    """The sub-lessees of a request body (one object or a JSON array of them) and whether it was an
    array; ``IdentityFieldError`` naming every bad field (``0.name.family`` in an array)."""
    collector = ProblemCollector()
    many = isinstance(body, list)
    items = body if many else [body]
    if many and not 1 <= len(items) <= MAX_BATCH:
        raise IdentityFieldError.single("body", f"an array of 1 to {MAX_BATCH} sub-lessees")
    parsed: list[PersonSubLessee | EntitySubLessee] = []
    for position, item in enumerate(items):
        prefix = f"{position}." if many else ""
        if not isinstance(item, dict):
            collector.add(prefix.rstrip(".") or "body", "must be a JSON object")
            continue
        try:
            parsed.append(_ONE.validate_python(item))
        except ValidationError as exc:
            for path, message in _problems_of(exc, prefix):
                collector.add(path, message)
    collector.raise_if_any()
    return parsed, many


# -- the reseller's account and key ---------------------------------------------------------------
@dataclass(frozen=True)
class ResellerAccount:
    id: str
    customer_id: str
    state: str


def reseller_account(conn: Connection, account_id: str) -> ResellerAccount:
    """The Reseller Account ``account_id``; ``ResellerAccountNotFound`` for any other account."""
    row = conn.execute(select(account.c.id, account.c.customer_id, account.c.type, account.c.state)
                       .where(account.c.id == account_id)).first()
    if row is None or row.type != "reseller":
        raise ResellerAccountNotFound(account_id)
    return ResellerAccount(row.id, row.customer_id, row.state)


def sealer_of(services: Services, conn: Connection, customer_id: str) -> FieldSealer:
    """The sealer of the reseller's customer record; ``CustomerPurged`` once it was crypto-shredded."""
    return services.customers.sealer_in(conn, customer_id)


def _require(actor: Actor, permission: Permission) -> None:
    if not may(actor.role, permission):
        raise AccessRefused(f"role {actor.role} may not do this ({permission})")


def _seal_values(sealer: FieldSealer, row_id: str, checked: CheckedSubLessee) -> dict[str, Any]:
    def seal(value: str | None, column: str) -> bytes | None:
        return None if value is None else sealer.seal(value, table="sub_lessee", column=column, row_id=row_id)

    return {
        "kind": checked.kind, "country": checked.country, "subdivision": checked.subdivision,
        "nationality": checked.nationality,
        "name_sealed": seal(json.dumps(checked.name, sort_keys=True), "name"),
        "birth_date_sealed": seal(checked.birth_date, "birth_date"),
        "email_sealed": seal(checked.email, "email"),
        "documents_sealed": seal(json.dumps(list(checked.documents)), "documents") if checked.documents else None,
        "wallet_sealed": seal(json.dumps(checked.wallet, sort_keys=True), "wallet") if checked.wallet else None,
    }


def open_sub_lessee(sealer: FieldSealer, row: Any) -> CheckedSubLessee:
    """The stored sub-lessee, opened (for screening; the caller logs the access)."""
    def opened(value: bytes | None, column: str) -> str | None:
        if value is None:
            return None
        return sealer.open(bytes(value), table="sub_lessee", column=column, row_id=row.id)

    documents = json.loads(opened(row.documents_sealed, "documents") or "[]")
    return CheckedSubLessee(
        reference=row.reference, kind=row.kind, name=json.loads(opened(row.name_sealed, "name") or "{}"),
        birth_date=opened(row.birth_date_sealed, "birth_date"), nationality=row.nationality, country=row.country,
        subdivision=row.subdivision, email=opened(row.email_sealed, "email"), documents=tuple(documents),
        wallet=json.loads(opened(row.wallet_sealed, "wallet") or "null"),
    )


# -- sharing -------------------------------------------------------------------------------------------
@dataclass
class Shared:
    """What became of one shared sub-lessee: no personal data, only ids, states and screening."""

    id: str
    reference: str
    kind: str
    status: str
    outcome: str  # created | updated | unchanged | refused_earlier
    result: ScreeningResult
    new_hit_ids: list[str] = field(default_factory=list)
    effects: list[ChainEffect] = field(default_factory=list)
    linking: SubLesseeLinking = field(default_factory=SubLesseeLinking)  # G1, G3: the graph on arrival

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "reference": self.reference, "kind": self.kind, "status": self.status,
            "outcome": self.outcome,
            "screening": {
                "band": self.result.band,
                "hits": [{"list_source": h.party_source, "list_source_id": h.party_id, "score": round(h.score, 3),
                          "band": h.band} for h in self.result.hits if h.band != "clear"],
                "new_hits": len(self.new_hit_ids),
                "measures": [{"id": m.measure.id, "measure": m.measure.measure, "conditions": m.measure.conditions,
                              "status": m.status, "covers_resellers": m.measure.covers_resellers,
                              "outcome": m.outcome, "jurisdiction": m.jurisdiction, "evidence": m.evidence,
                              "determination": m.determination}
                             for m in self.result.measures_considered],
            },
            "effects": [e.as_json() for e in self.effects],
            **self.linking.as_json(),
        }


def share_sub_lessees(services: Services, screening: ScreeningService, reseller_account_id: str,
                      items: Sequence[PersonSubLessee | EntitySubLessee], actor: Actor, *, many: bool = True,
                      purpose: str | None = None, links: SubLesseeLinks | None = None) -> list[Shared]:
    """E2: store (or update) each shared sub-lessee, screen it, record its hits, let measures in force
    reach through; one transaction for the batch, on the ledger. With ``links`` (the wiring's
    ``runtime.sub_lessee_links``), each created or changed one joins the linkage graph at once: its
    links to flagged subjects and its matches of stored peer indicators are in the answer (G1, G3)."""
    _require(actor, "sub_lessee:share")
    now = services.ledger.clock()
    today = now.date()
    checked = check_sub_lessees(items, today, many)
    with services.database.engine.connect() as conn:
        reseller = reseller_account(conn, reseller_account_id)
        refuse_if_terminated(conn, reseller.customer_id)  # E3: a terminated reseller shares no more (409)
    if reseller.state in CLOSED_ACCOUNT_STATES:
        raise ResellerAccountClosed(reseller_account_id)
    results = [screen_sub_lessee(screening, one, today, f"{position}." if many else "")
               for position, one in enumerate(checked)]
    try:
        return _store_shared(services, screening, reseller_account_id, checked, results, actor, now, purpose, links)
    except IntegrityError:
        # a concurrent share of the same reference won the race: this one is now a re-share
        return _store_shared(services, screening, reseller_account_id, checked, results, actor, now, purpose, links)


def _store_shared(services: Services, screening: ScreeningService, reseller_account_id: str,
                  checked: Sequence[CheckedSubLessee], results: Sequence[ScreeningResult], actor: Actor,
                  now: datetime, purpose: str | None, links: SubLesseeLinks | None = None) -> list[Shared]:
    index_key = services.keyring.blind_index_key()
    answers: list[Shared] = []
    with services.ledger.unit_of_work() as work:
        conn = work.conn
        reseller = reseller_account(conn, reseller_account_id)
        sealer = sealer_of(services, conn, reseller.customer_id)
        existing = {row.reference: row for row in conn.execute(
            select(sub_lessee).where(sub_lessee.c.reseller_account_id == reseller_account_id,
                                     sub_lessee.c.reference.in_([c.reference for c in checked])))}
        for one, result in zip(checked, results, strict=True):
            digest = subject_hash(index_key, one.fields())
            before = existing.get(one.reference)
            if before is not None and before.status == "refused":
                # a prohibition refused this reference: it stays refused, whatever is shared again
                work.log(LedgerAction(actor.name, actor.role, "share_refused", "sub_lessee", before.id,
                                      purpose=purpose or "sub-lessee shared"))
                answers.append(Shared(before.id, one.reference, before.kind, "refused", "refused_earlier", result))
                continue
            if before is None:
                row_id = str(uuid.uuid4())
                conn.execute(insert(sub_lessee).values(
                    id=row_id, reseller_account_id=reseller_account_id, reference=one.reference, status="active",
                    screening_band=result.band, record_hash=digest, measures_json="[]", created_at=now,
                    updated_at=now, screened_at=now, removed_at=None, **_seal_values(sealer, row_id, one)))
                outcome, action, measures = "created", "create", []
            elif before.record_hash == digest and before.status == "active":
                row_id = before.id
                conn.execute(update(sub_lessee).where(sub_lessee.c.id == row_id).values(
                    screening_band=result.band, screened_at=now))
                outcome, action, measures = "unchanged", "share_unchanged", json.loads(before.measures_json)
            else:
                row_id = before.id
                conn.execute(update(sub_lessee).where(sub_lessee.c.id == row_id).values(
                    status="active", removed_at=None, screening_band=result.band, record_hash=digest,
                    updated_at=now, screened_at=now, **_seal_values(sealer, row_id, one)))
                outcome, action, measures = "updated", "update", json.loads(before.measures_json)
            work.log(LedgerAction(actor.name, actor.role, action, "sub_lessee", row_id,
                                  purpose=purpose or "sub-lessee shared",
                                  detail={"reseller_account_id": reseller_account_id, "band": result.band}))
            new_hits = record_hits(conn, "sub_lessee", row_id, digest, [*result.hits, *measure_reviews(result)],
                                   screening.party_hash, now, index_key=index_key)
            status, effects = reach_through(work, index_key, reseller, row_id, digest, measures,
                                            result.measures_applying, now, actor)
            linking = SubLesseeLinking() if links is None or outcome == "unchanged" else links.record(
                conn, row_id, reseller_account_id, reseller.customer_id, one.email, one.documents,
                wallet=one.wallet["address"] if one.wallet else None)
            answers.append(Shared(row_id, one.reference, one.kind, status, outcome, result, new_hits, effects,
                                  linking))
    return answers


# -- reading and removing ------------------------------------------------------------------------------
def masked_view(row: Any, opened: CheckedSubLessee) -> dict[str, Any]:
    """What analysts see (as in the customer's masked view): names and countries, not birth dates,
    emails or document numbers."""
    view: dict[str, Any] = {
        "id": row.id, "reference": row.reference, "kind": row.kind, "status": row.status,
        "screening_band": row.screening_band, "country": row.country, "subdivision": row.subdivision,
        "masked": True,
    }
    if row.kind == "entity":
        view["legal_name"] = opened.name.get("legal_name")
    else:
        view["name"] = opened.name
        view["nationality"] = row.nationality
        view["birth_date"] = MASK * 4 + "-" + MASK * 2 + "-" + MASK * 2 if opened.birth_date else None
    view["email"] = mask_email(opened.email) if opened.email else None
    view["documents"] = [{"country": d["country"], "kind": d["kind"], "number": mask_tail(d["number"])}
                         for d in opened.documents]
    view["wallet"] = {"currency": opened.wallet["currency"], "address": mask_tail(opened.wallet["address"])} \
        if opened.wallet else None
    view["measures"] = json.loads(row.measures_json)
    view.update(created_at=clock.iso(row.created_at), updated_at=clock.iso(row.updated_at),
                screened_at=clock.iso(row.screened_at), removed_at=clock.iso(row.removed_at))
    return view


def list_sub_lessees(services: Services, reseller_account_id: str, actor: Actor, *, purpose: str | None = None,
                     limit: int = 100, after: str | None = None, status: str | None = None) -> dict[str, Any]:
    """A page of the Reseller Account's sub-lessees, masked, in id order; each read on the ledger."""
    _require(actor, "sub_lessee:read")
    limit = max(1, min(limit, 500))
    with services.ledger.unit_of_work() as work:
        reseller = reseller_account(work.conn, reseller_account_id)
        sealer = sealer_of(services, work.conn, reseller.customer_id)
        query = (select(sub_lessee).where(sub_lessee.c.reseller_account_id == reseller_account_id)
                 .order_by(sub_lessee.c.id).limit(limit + 1))
        if after is not None:
            query = query.where(sub_lessee.c.id > after)
        if status is not None:
            query = query.where(sub_lessee.c.status == status)
        rows = list(work.conn.execute(query))
        page = rows[:limit]
        views = [masked_view(row, open_sub_lessee(sealer, row)) for row in page]
        for row in page:
            work.log(LedgerAction(actor.name, actor.role, "read", "sub_lessee", row.id, purpose=purpose,
                                  detail={"reseller_account_id": reseller_account_id}))
        if not page:
            work.log(LedgerAction(actor.name, actor.role, "list_sub_lessees", "account", reseller_account_id,
                                  purpose=purpose, detail={"count": 0}))
    return {"reseller_account_id": reseller_account_id, "sub_lessees": views,
            "next_cursor": page[-1].id if len(rows) > limit else None}


def remove_sub_lessee(services: Services, reseller_account_id: str, sub_lessee_id: str, actor: Actor, *,
                      purpose: str | None = None) -> dict[str, Any]:
    """The reseller no longer serves this sub-lessee: ``removed`` (kept for retention, never deleted).
    A refused sub-lessee stays refused; removing twice is answered as the first time."""
    _require(actor, "sub_lessee:share")
    now = services.ledger.clock()
    with services.ledger.unit_of_work() as work:
        reseller_account(work.conn, reseller_account_id)
        row = work.conn.execute(select(sub_lessee.c.id, sub_lessee.c.reference, sub_lessee.c.status).where(
            sub_lessee.c.id == sub_lessee_id, sub_lessee.c.reseller_account_id == reseller_account_id)).first()
        if row is None:
            raise SubLesseeNotFound(sub_lessee_id)
        status = row.status
        if status == "active":
            status = "removed"
            work.conn.execute(update(sub_lessee).where(sub_lessee.c.id == sub_lessee_id).values(
                status="removed", removed_at=now, updated_at=now))
        work.log(LedgerAction(actor.name, actor.role, "remove", "sub_lessee", sub_lessee_id,
                              purpose=purpose or "sub-lessee removed by the reseller",
                              detail={"reseller_account_id": reseller_account_id, "from": row.status,
                                      "to": status}))
    return {"id": sub_lessee_id, "reference": row.reference, "status": status}


def count_active(conn: Connection) -> int:
    """Active sub-lessees whose reseller's customer record is not purged."""
    from sqlalchemy import func

    return int(conn.execute(
        select(func.count()).select_from(sub_lessee.join(account, sub_lessee.c.reseller_account_id == account.c.id)
                                         .join(customer, account.c.customer_id == customer.c.id))
        .where(sub_lessee.c.status == "active", customer.c.status != "purged")).scalar_one())

