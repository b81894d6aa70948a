"""The review queue (A6, D5): cases in review and open hits, riskiest and oldest first; filters;
claims; "next item"; bulk actions across pages; exact search through the blind indexes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloudcip import clock
from cloudcip.console import claims
from cloudcip.console.users import Session
from cloudcip.console.web import (
    ConsoleDep,
    ConsoleRoute,
    FormDep,
    PageError,
    allowed,
    purpose_error,
    render,
    text_of,
)
from cloudcip.crypto.blind_index import IndexedKind
from cloudcip.errors import Conflict
from cloudcip.records.roles import may, needs_legal_basis
from cloudcip.screening import hit_queue
from cloudcip.screening import hits as hits_store
from cloudcip.storage.keyset import QueueKey
from cloudcip.verification.queue import CaseFilter, case_keys, cases_by_id, count_cases_in_review, rules_in_review

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Reviewer = Annotated[Session, Depends(allowed("application:decide", "screening:adjudicate"))]
Searcher = Annotated[Session, Depends(allowed("customer:search"))]
PAGE = 50
BULK_LIMIT = 1000
SEARCH_KINDS: dict[str, str] = {"email": "E-mail", "phone": "Phone", "national_id": "National ID",
                                "card_number": "Card number", "iban": "IBAN", "wallet": "Wallet address"}


@dataclass(frozen=True)
class QueueFilters:
    kind: Literal["all", "cases", "hits"] = "all"
    rule: str | None = None
    reason: str | None = None
    measure: str | None = None
    reseller: str | None = None
    source: str | None = None
    age_days: int | None = None

    def opened_before(self) -> datetime | None:
        return clock.now() - timedelta(days=self.age_days) if self.age_days else None

    def case_filter(self) -> CaseFilter:
        return CaseFilter(rule=self.rule, reason=self.reason, measure=self.measure, reseller=self.reseller,
                          opened_before=self.opened_before())

    @property
    def hits_apply(self) -> bool:
        """Hits have no rule, reason, measure or reseller: those filters narrow the queue to cases."""
        return self.kind != "cases" and not (self.rule or self.reason or self.measure or self.reseller)

    @property
    def cases_apply(self) -> bool:
        return self.kind != "hits" and not self.source

    def query(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in (None, "", "all")}


def filters_of(
    kind: Annotated[Literal["all", "cases", "hits"], Query()] = "all",
    rule: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=100)] = None,
    measure: Annotated[str | None, Query(max_length=36)] = None,
    reseller: Annotated[str | None, Query(max_length=36)] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> QueueFilters:
    return QueueFilters(kind, rule or None, reason or None, measure or None, reseller or None, source or None,
                        age_days or None)


Filters = Annotated[QueueFilters, Depends(filters_of)]


@dataclass(frozen=True)
class QueueItem:
    kind: Literal["case", "hit"]
    id: str
    risk: str
    rank: int
    opened_at: datetime
    title: str
    detail: str
    href: str
    claimed_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def queue_items(console: ConsoleDep, session: Session, filters: QueueFilters, limit: int, offset: int = 0, *,
                after: QueueKey | None = None, before: QueueKey | None = None) -> tuple[list[QueueItem], int]:
    """One page of the merged queue (riskiest, then oldest, first) and the number of items in all.

    Keyset pagination: each source gives the positions (rank, opened at, id) after ``after`` (or before
    ``before``), only ids and times; the merged page's rows are then read by id. A page reached by
    number (``offset``) reads the positions up to it, never the rows; one in the second half of the
    queue reads, from the end backwards, only the positions from it to the end."""
    role = session.user.role
    keys: list[tuple[int, datetime, str, Literal["case", "hit"]]] = []
    total = 0
    cases_apply = filters.cases_apply and may(role, "application:decide")
    hits_apply = filters.hits_apply and may(role, "screening:adjudicate")
    with console.services.database.engine.connect() as conn:
        flt, opened = filters.case_filter(), filters.opened_before()
        if cases_apply:
            total += count_cases_in_review(conn, flt)
        if hits_apply:
            total += hit_queue.count_open_hits(conn, source=filters.source, opened_before=opened)
        by_number = after is None and before is None
        # a page asked by number in the queue's second half is counted from its end: the positions
        # after it (fewer than those before it) are read, backwards from past the last one
        from_end = by_number and offset > 0 and offset * 2 > total
        if from_end:
            before = END
        wanted = (total - offset if from_end else limit + offset) if by_number else limit
        if cases_apply:
            keys += [(*key, "case") for key in case_keys(conn, flt, limit=wanted, after=after, before=before)]
        if hits_apply:
            keys += [(*key, "hit") for key in hit_queue.open_hit_keys(conn, source=filters.source, opened_before=opened,
                                                                       limit=wanted, after=after, before=before)]
        keys.sort(key=lambda k: (k[0], k[1], k[2]))
        if from_end:
            page = keys[len(keys) - max(0, total - offset):][:limit]
        elif before is not None:
            page = keys[-limit:]
        else:
            page = keys[offset if after is None else 0:][:limit]
        cases = cases_by_id(conn, [k[2] for k in page if k[3] == "case"])
        hits = hit_queue.hits_by_id(conn, [k[2] for k in page if k[3] == "hit"])
    items: list[QueueItem] = []
    for rank, opened_at, item_id, kind in page:
        if kind == "case" and item_id in cases:
            c = cases[item_id]
            items.append(QueueItem("case", c.id, c.risk_tier, rank, opened_at,
                                   f"{c.account_type} account, {c.channel.replace('_', ' ')}",
                                   "; ".join(c.reasons[:2]) or c.policy_rule, f"/console/cases/{c.id}"))
        elif kind == "hit" and item_id in hits:
            h = hits[item_id]
            items.append(QueueItem("hit", h.id, "high" if h.band == "block" else "standard", rank, opened_at,
                                   f"{h.list_source} hit on a {h.subject_type.replace('_', ' ')}",
                                   f"score {h.score:.2f}, band {h.band}", f"/console/hits/{h.id}"))
    held = claims.holders(console.services.database, [i.key for i in items])
    return [QueueItem(**{**i.__dict__, "claimed_by": held.get(i.key)}) for i in items], total


#: a position past the queue's last (no rank is this high): where a page counted from the end starts
END: QueueKey = (1_000_000, datetime(9999, 12, 31, tzinfo=UTC), "")

CURSOR = r"^[0-9]{1,2}~[0-9T:.+\-]{19,40}~[0-9a-f\-]{36}$"


def cursor_of(item: QueueItem) -> str:
    """An item's queue position in a URL (rank, opened at, id: no personal data)."""
    return f"{item.rank}~{clock.utc(item.opened_at).isoformat()}~{item.id}"


