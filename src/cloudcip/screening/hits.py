"""Screening hits and their adjudication by a person (D5).

A hit ties a subject (customer, beneficial owner, reseller, sub-lessee) to a list entry, with the
subject's record hash (a keyed HMAC of the screened fields, never the fields) and the entry's document
hash at the time. States: ``open`` → ``confirmed`` | ``false_positive`` (reason required) |
``escalated``. ``record_hits`` stores a hit only when no hit exists for the same subject, entry and
both hashes: a cleared false positive therefore stays cleared while neither the record nor the list
entry changes, and re-screening never duplicates or reopens a hit.

Every hit reaches this register, wherever it was found: at signup (with the application and the
decision it caused: a ``block`` may refuse per policy, the hit still stays ``open`` until a person
decides), for beneficial owners, by re-screening, and for resellers' sub-lessees. ``decide`` calls
the ``after`` hook inside its transaction, so the capability that acted on a hit (the signup
decision) can act again when a person clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, select, update

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.crypto.envelope import FieldSealer, purpose_key
from cloudcip.errors import FieldIssue, NotFound, Refused
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.purge import PurgeScope, chunks
from cloudcip.records.roles import Actor
from cloudcip.screening.matcher import Hit
from cloudcip.screening.schema import screening_hit, special_measure_effect
from cloudcip.services import Services
from cloudcip.storage.idlist import any_of

SubjectType = Literal["customer", "beneficial_owner", "reseller", "sub_lessee"]
HitState = Literal["open", "confirmed", "false_positive", "escalated"]
SUBJECT_TYPES: tuple[str, ...] = ("customer", "beneficial_owner", "reseller", "sub_lessee")
HIT_STATES: tuple[str, ...] = ("open", "confirmed", "false_positive", "escalated")
DECISIONS: tuple[str, ...] = ("confirmed", "false_positive", "escalated")
MAX_REASON = 500


class HitNotFound(NotFound, LookupError):
    """No hit with that id (404)."""

    def __init__(self, hit_id: str = "") -> None:
        super().__init__("no such hit")
        self.hit_id = hit_id


class DecisionRefused(Refused, ValueError):
    """The decision is not allowed; ``field`` names the input at fault (422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(fields=[FieldIssue(field, reason)])
        self.reason = reason


#: features whose text is no personal data (how a name matched, which identifier, which measure)
PLAIN_FEATURES = frozenset({"path", "identifier", "measure"})


def explanation_sealer(index_key: bytes) -> FieldSealer:
    """The sealer of hit explanations: a key derived from the keyring's blind-index key (B2)."""
    return FieldSealer(purpose_key(index_key, "screening-hit-explanation"))


def masked_explanation(explanation: dict[str, Any]) -> dict[str, Any]:
    """What a hit says without the screened person's data: the listed name (list data), the numeric
    features and the plain ones; the sentences, which quote the person's name parts and date of
    birth, are left out (B2, B4)."""
    features = {key: value for key, value in (explanation.get("features") or {}).items()
                if isinstance(value, int | float) or key in PLAIN_FEATURES}
    return {"matched_name": explanation.get("matched_name"), "features": features, "explanation": [],
            "masked": True}


def subject_hash(key: bytes, fields: dict[str, Any]) -> str:
    """Keyed hash (HMAC-SHA256) of the screened fields of a subject: changes when the record does."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, b"screening-subject|" + canonical.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StoredHit:
    id: str
    subject_type: str
    subject_id: str
    list_source: str
    list_source_id: str
    score: float
    band: str
    explanation: dict[str, Any]  # masked (``masked_explanation``) unless opened with a purpose
    state: str
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    list_entry_status: str | None = None  # "removed" | "changed": the entry is no longer as it was when hit
    application_id: str | None = None  # found at signup: the application
    decision: str | None = None  # the decision the hit caused at signup (refused, in_review ...)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "subject_type": self.subject_type, "subject_id": self.subject_id,
                "list_source": self.list_source, "list_source_id": self.list_source_id, "score": self.score,
                "band": self.band, "explanation": self.explanation, "state": self.state, "reason": self.reason,
                "decided_by": self.decided_by,
                "decided_at": clocks.iso(self.decided_at),
                "created_at": clocks.iso(self.created_at), "list_entry_status": self.list_entry_status,
                "application_id": self.application_id, "decision": self.decision}


def _stored(row: Any) -> StoredHit:
    return StoredHit(row.id, row.subject_type, row.subject_id, row.list_source, row.list_source_id,
                     float(row.score), row.band, json.loads(row.explanation_json), row.state, row.reason,
                     row.decided_by, row.decided_at, row.created_at, row.list_entry_status,
                     row.application_id, row.decision)


def record_hits(
    conn: Connection,
    subject_type: str,
    subject_id: str,
    subject_digest: str,
    hits: Sequence[Hit],
    party_hash: Callable[[str, str], str | None],
    now: datetime,
    *,
    index_key: bytes,
    application_id: str | None = None,
    decision: str | None = None,
) -> list[str]:
    """Store the hits not already known for this subject, entry and hashes, as ``open``; their ids.
    A hit found at signup carries its ``application_id`` and the ``decision`` it caused. The
    explanation is stored sealed (``index_key``: the keyring's blind-index key), with its masked form
    beside it."""
    sealer = explanation_sealer(index_key)
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"subject_type must be one of {', '.join(SUBJECT_TYPES)}")
    created: list[str] = []
    for hit in hits:
        if hit.band == "clear":
            continue
        entry_hash = party_hash(hit.party_source, hit.party_id) or ""
        existing = conn.execute(select(screening_hit.c.id).where(
            (screening_hit.c.subject_type == subject_type) & (screening_hit.c.subject_id == subject_id)
            & (screening_hit.c.list_source == hit.party_source) & (screening_hit.c.list_source_id == hit.party_id)
            & (screening_hit.c.subject_hash == subject_digest) & (screening_hit.c.party_hash == entry_hash)
        )).first()
        if existing is not None:
            continue
        hit_id = str(uuid.uuid4())
        explanation = {"matched_name": hit.matched_name, "features": hit.features, "explanation": hit.explanation}
        conn.execute(insert(screening_hit).values(
            id=hit_id, subject_type=subject_type, subject_id=subject_id, subject_hash=subject_digest,
            list_source=hit.party_source, list_source_id=hit.party_id, party_hash=entry_hash,
            score=hit.score, band=hit.band,
            explanation_json=json.dumps(masked_explanation(explanation), ensure_ascii=False),
            explanation_sealed=sealer.seal(json.dumps(explanation, ensure_ascii=False), table="screening_hit",
                                           column="explanation", row_id=hit_id),
            state="open", created_at=now, application_id=application_id, decision=decision,
        ))
        created.append(hit_id)
    return created


def mark_list_entries(conn: Connection, source: str, removed: Sequence[str], changed: dict[str, str],
                      now: datetime) -> int:
    """Mark (never delete) the hits on entries of ``source`` that left the list (``removed``) or whose
    document changed (``changed``: source id -> new document hash); the number of hits marked (D4, D5)."""
    marked = 0
    ids = list(removed)
    for start in range(0, len(ids), 500):
        marked += conn.execute(update(screening_hit).where(
            (screening_hit.c.list_source == source) & screening_hit.c.list_source_id.in_(ids[start:start + 500])
            & ((screening_hit.c.list_entry_status.is_(None)) | (screening_hit.c.list_entry_status != "removed"))
        ).values(list_entry_status="removed", list_entry_status_at=now)).rowcount
    for source_id, new_hash in changed.items():
        marked += conn.execute(update(screening_hit).where(
            (screening_hit.c.list_source == source) & (screening_hit.c.list_source_id == source_id)
            & (screening_hit.c.party_hash != new_hash) & screening_hit.c.list_entry_status.is_(None)
        ).values(list_entry_status="changed", list_entry_status_at=now)).rowcount
    return marked


def list_hits(conn: Connection, *, state: str | None = None, subject_id: str | None = None,
              application_id: str | None = None, limit: int = 100, offset: int = 0) -> list[StoredHit]:
    """Hits, newest first, optionally of one state, subject or signup application."""
    if state is not None and state not in HIT_STATES:
        raise DecisionRefused("state", f"must be one of {', '.join(HIT_STATES)}")
    query = select(screening_hit).order_by(screening_hit.c.created_at.desc(), screening_hit.c.id)
    if state is not None:
        query = query.where(screening_hit.c.state == state)
    if subject_id is not None:
        query = query.where(screening_hit.c.subject_id == subject_id)
    if application_id is not None:
        query = query.where(screening_hit.c.application_id == application_id)
    return [_stored(row) for row in conn.execute(query.limit(max(1, min(limit, 1000))).offset(max(0, offset)))]


def count_hits(conn: Connection, state: str | None = None) -> int:
    query = select(func.count()).select_from(screening_hit)
    if state is not None:
        query = query.where(screening_hit.c.state == state)
    return int(conn.execute(query).scalar_one())


def get_hit(conn: Connection, hit_id: str) -> StoredHit:
    row = conn.execute(select(screening_hit).where(screening_hit.c.id == hit_id)).first()
    if row is None:
        raise HitNotFound(hit_id)
    return _stored(row)


def open_explanation(conn: Connection, hit_id: str, index_key: bytes) -> dict[str, Any]:
    """The whole explanation of a hit (the caller checks the role and logs the read with its purpose)."""
    row = conn.execute(select(screening_hit.c.explanation_json, screening_hit.c.explanation_sealed)
                       .where(screening_hit.c.id == hit_id)).first()
    if row is None:
        raise HitNotFound(hit_id)
    if row.explanation_sealed is None:  # not yet sealed by ``cloudcip init`` (migration 0013)
        return dict(json.loads(row.explanation_json))
    opened = explanation_sealer(index_key).open(bytes(row.explanation_sealed), table="screening_hit",
                                                column="explanation", row_id=hit_id)
    return dict(json.loads(opened))


def seal_clear_explanations(conn: Connection, index_key: bytes) -> int:
    """Seal the explanations stored in clear before migration 0013 and keep their masked form; the
    number sealed (run by ``cloudcip init``; idempotent)."""
    sealer = explanation_sealer(index_key)
    sealed = 0
    while True:
        rows = conn.execute(select(screening_hit.c.id, screening_hit.c.explanation_json)
                            .where(screening_hit.c.explanation_sealed.is_(None)).limit(500)).all()
        for row in rows:
            explanation = json.loads(row.explanation_json)
            conn.execute(update(screening_hit).where(screening_hit.c.id == row.id).values(
                explanation_json=json.dumps(masked_explanation(explanation), ensure_ascii=False),
                explanation_sealed=sealer.seal(row.explanation_json, table="screening_hit", column="explanation",
                                               row_id=row.id)))
        sealed += len(rows)
        if len(rows) < 500:
            return sealed


#: what acts again when a person decides a hit (inside the decision's transaction)
AfterDecision = Callable[[UnitOfWork, StoredHit, Actor], None]


def decide(services: Services, actor: Actor, hit_id: str, state: str, reason: str | None,
           *, clock: Clock = clocks.now, after: AfterDecision | None = None) -> StoredHit:
    """Adjudicate a hit: confirmed, false_positive (reason required) or escalated; on the ledger.
    ``after`` runs in the same transaction with the decided hit (the signup decision re-decides an
    application whose refusing hit was cleared)."""
    if state not in DECISIONS:
        raise DecisionRefused("state", f"must be one of {', '.join(DECISIONS)}")
    clean = reason.strip() if reason else None
    if state == "false_positive" and not clean:
        raise DecisionRefused("reason", "clearing a hit as a false positive needs a reason")
    if clean is not None and (len(clean) > MAX_REASON or not clean.isprintable()):
        raise DecisionRefused("reason", f"at most {MAX_REASON} printable characters")
    now = clock()
    with services.ledger.unit_of_work() as work:
        current = get_hit(work.conn, hit_id)
        if current.state in ("confirmed", "false_positive"):
            raise DecisionRefused("state", f"the hit was already decided ({current.state})")
        work.conn.execute(update(screening_hit).where(screening_hit.c.id == hit_id).values(
            state=state, reason=clean, decided_by=actor.name, decided_at=now))
        work.log(LedgerAction(actor.name, actor.role, "adjudicate", "screening_hit", hit_id,
                              purpose="screening adjudication",
                              detail={"state": state, "previous": current.state,
                                      "subject_type": current.subject_type, "subject_id": current.subject_id}))
        decided = get_hit(work.conn, hit_id)
        if after is not None:
            after(work, decided, actor)
        return decided


def forget_hits(conn: Connection, scope: PurgeScope) -> int:
    """The purge's hook (``records.purge``, B1, B2): the hits of the purged customers, their beneficial
    owners and accounts are deleted, and the measures' effects keep no basis (evidence names); the
    number of hits deleted."""
    deleted = 0
    for chunk in chunks(scope.subject_ids):
        deleted += max(0, conn.execute(delete(screening_hit).where(any_of(screening_hit.c.subject_id, chunk))).rowcount
                       or 0)
    for chunk in chunks(scope.customer_ids):
        conn.execute(update(special_measure_effect).where(any_of(special_measure_effect.c.customer_id, chunk))
                     .values(basis_json=None))
    return deleted
