"""Shared indicators in the console (G3, B3, B4): the indicators stored, our own (published to a TAXII
collection, source ``local``) and our peers' (taken in by TAXII POST or pull), with their source, TLP,
pattern type, window of validity and number of matches, filtered and paged by keyset; one indicator
with its matches, the matched accounts and customers masked (opened from the account page), after a
stated purpose that goes on the ledger with the read.

Reading them needs ``sharing:adjudicate``, as ``GET /v1/sharing/matches`` does. A TLP:RED indicator is
for its named recipients only: the console shows it only to a role that may also export and share
(``sharing:export``, the compliance officer); to anyone else it is not there (not listed, 404).

The list is ordered newest first, by (time stored, source, id) descending, as its indexes hold it
(migration 0091); "Next" carries the last position shown,
so a page deep in the list reads only its own rows (``storage.keyset``'s rule, on two tables merged).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints
from sqlalchemy import Connection, and_, func, or_, select

from cloudcip import clock
from cloudcip.access.events import format_time_ms
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, purpose_error, render, text_of
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import may
from cloudcip.sharing.schema import shared_indicator, shared_indicator_match, sharing_object
from cloudcip.sharing.store import format_us, timestamp_us
from cloudcip.sharing.tlp import TLP_LEVELS
from cloudcip.storage.schema import account

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Session, Depends(allowed("sharing:adjudicate"))]
IndicatorId = Annotated[str, StringConstraints(pattern=r"^indicator--[0-9a-f\-]{36}$")]
Source = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PAGE = 50
LOCAL = "local"
SI, SO, MATCH = shared_indicator.c, sharing_object.c, shared_indicator_match.c

#: a position in the list: (stored at, microseconds since the epoch; source; id), all descending
Position = tuple[int, str, str]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sees_red(session: Session) -> bool:
    return may(session.user.role, "sharing:export")


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _after(at: Any, source: Any, ident: Any, position: Position, at_value: Any) -> Any:
    """Rows after ``position`` in the order (at, source, id), descending."""
    _, s, i = position
    return or_(at < at_value, and_(at == at_value, or_(source < s, and_(source == s, ident < i))))


def _peers(conn: Connection, session: Session, source: str, tlp: str, after: Position | None) -> list[dict[str, Any]]:
    query = select(SI.id, SI.source, SI.tlp, SI.valid_from_ms, SI.valid_until_ms, SI.received_at, SI.revoked)
    if source:
        query = query.where(SI.source == source)
    if tlp:
        query = query.where(SI.tlp == tlp)
    if not sees_red(session):
        query = query.where(or_(SI.tlp.is_(None), SI.tlp != "red"))
    if after is not None:
        query = query.where(_after(SI.received_at, SI.source, SI.id, after, _instant(after[0])))
    rows = conn.execute(query.order_by(SI.received_at.desc(), SI.source.desc(), SI.id.desc())
                        .limit(PAGE + 1)).all()
    return [{"id": r.id, "source": r.source, "tlp": r.tlp, "pattern_type": "stix",
             "valid_from": format_time_ms(int(r.valid_from_ms)),
             "valid_until": format_time_ms(int(r.valid_until_ms)) if r.valid_until_ms is not None else None,
             "at": timestamp_us(clock.utc(r.received_at)), "revoked": bool(r.revoked)} for r in rows]


def _own(conn: Connection, session: Session, tlp: str, after: Position | None) -> list[dict[str, Any]]:
    query = select(SO.object_id, SO.tlp, SO.date_added_us, SO.body).where(
        SO.object_type == "indicator", SO.source == LOCAL, SO.is_latest.is_(True))
    if tlp:
        query = query.where(SO.tlp == tlp)
    if not sees_red(session):
        query = query.where(or_(SO.tlp.is_(None), SO.tlp != "red"))
    if after is not None:
        at, s, i = after  # the source of these rows is LOCAL: its comparison is made here
        tie = SO.object_id < i if s == LOCAL else (SO.object_id.is_not(None) if s > LOCAL else SO.object_id.is_(None))
        query = query.where(or_(SO.date_added_us < at, and_(SO.date_added_us == at, tie)))
    rows = conn.execute(query.order_by(SO.date_added_us.desc(), SO.object_id.desc()).limit(PAGE + 1)).all()
    found = []
    for r in rows:
        body = json.loads(r.body)
        found.append({"id": r.object_id, "source": LOCAL, "tlp": r.tlp, "pattern_type": body.get("pattern_type"),
                      "valid_from": body.get("valid_from"), "valid_until": body.get("valid_until"),
                      "at": int(r.date_added_us), "revoked": bool(body.get("revoked"))})
    return found


def _key(row: dict[str, Any]) -> tuple[int, str, str]:
    return (int(row["at"]), str(row["source"]), str(row["id"]))


def indicator_page(conn: Connection, session: Session, source: str, tlp: str,
                   after: Position | None) -> tuple[list[dict[str, Any]], Position | None]:
    """One page of the list (own and peers' merged, newest first) and the position "Next" starts after."""
    rows: list[dict[str, Any]] = []
    if source != LOCAL:
        rows += _peers(conn, session, source, tlp, after)
    if source in ("", LOCAL):
        rows += _own(conn, session, tlp, after)
    rows.sort(key=_key, reverse=True)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    peers = [(r["id"], r["source"]) for r in rows if r["source"] != LOCAL]
    counts: dict[tuple[str, str], int] = {}
    if peers:
        counted = conn.execute(select(MATCH.indicator_id, MATCH.source, func.count())
                               .where(MATCH.indicator_id.in_([i for i, _ in peers]))
                               .group_by(MATCH.indicator_id, MATCH.source)).all()
        counts = {(str(i), str(s)): int(n) for i, s, n in counted}
    for row in rows:
        row["matches"] = counts.get((row["id"], row["source"]), 0)
        row["stored"] = format_us(int(row["at"]))
    last = rows[-1] if more and rows else None
    return rows, ((int(last["at"]), str(last["source"]), str(last["id"])) if last else None)


@router.get("/indicators", response_class=HTMLResponse)
def list_indicators(request: Request, console: ConsoleDep, session: Reader,
                    source: Annotated[str, Query(max_length=200)] = "",
                    tlp: Annotated[str, Query(max_length=16)] = "",
                    after_at: Annotated[int | None, Query(ge=0)] = None,
                    after_source: Annotated[str, Query(max_length=200)] = "",
                    after_id: Annotated[str, Query(max_length=128)] = "") -> HTMLResponse:
    if tlp and tlp not in TLP_LEVELS:
        raise PageError(422, "Refused", f"tlp: one of {', '.join(TLP_LEVELS)}")
    after = (after_at, after_source, after_id) if after_at is not None and after_source and after_id else None
    with console.services.database.engine.connect() as conn:
        rows, following = indicator_page(conn, session, source.strip(), tlp, after)
        peers = list(conn.execute(select(SI.source).distinct().order_by(SI.source)).scalars())
    return render(request, "indicators/list.html", {
        "rows": rows, "following": following, "source": source, "tlp": tlp, "peers": peers,
        "levels": [level for level in TLP_LEVELS if level != "red" or sees_red(session)], "local": LOCAL,
        "paged": after is not None})


def _record(source: str, indicator_id: str) -> str:
    return f"shared_indicator/{source}/{indicator_id}"


@router.get("/indicators/{indicator_id}", response_class=HTMLResponse)
def show_indicator(request: Request, indicator_id: IndicatorId, console: ConsoleDep, session: Reader,
                   source: Annotated[Source, Query()]) -> HTMLResponse:
    services = console.services
    with services.database.engine.connect() as conn:
        if source == LOCAL:
            row = conn.execute(select(SO.tlp, SO.body, SO.collection_id, SO.date_added_us).where(
                SO.object_id == indicator_id, SO.source == LOCAL, SO.is_latest.is_(True))
                .order_by(SO.date_added_us.desc())).first()
            found = None if row is None else {
                "tlp": row.tlp, "body": json.loads(row.body), "collection": row.collection_id,
                "stored": format_us(int(row.date_added_us))}
        else:
            peer = conn.execute(select(shared_indicator).where(SI.id == indicator_id, SI.source == source)).first()
            found = None if peer is None else {
                "tlp": peer.tlp, "body": {"pattern": peer.pattern, "pattern_type": "stix", "revoked": peer.revoked,
                                          "valid_from": format_time_ms(int(peer.valid_from_ms)),
                                          "valid_until": format_time_ms(int(peer.valid_until_ms))
                                          if peer.valid_until_ms is not None else None},
                "stored": clock.iso(clock.utc(peer.received_at)), "terms": json.loads(peer.terms)}
    if found is None or (found["tlp"] == "red" and not sees_red(session)):
        raise PageError(404, "Not found", "no such indicator")
    context: dict[str, Any] = {"indicator_id": indicator_id, "source": source, "found": found, "local": LOCAL,
                               "errors": {}, "matches": None, "purpose": None}
    if source != LOCAL:
        purpose = session.purpose_for(_record(source, indicator_id))
        context["purpose"] = purpose
        if purpose is not None:
            context["matches"] = _matches(console, session, source, indicator_id, purpose)
    return render(request, "indicators/indicator.html", context)


def _matches(console: ConsoleDep, session: Session, source: str, indicator_id: str,
             purpose: str) -> list[dict[str, Any]]:
    """The matches of one peer's indicator, subjects masked; the read on the ledger with ``purpose``."""
    actor = session.user.actor
    with console.services.ledger.unit_of_work() as work:
        rows = work.conn.execute(select(shared_indicator_match).where(
            MATCH.indicator_id == indicator_id, MATCH.source == source).order_by(MATCH.created_at)).all()
        accounts = [r.subject_id for r in rows if r.subject_type == "account"]
        owners = dict(work.conn.execute(select(account.c.id, account.c.customer_id)
                                        .where(account.c.id.in_(accounts))).all()) if accounts else {}
        work.log(LedgerAction(actor.name, actor.role, "read_matches", "shared_indicator",
                              f"{source}/{indicator_id}"[:200], purpose=purpose,
                              detail={"matches": len(rows)}))
    shown = []
    for r in rows:
        customer = owners.get(r.subject_id) if r.subject_type == "account" else (
            r.subject_id if r.subject_type == "customer" else None)
        shown.append({"id": r.id, "subject_type": r.subject_type, "masked": f"…{str(r.subject_id)[-4:]}",
                      "customer": customer, "matched_on": r.matched_on, "state": r.state,
                      "first_seen": clock.iso(clock.utc_or_none(r.first_seen)),
                      "last_seen": clock.iso(clock.utc_or_none(r.last_seen)), "decided_by": r.decided_by})
    return shown


@router.post("/indicators/{indicator_id}/purpose", response_class=HTMLResponse)
def state_purpose(request: Request, indicator_id: IndicatorId, console: ConsoleDep, session: Reader,
                  form: FormDep, source: Annotated[Source, Query()]) -> Response:
    purpose = text_of(form, "purpose", 200)
    error = purpose_error(purpose)
    if error:
        raise PageError(422, "Refused", f"purpose: {error} (nothing was opened)")
    console.users.remember_purpose(session, _record(source, indicator_id), purpose)
    return RedirectResponse(f"/console/indicators/{indicator_id}?source={_quoted(source)}", status_code=303)


def _quoted(text: str) -> str:
    return quote(text, safe="")