def _position(cursor: str | None) -> QueueKey | None:
    if not cursor:
        return None
    rank, opened, item_id = cursor.split("~")
    try:
        return int(rank), clock.utc(datetime.fromisoformat(opened)), item_id
    except ValueError:
        raise PageError(422, "Refused", "after/before: not a queue position") from None


@router.get("/queue", response_class=HTMLResponse)
def show_queue(request: Request, console: ConsoleDep, session: Reviewer, filters: Filters,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               after: Annotated[str | None, Query(pattern=CURSOR)] = None,
               before: Annotated[str | None, Query(pattern=CURSOR)] = None,
               notice: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    """The queue; "Next" and "Previous" carry the position of the last or first item shown (keyset
    pagination), a page asked by number alone is counted from the start."""
    items, total = queue_items(console, session, filters, PAGE, (page - 1) * PAGE, after=_position(after),
                               before=_position(before))
    with console.services.database.engine.connect() as conn:
        rules = rules_in_review(conn)
        sources = hit_queue.hit_sources(conn)
    return render(request, "queue/queue.html", {
        "items": items, "total": total, "page": page, "pages": max(1, -(-total // PAGE)), "filters": filters,
        "query": filters.query(), "rules": rules, "sources": sources, "search_kinds": SEARCH_KINDS,
        "notice": NOTICES.get(notice or ""), "now": clock.now(),
        "next_after": cursor_of(items[-1]) if items else None, "prev_before": cursor_of(items[0]) if items else None})


NOTICES = {"claimed": "Claimed.", "released": "Released.", "empty": "Nothing unclaimed is waiting in this queue.",
           "bulk": "Done.", "decided": "Decision recorded."}


def _redirect(filters: QueueFilters, notice: str) -> RedirectResponse:
    from urllib.parse import urlencode

    return RedirectResponse(f"/console/queue?{urlencode({**filters.query(), 'notice': notice})}", status_code=303)


def _filters_from_form(form: FormDep) -> QueueFilters:
    age = text_of(form, "age_days", 5)
    kind = text_of(form, "kind", 5)
    return QueueFilters(kind if kind in ("cases", "hits") else "all",  # type: ignore[arg-type]
                        text_of(form, "rule", 64) or None, text_of(form, "reason", 100) or None,
                        text_of(form, "measure", 36) or None, text_of(form, "reseller", 36) or None,
                        text_of(form, "source", 64) or None, int(age) if age.isdigit() else None)


@router.post("/queue/claim", response_class=HTMLResponse)
def claim_item(console: ConsoleDep, session: Reviewer, form: FormDep) -> Response:
    item = text_of(form, "item", 64)
    if not item.startswith(("case:", "hit:")):
        raise PageError(422, "Refused", "item: not a queue item")
    claims.claim(console.services.database, item, session.user.id)
    kind, _, item_id = item.partition(":")
    return RedirectResponse(f"/console/{kind}s/{item_id}", status_code=303)


@router.post("/queue/release", response_class=HTMLResponse)
def release_item(console: ConsoleDep, session: Reviewer, form: FormDep) -> Response:
    claims.release(console.services.database, text_of(form, "item", 64), session.user.id)
    return _redirect(_filters_from_form(form), "released")


@router.post("/queue/next", response_class=HTMLResponse)
def next_item(console: ConsoleDep, session: Reviewer, form: FormDep) -> Response:
    """Claim the first unclaimed item of the (filtered) queue and open it."""
    filters = _filters_from_form(form)
    offset = 0
    while offset < 5000:
        items, total = queue_items(console, session, filters, PAGE, offset)
        for item in items:
            if item.claimed_by is None:
                try:
                    claims.claim(console.services.database, item.key, session.user.id)
                except Conflict:
                    continue  # taken a moment ago by someone else
                return RedirectResponse(item.href, status_code=303)
        offset += PAGE
        if offset >= total:
            break
    return _redirect(filters, "empty")


@router.post("/queue/bulk", response_class=HTMLResponse)
def bulk(request: Request, console: ConsoleDep, session: Reviewer, form: FormDep) -> Response:
    """Claim, release or escalate the chosen items, or every item matching the filters (across pages)."""
    filters = _filters_from_form(form)
    action = text_of(form, "action", 16)
    if form.get("all_matching") == "1":
        chosen, _total = queue_items(console, session, filters, BULK_LIMIT, 0)
        keys = [i.key for i in chosen]
    else:
        keys = [str(v) for v in form.getlist("items") if isinstance(v, str)][:BULK_LIMIT]
    if action not in ("claim", "release", "escalate"):
        raise PageError(422, "Refused", "action: claim, release or escalate")
    reason = text_of(form, "reason")
    if action == "escalate" and not reason:
        return _queue_with_error(request, console, session, filters, {"reason": "escalating needs a reason"})
    if not keys:
        return _queue_with_error(request, console, session, filters, {"items": "choose at least one item"})
    done = 0
    for key in keys:
        if action == "claim":
            try:
                claims.claim(console.services.database, key, session.user.id)
                done += 1
            except Conflict:
                continue
        elif action == "release":
            done += int(claims.release(console.services.database, key, session.user.id))
        elif key.startswith("hit:") and may(session.user.role, "screening:adjudicate"):
            try:
                hits_store.decide(console.services, session.user.actor, key[4:], "escalated", reason)
                done += 1
            except hits_store.DecisionRefused:
                continue
    return _redirect(filters, "bulk")


def _queue_with_error(request: Request, console: ConsoleDep, session: Session, filters: QueueFilters,
                      errors: dict[str, str]) -> HTMLResponse:
    items, total = queue_items(console, session, filters, PAGE, 0)
    with console.services.database.engine.connect() as conn:
        rules, sources = rules_in_review(conn), hit_queue.hit_sources(conn)
    return render(request, "queue/queue.html", {
        "items": items, "total": total, "page": 1, "pages": max(1, -(-total // PAGE)), "filters": filters,
        "query": filters.query(), "rules": rules, "sources": sources, "search_kinds": SEARCH_KINDS,
        "errors": errors, "now": clock.now()}, status=422)


@router.post("/search", response_class=HTMLResponse)
def search(request: Request, console: ConsoleDep, session: Searcher, form: FormDep) -> HTMLResponse:
    """Exact lookup through the blind index: the value travels in the form body, never the URL; each
    match goes on the ledger with the stated purpose."""
    kind, value = text_of(form, "kind", 16), text_of(form, "value", 128)
    country, purpose = text_of(form, "country", 2).upper(), text_of(form, "purpose", 200)
    errors: dict[str, str] = {}
    if kind not in SEARCH_KINDS:
        errors["kind"] = "choose what the value is"
    if not value:
        errors["value"] = "type the exact value to look for"
    if kind == "national_id" and len(country) != 2:
        errors["country"] = "a national ID is looked up with its issuing country (two letters)"
    why = purpose_error(purpose)
    if why:
        errors["purpose"] = why
    basis = text_of(form, "legal_basis", 200)
    if needs_legal_basis(session.user.role, "customer:search") and purpose_error(basis):
        errors["legal_basis"] = "legal staff search only against a recorded legal basis"
    if errors:
        return render(request, "queue/search.html", {"errors": errors, "kind": kind, "country": country,
                                                     "purpose": purpose, "search_kinds": SEARCH_KINDS,
                                                     "ids": None}, status=422)
    indexed: IndexedKind = kind  # type: ignore[assignment]
    ids = console.services.customers.find(indexed, value, session.user.actor, purpose=purpose,
                                          scope=country if kind == "national_id" else "", legal_basis=basis or None)
    for customer_id in ids:
        console.users.remember_purpose(session, f"customer/{customer_id}", purpose)
        if basis:
            console.users.remember_purpose(session, f"customer/{customer_id}#basis", basis)
    return render(request, "queue/search.html", {"ids": ids, "kind": kind, "purpose": purpose,
                                                 "search_kinds": SEARCH_KINDS, "errors": {}})
