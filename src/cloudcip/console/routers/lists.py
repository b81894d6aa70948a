"""Measures and lists (D1, D3, D4): the special-measures register with effective dates and the
accounts each measure reached, proposals to record or revoke a measure (four eyes), list snapshots
and their diffs, and re-screening runs with their progress."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloudcip import clock
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, render, text_of
from cloudcip.screening import measures as register
from cloudcip.screening.rescreen import runs
from cloudcip.screening.snapshots import diff_snapshots, find_snapshot, snapshots

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Session, Depends(allowed("screening:read", "measures:write"))]
Writer = Annotated[Session, Depends(allowed("measures:write"))]
ListReader = Annotated[Session, Depends(allowed("screening:read"))]
MeasureId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
DIFF_SHOWN = 200


def _measures_page(request: Request, console: ConsoleDep, *, errors: dict[str, str] | None = None,
                   values: dict[str, Any] | None = None, notice: str | None = None, status: int = 200
                   ) -> HTMLResponse:
    today = clock.now().date()
    with console.services.database.engine.connect() as conn:
        found = register.list_measures(conn)
        affected = register.affected_accounts(conn)
    pending = [c for c in console.four_eyes.changes() if c.kind.startswith("measure.")]
    return render(request, "lists/measures.html", {
        "measures": [(m, m.status(today), affected.get(m.id, 0)) for m in found], "pending": pending,
        "conditions": sorted(register.CONDITIONS), "errors": errors or {}, "values": values or {},
        "notice": notice, "today": today}, status=status)


@router.get("/measures", response_class=HTMLResponse)
def show_measures(request: Request, console: ConsoleDep, session: Reader,
                  notice: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    return _measures_page(request, console, notice={"proposed": "Proposed: a second person must approve it "
                                                                "(Four eyes)."}.get(notice or ""))


@router.post("/measures/propose", response_class=HTMLResponse)
def propose_measure(request: Request, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    """Propose recording a measure: checked now as the register would check it, recorded on approval."""
    values: dict[str, Any] = {k: text_of(form, k) for k in ("kind", "target", "measure", "determination_date",
                                                             "effective_date", "duration_days", "description",
                                                             "reason")}
    values["conditions"] = [str(c) for c in form.getlist("conditions")]
    values["covers_resellers"] = form.get("covers_resellers") == "1"
    errors: dict[str, str] = {}
    for name in ("kind", "target", "measure", "determination_date"):
        if not values[name]:
            errors[name] = "required"
    if len(values["reason"]) < 3:
        errors["reason"] = "say why (at least 3 characters)"
    payload: dict[str, Any] = {}
    try:
        payload = {"kind": values["kind"], "target": values["target"], "measure": values["measure"],
                   "conditions": values["conditions"],
                   "determination_date": clock.parse_date(values["determination_date"], "determination_date")
                   .isoformat() if values["determination_date"] else None,
                   "effective_date": clock.parse_date(values["effective_date"], "effective_date").isoformat()
                   if values["effective_date"] else None,
                   "duration_days": int(values["duration_days"]) if values["duration_days"] else None,
                   "covers_resellers": values["covers_resellers"], "description": values["description"] or None}
    except (ValueError, TypeError) as exc:
        fields = getattr(exc, "fields", None)
        if fields:
            errors.update({f.field: f.message for f in fields})
        else:
            errors["duration_days"] = "a whole number of days"
    if not errors:
        problem = register.check_measure(console.services, **{k: v for k, v in payload.items()})
        if problem is not None:
            errors[problem[0]] = problem[1]
    if errors:
        return _measures_page(request, console, errors=errors, values=values, status=422)
    summary = f"record a {values['measure']} measure on {values['kind']} {values['target'][:60]}"
    console.four_eyes.propose("measure.record", summary, payload, values["reason"], session.user.actor)
    return RedirectResponse("/console/measures?notice=proposed", status_code=303)


@router.post("/measures/{measure_id}/revoke", response_class=HTMLResponse)
def propose_revocation(request: Request, measure_id: MeasureId, console: ConsoleDep, session: Writer,
                       form: FormDep) -> Response:
    reason = text_of(form, "reason")
    if len(reason) < 3:
        return _measures_page(request, console, errors={f"revoke-{measure_id}": "revoking needs a reason"},
                              status=422)
    with console.services.database.engine.connect() as conn:
        measure = register.get_measure(conn, measure_id)
    if measure.revoked_at is not None:
        raise PageError(409, "Changed meanwhile", "the measure was already revoked")
    console.four_eyes.propose("measure.revoke", f"revoke the {measure.measure} measure on {measure.target[:60]}",
                              {"measure_id": measure_id, "reason": reason}, reason, session.user.actor,
                              subject=measure_id)
    return RedirectResponse("/console/measures?notice=proposed", status_code=303)


@router.get("/lists", response_class=HTMLResponse)
def show_lists(request: Request, console: ConsoleDep, session: ListReader) -> HTMLResponse:
    with console.services.database.engine.connect() as conn:
        found = snapshots(conn)
    sources: dict[str, list[Any]] = {}
    for snap in found:
        sources.setdefault(snap.source, []).append(snap)
    return render(request, "lists/lists.html", {"sources": sources})


@router.get("/lists/{source}/diff", response_class=HTMLResponse)
def show_diff(request: Request, console: ConsoleDep, session: ListReader,
              source: Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{1,64}$")],
              older: Annotated[int, Query(ge=1)], newer: Annotated[int, Query(ge=1)]) -> HTMLResponse:
    with console.services.database.engine.connect() as conn:
        diff = diff_snapshots(conn, find_snapshot(conn, str(older), source), find_snapshot(conn, str(newer), source))
    return render(request, "lists/diff.html", {"diff": diff, "shown": DIFF_SHOWN})


@router.get("/rescreens", response_class=HTMLResponse)
def show_rescreens(request: Request, console: ConsoleDep,
                   session: Annotated[Session, Depends(allowed("screening:read"))]) -> HTMLResponse:
    with console.services.database.engine.connect() as conn:
        found = list(runs(conn, limit=30))
    return render(request, "lists/rescreens.html", {"runs": found})


@router.get("/rescreens/progress")
def rescreen_progress(console: ConsoleDep,
                      session: Annotated[Session, Depends(allowed("screening:read"))]) -> JSONResponse:
    """The runs' progress as JSON, for the page to refresh its progress bars without reloading."""
    with console.services.database.engine.connect() as conn:
        return JSONResponse({"runs": list(runs(conn, limit=30))})


_ = date  # dates come in as text and are parsed by cloudcip.clock
