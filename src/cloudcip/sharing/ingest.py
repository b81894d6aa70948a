"""Indicators taken in from peers: stored with their source and TLP, matched, flagged for a person (G3).

``IndicatorIntake.take`` receives checked STIX objects (from a POSTed envelope or a pulled page).
Each ``indicator`` is stored (``shared_indicator``: source, TLP, pattern, window of validity and the
observables its pattern compares) and matched:

- an IPv4/IPv6 address or network is matched against the **access ledger**: the accounts seen from
  it *within the indicator's window* (``valid_from`` to ``valid_until``, or to now), exactly, from the
  events (``access.queries.accounts_from_many``), so an account that used the address a year later is not
  flagged;
- a crypto-wallet address is matched against the customers' payment means through the wallet's
  **blind index** (no plaintext compared);
- an e-mail address (``[email-addr:value = '...']``), and a wallet held by someone other than a
  customer, is matched through the linkage graph's blind indexes (the ``holders`` hook,
  ``sharing.holders``): customers, beneficial owners and the **sub-lessees** of Reseller Accounts;
- e-mail domains, card BINs and other observables are kept (and re-shared under their TLP) but not
  matched: cloudcip holds no index of them.

Each match is a row of ``shared_indicator_match`` in state ``open`` for a person to adjudicate
(``confirmed`` or ``false_positive`` with a reason), and, for an account, an ``account_signal`` of kind
``shared_indicator`` beside the access signals (C4). Each pattern's comparisons are taken one by one
(a match on any of them is worth a person's look); a pattern that does not parse never gets here
(``envelope.check_objects`` refuses it).

A batch (a pulled page, a POSTed envelope, 2,000 stored indicators on a re-match) is stored and
matched set-based, a few statements whatever its size (``matching``), never one round trip per
indicator.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update

from cloudcip import clock
from cloudcip.access.events import datetime_to_ms, ms_to_datetime
from cloudcip.access.schema import account_signal
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, may
from cloudcip.sharing import matching
from cloudcip.sharing.holders import IdentifierHolders
from cloudcip.sharing.matching import Wanted
from cloudcip.sharing.patterns import pattern_terms
from cloudcip.sharing.schema import shared_indicator, shared_indicator_match, shared_indicator_term
from cloudcip.sharing.store import parse_timestamp, timestamp_us, version_of
from cloudcip.sharing.tlp import TlpLevel
from cloudcip.storage.database import Database
from cloudcip.storage.prepared import Prepared

MATCH_STATES = ("open", "confirmed", "false_positive")


@dataclass
class IntakeReport:
    indicators: int = 0
    matches: int = 0
    matched_ids: list[str] = field(default_factory=list)


@dataclass
class IndicatorIntake:
    """Stores and matches the indicators of peers (one per process; used by TAXII POST and pull)."""

    database: Database
    ledger: Ledger
    blind_index_key: bytes
    #: customers, beneficial owners and sub-lessees holding an e-mail or wallet (passed in by the wiring)
    holders: IdentifierHolders | None = None

    def take(self, objects: Sequence[dict[str, Any]], tlp_of: dict[str, TlpLevel | None], source: str,
             actor: Actor, terms: dict[str, list[dict[str, str]]] | None = None) -> IntakeReport:
        """Store and match the indicators among ``objects`` (one transaction, one ledger entry; the
        batch stored and matched set-based: ``matching``)."""
        report = IntakeReport()
        now = clock.now()
        indicators = [item for item in objects
                      if item.get("type") == "indicator" and item.get("pattern_type", "stix") == "stix"]
        if not indicators:
            return report
        incoming: dict[str, dict[str, Any]] = {}  # the newest version of each id in the batch
        wanted: list[Wanted] = []
        for item in indicators:
            report.indicators += 1
            start = parse_timestamp(str(item.get("valid_from") or item.get("created")), "valid_from")
            end = parse_timestamp(str(item["valid_until"]), "valid_until") if item.get("valid_until") else None
            found_terms = (terms or {}).get(str(item["id"])) or pattern_terms(str(item["pattern"]))
            level = tlp_of.get(str(item["id"]))
            revoked = bool(item.get("revoked"))
            row: dict[str, Any] = {
                "id": str(item["id"]), "source": source, "version": version_of(item, timestamp_us(now)),
                "tlp": level, "pattern": str(item["pattern"]), "valid_from_ms": datetime_to_ms(start),
                "valid_until_ms": datetime_to_ms(end) if end else None, "received_at": now,
                "terms": json.dumps(found_terms), "revoked": revoked}
            before = incoming.get(row["id"])
            if before is None or row["version"] >= before["version"]:
                incoming[row["id"]] = row
            if not revoked:
                wanted.append(Wanted(row["id"], level, start, end or now, found_terms))
        with self.ledger.unit_of_work() as work:
            self._store(work.conn, source, list(incoming.values()))
            found = matching.record(work.conn, source, matching.find(work.conn, self.blind_index_key, self.holders,
                                                                     wanted), now)
            report.matches, report.matched_ids = len(found), found
            work.log(LedgerAction(actor.name, actor.role, "take_shared_indicators", "sharing_source", source[:64],
                                  detail={"indicators": report.indicators, "matches": report.matches}))
        return report

    def _store(self, conn: Connection, source: str, rows: list[dict[str, Any]]) -> None:
        """New indicators inserted, newer versions of stored ones updated, older ones left (their
        observables' tokens indexed again with what is stored)."""
        column = shared_indicator.c
        stored: dict[str, str] = {}
        ids = [row["id"] for row in rows]
        for start in range(0, len(ids), matching.CHUNK):
            stored.update((row.id, row.version) for row in conn.execute(
                select(column.id, column.version).where(column.source == source,
                                                        column.id.in_(ids[start:start + matching.CHUNK]))).all())
        added = [row for row in rows if row["id"] not in stored]
        newer = [row for row in rows if row["id"] in stored and row["version"] >= stored[row["id"]]]
        if added:
            conn.execute(insert(shared_indicator), added)
        for row in newer:
            conn.execute(update(shared_indicator).where(column.id == row["id"], column.source == source)
                         .values(**{name: value for name, value in row.items() if name not in ("id", "source")})
                         )
        self._index_terms(conn, source, [(row["id"], json.loads(row["terms"])) for row in added + newer],
                          replace=[row["id"] for row in newer])

    def _index_terms(self, conn: Connection, source: str, indicators: list[tuple[str, list[dict[str, str]]]],
                     replace: Sequence[str]) -> None:
        """The e-mail and wallet observables as the graph's tokens (replacing those of the indicators in
        ``replace``: an earlier version's)."""
        if self.holders is None:
            return
        term = shared_indicator_term.c
        for start in range(0, len(replace), matching.CHUNK):
            conn.execute(delete(shared_indicator_term).where(
                term.source == source, term.indicator_id.in_(list(replace[start:start + matching.CHUNK]))))
        rows = [{"indicator_id": indicator_id, "source": source, "kind": kind, "token": token}
                for indicator_id, found_terms in indicators
                for kind, token in sorted({(item["kind"], self.holders.token(
                    "email" if item["kind"] == "email" else "wallet", item["value"]))
                    for item in found_terms if item["kind"] in ("email", "wallet")})]
        if rows:
            conn.execute(insert(shared_indicator_term), rows)

    def rematch_stored(self, actor: Actor, batch: int = 2000, *, reindex: bool = True,
                       now: datetime | None = None) -> IntakeReport:
        """Every stored, unrevoked indicator matched again against what is on record now (new customers,
        sub-lessees, access events inside its window); only new matches are recorded, ``batch`` at a
        time. ``cloudcip sharing rematch`` also indexes the observables' tokens again (``reindex``);
        ``serve``'s scheduled run does not (they were indexed on the way in), and puts on the ledger only
        the batches that found something. An open-ended window ends at ``now`` (the clock's)."""
        report = IntakeReport()
        now = now or clock.now()
        after: tuple[str, str] = ("", "")
        column = shared_indicator.c
        while True:
            with self.database.engine.connect() as conn:
                rows = conn.execute(select(shared_indicator).where(
                    column.revoked.is_(False), tuple_(column.id, column.source) > after)
                    .order_by(column.id, column.source).limit(batch)).all()
            if not rows:
                break
            by_source: dict[str, list[Any]] = {}
            for row in rows:
                by_source.setdefault(row.source, []).append(row)
            matched_before = report.matches
            with self.ledger.unit_of_work() as work:
                for source, listed in by_source.items():
                    terms = [(row.id, json.loads(row.terms)) for row in listed]
                    if reindex:
                        self._index_terms(work.conn, source, terms, replace=[row.id for row in listed])
                    wanted = [Wanted(row.id, row.tlp, ms_to_datetime(int(row.valid_from_ms)),
                                     ms_to_datetime(int(row.valid_until_ms)) if row.valid_until_ms is not None
                                     else now, found_terms) for row, (_id, found_terms) in zip(listed, terms,
                                                                                                strict=True)]
                    found = matching.record(work.conn, source, matching.find(
                        work.conn, self.blind_index_key, self.holders, wanted), now)
                    report.matches += len(found)
                    report.matched_ids += found
                report.indicators += len(rows)
                if reindex or report.matches > matched_before:
                    work.log(LedgerAction(actor.name, actor.role, "rematch_shared_indicators", "shared_indicator",
                                          rows[-1].id[:64],
                                          detail={"indicators": len(rows), "matches": report.matches}))
            after = (rows[-1].id, rows[-1].source)
        return report


def record_match(conn: Connection, indicator_id: str, source: str, level: str | None, subject_type: str,
                 subject_id: str, matched_on: str, first: datetime | None, last: datetime | None,
                 now: datetime) -> str | None:
    """One match for a person to adjudicate (and, for an account, an ``account_signal``); None when this
    indicator already matched this subject on this observable."""
    column = shared_indicator_match.c
    exists = conn.execute(select(column.id).where(
        column.indicator_id == indicator_id, column.source == source, column.subject_type == subject_type,
        column.subject_id == subject_id, column.matched_on == matched_on)).first()
    if exists is not None:
        return None
    match_id = str(uuid.uuid4())
    conn.execute(insert(shared_indicator_match).values(
        id=match_id, indicator_id=indicator_id, source=source, tlp=level, subject_type=subject_type,
        subject_id=subject_id, matched_on=matched_on, first_seen=first, last_seen=last, state="open",
        created_at=now))
    if subject_type == "account":
        dedupe = hashlib.sha256(f"{source}|{indicator_id}".encode()).hexdigest()
        conn.execute(insert(account_signal).values(
            id=str(uuid.uuid4()), account_id=subject_id, kind="shared_indicator", at=now, state="open",
            dedupe_key=dedupe, detail_json=json.dumps({"match": match_id, "indicator": indicator_id,
                                                       "source": source, "tlp": level,
                                                       "matched_on": matched_on})))
    return match_id


_TERM = shared_indicator_term.c
# run for every signup (``linkage.graph``): built once, run on the driver (``storage.prepared``)
_TERMS_OF_TOKENS = Prepared(
    select(_TERM.indicator_id, _TERM.source, _TERM.kind, _TERM.token, shared_indicator.c.tlp)
    .join(shared_indicator, (shared_indicator.c.id == _TERM.indicator_id) & (shared_indicator.c.source == _TERM.source))
    .where(_TERM.token.in_(bindparam("tokens", expanding=True)), shared_indicator.c.revoked.is_(False)))


def match_new_subject(conn: Connection, subject_type: str, subject_id: str, tokens: Sequence[tuple[str, str]],
                      now: datetime) -> list[str]:
    """A subject that has just joined the graph (a signup, a sub-lessee, a changed record), its e-mail and
    wallet tokens ``(kind, token)`` matched against the indicators already stored (unrevoked), in the
    caller's transaction: the new matches' ids, each open for a person to adjudicate."""
    wanted = [(kind, token) for kind, token in tokens if kind in ("email", "wallet")]
    if not wanted:
        return []
    rows = _TERMS_OF_TOKENS.all(conn, {"tokens": sorted({token for _, token in wanted})})
    kinds = set(wanted)
    found = []
    for indicator_id, source, kind, token, tlp in rows:
        if (kind, token) not in kinds:
            continue
        match_id = record_match(conn, indicator_id, source, tlp, subject_type, subject_id, kind, None, None, now)
        if match_id:
            found.append(match_id)
    return found


def list_matches(database: Database, actor: Actor, *, state: str | None = "open",
                 limit: int = 100) -> list[dict[str, Any]]:
    """Matches of shared indicators for a person to adjudicate, newest first."""
    if not may(actor.role, "sharing:adjudicate"):
        raise Forbidden(f"role {actor.role} may not read matches of shared indicators")
    if state is not None and state not in MATCH_STATES:
        raise InvalidInput.field("state", f"one of {', '.join(MATCH_STATES)}")
    column = shared_indicator_match.c
    query = select(shared_indicator_match).order_by(column.created_at.desc()).limit(limit)
    if state is not None:
        query = query.where(column.state == state)
    with database.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [match_view(row) for row in rows]


def match_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "indicator_id": row.indicator_id, "source": row.source, "tlp": row.tlp,
            "subject_type": row.subject_type, "subject_id": row.subject_id, "matched_on": row.matched_on,
            "first_seen": clock.iso(clock.utc_or_none(row.first_seen)),
            "last_seen": clock.iso(clock.utc_or_none(row.last_seen)), "state": row.state,
            "decided_by": row.decided_by, "reason": row.reason}


def decide_match(ledger: Ledger, match_id: str, decision: str, reason: str, actor: Actor) -> dict[str, Any]:
    """A person's adjudication of one match: ``confirmed`` or ``false_positive``, with a reason."""
    if not may(actor.role, "sharing:adjudicate"):
        raise Forbidden(f"role {actor.role} may not adjudicate matches of shared indicators")
    if decision not in ("confirmed", "false_positive"):
        raise InvalidInput.field("decision", "confirmed or false_positive")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput.field("reason", "between 1 and 500 characters")
    with ledger.unit_of_work() as work:
        column = shared_indicator_match.c
        row = work.conn.execute(select(shared_indicator_match).where(column.id == match_id)).first()
        if row is None:
            raise NotFound("no such match")
        if row.state != "open":
            raise Conflict(f"the match is already {row.state}")
        work.conn.execute(update(shared_indicator_match).where(column.id == match_id).values(
            state=decision, reason=reason, decided_by=actor.name[:64], decided_at=clock.now()))
        work.log(LedgerAction(actor.name, actor.role, "adjudicate", "shared_indicator_match", match_id,
                              detail={"decision": decision}))
        row = work.conn.execute(select(shared_indicator_match).where(column.id == match_id)).one()
    return match_view(row)

