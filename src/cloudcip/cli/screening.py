"""``cloudcip lists``, ``measures``, ``screen`` and ``hits``: list snapshots, the special-measures
register, screening (one name, a batch, name pairs, re-screening) and adjudication (D1, D3, D4, D5)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, console, emit, fail, services_of
from cloudcip.errors import InvalidInput
from cloudcip.runtime import screening_service
from cloudcip.screening import hits as hits_store
from cloudcip.screening import measures as measure_register
from cloudcip.screening.loaders import FORMATS, load_publication
from cloudcip.screening.measures import CONDITIONS
from cloudcip.screening.rescreen import rescreen_all
from cloudcip.screening.service import compare_pair, hit_json
from cloudcip.screening.snapshots import (
    diff_snapshots,
    find_snapshot,
    import_publication,
    in_force_snapshots,
    latest_two,
    snapshots,
)

lists = typer.Typer(help="Designated-persons lists: import publications as versioned snapshots.", no_args_is_help=True)
measures = typer.Typer(help="The register of special measures (D1).", no_args_is_help=True)
screen = typer.Typer(help="Screen names against the in-force lists and measures (D3, D4).", no_args_is_help=True)
hits = typer.Typer(help="Screening hits and their adjudication (D5).", no_args_is_help=True)

MAX_CSV_FIELD = 10_000


def register(app: typer.Typer) -> None:
    app.add_typer(lists, name="lists")
    app.add_typer(measures, name="measures")
    app.add_typer(screen, name="screen")
    app.add_typer(hits, name="hits")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def _date(value: str | None, name: str) -> date | None:
    return None if value is None else clock.parse_date(value, name)


# --- lists --------------------------------------------------------------------------------------


@lists.command("import")
def lists_import(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="The files of one publication.")],
    format: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")],
    source: Annotated[str | None, typer.Option(help="Name the list source (default: from the format).")] = None,
    partial: Annotated[bool, typer.Option(
        "--partial", help="Import a publication given without some of its files (an OFAC SDN file without "
                          "its ALT, ADD and COMMENTS files), knowing its aliases or addresses are lost.")] = False,
) -> None:
    """Import one publication of a list as a new snapshot; the previous one stays in force on any error.
    All the files of one publication go together (OFAC: SDN, ALT, ADD, COMMENTS); a snapshot that drops
    more than a tenth of the names in force is imported with a warning."""
    if format not in FORMATS:
        raise fail(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    with services_of(ctx) as services, _progress() as progress:
        reading = progress.add_task("reading", total=None)
        try:
            publication = load_publication(
                format, paths, source=source,
                progress=lambda done, total: progress.update(reading, completed=done, total=total or None),
            )
        except (OSError, ValueError) as exc:  # a ListFormatError naming the file and line, or the OS's word
            raise InvalidInput(f"list refused, nothing imported: {exc}") from exc
        storing = progress.add_task("storing", total=len(publication.parties))
        result = import_publication(
            services, publication, OPERATOR, partial=partial,
            progress=lambda done, total: progress.update(storing, completed=done, total=total),
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if result.unchanged:
        emit(f"unchanged: {result.source} version {result.version} ({result.parties} parties) has the same "
             f"sha256; nothing imported")
    else:
        emit(f"imported {result.source} version {result.version}: {result.parties} parties, {result.names} names "
             f"(snapshot {result.snapshot_id})" + (" [partial publication]" if publication.missing_parts else ""))


@lists.command("show")
def lists_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """The sources, their in-force snapshots and counts."""
    with services_of(ctx) as services, services.database.engine.connect() as conn:
        in_force = in_force_snapshots(conn)
        counts = {s.source: len(snapshots(conn, s.source)) for s in in_force}
    if as_json:
        emit(json.dumps({"sources": [{**s.as_json(), "snapshots": counts[s.source]} for s in in_force]}))
        return
    if not in_force:
        emit("no lists imported; `cloudcip lists import --format FORMAT PATH...`")
        return
    table = Table("source", "version", "format", "parties", "imported", "sha256", "snapshots")
    for s in in_force:
        table.add_row(s.source, str(s.version), s.format, str(s.parties), s.imported_at.isoformat(timespec="seconds"),
                      s.sha256[:12], str(counts[s.source]))
    console.print(table)
    for s in in_force:
        emit(f"{s.source}\tv{s.version}\t{s.parties}\t{s.id}")


@lists.command("diff")
def lists_diff(
    ctx: typer.Context,
    refs: Annotated[list[str] | None, typer.Argument(metavar="[A B]", help="Snapshot ids or versions.")] = None,
    source: Annotated[str | None, typer.Option(help="The list source (default: the only one).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Parties added, removed and changed between two snapshots of a source (default: the latest two)."""
    refs = refs or []
    if len(refs) not in (0, 2):
        raise fail("give two snapshots (A B), or none for the latest two")
    with services_of(ctx) as services, services.database.engine.connect() as conn:
        if refs:
            older, newer = find_snapshot(conn, refs[0], source), find_snapshot(conn, refs[1], source)
        else:
            if source is None:
                sources = [s.source for s in in_force_snapshots(conn)]
                if len(sources) != 1:
                    raise fail(f"name the source with --source (one of: {', '.join(sources) or 'none'})")
                source = sources[0]
            older, newer = latest_two(conn, source)
        diff = diff_snapshots(conn, older, newer)
    if as_json:
        emit(json.dumps(diff.as_json()))
        return
    emit(f"{diff.source}: v{older.version} -> v{newer.version}: {len(diff.added)} added, "
         f"{len(diff.removed)} removed, {len(diff.changed)} changed")
    for label, ids in (("+", diff.added), ("-", diff.removed), ("~", diff.changed)):
        for source_id in ids:
            emit(f"{label} {source_id}")


# --- measures -----------------------------------------------------------------------------------


@measures.command("add")
def measures_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help="jurisdiction or person.")],
    target: Annotated[str, typer.Option(help="ISO 3166 code or region; or SOURCE:SOURCE_ID or person JSON.")],
    measure: Annotated[str, typer.Option(help="prohibit or conditions.")],
    determination_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    condition: Annotated[list[str] | None, typer.Option(help="One of: " + ", ".join(sorted(CONDITIONS)) + ".")]
    = None,
    effective_date: Annotated[str | None, typer.Option(help="Default: determination + lead time.")] = None,
    duration_days: Annotated[int | None, typer.Option(help="Default: the profile's (365).")] = None,
    covers_resellers: Annotated[bool, typer.Option("--covers-resellers/--no-resellers")] = True,
    description: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a special measure."""
    determined = _date(determination_date, "--determination-date")
    assert determined is not None
    with services_of(ctx) as services:
        created = measure_register.add_measure(
            services, OPERATOR, kind=kind, target=target, measure=measure, determination_date=determined,
            conditions=condition or [], effective_date=_date(effective_date, "--effective-date"),
            duration_days=duration_days, covers_resellers=covers_resellers, description=description,
        )
    emit(json.dumps(created.as_json()) if as_json else
         f"measure {created.id}: {created.measure} {created.kind} {created.target}, effective "
         f"{created.effective_date.isoformat()}, expires {created.expires_on.isoformat()}")


@measures.command("list")
def measures_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    today: Annotated[str | None, typer.Option(help="Status as of this date (default: today).")] = None,
) -> None:
    """Every measure with its status."""
    as_of = _date(today, "--today") or clock.today()
    with services_of(ctx) as services, services.database.engine.connect() as conn:
        found = measure_register.list_measures(conn)
    if as_json:
        emit(json.dumps({"measures": [m.as_json(as_of) for m in found]}))
        return
    for m in found:
        emit(f"{m.id}\t{m.status(as_of)}\t{m.measure}\t{m.kind}\t{m.target}\t{','.join(m.conditions) or '-'}\t"
             f"{m.effective_date.isoformat()}..{m.expires_on.isoformat()}")


@measures.command("extend")
def measures_extend(
    ctx: typer.Context,
    measure_id: Annotated[str, typer.Argument(metavar="ID")],
    days: Annotated[int, typer.Option(help="Days to add.")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Extend a measure by some days, with a reason."""
    with services_of(ctx) as services:
        changed = measure_register.extend_measure(services, OPERATOR, measure_id, days, reason)
    emit(f"measure {changed.id} now expires {changed.expires_on.isoformat()}")


@measures.command("revoke")
def measures_revoke(
    ctx: typer.Context,
    measure_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Revoke a measure."""
    with services_of(ctx) as services:
        changed = measure_register.revoke_measure(services, OPERATOR, measure_id, reason)
    emit(f"measure {changed.id} revoked")


# --- screen -------------------------------------------------------------------------------------


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, str]]:
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise fail(f"{path.name}: cannot be read ({exc.strerror})") from exc
    with handle:
        try:
            csv.field_size_limit(MAX_CSV_FIELD)
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise fail(f"{path.name}: missing column(s) {', '.join(missing)}")
            for row in reader:
                yield {k: (v or "") for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
        except UnicodeDecodeError as exc:
            raise fail(f"{path.name}: not UTF-8 text (binary file?)") from exc
        except csv.Error as exc:
            raise fail(f"{path.name}: line {reader.line_num}: {exc}") from exc


@screen.command("name")
def screen_name(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME")],
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY.")] = None,
    nationality: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2.")] = None,
    schema: Annotated[str | None, typer.Option(help="Person or Organization.")] = None,
    jurisdiction: Annotated[list[str] | None, typer.Option(help="A country or subdivision connected to them.")]
    = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Screen one name against the in-force lists and measures."""
    if schema not in (None, "Person", "Organization"):
        raise fail("--schema must be Person or Organization")
    with services_of(ctx) as services:
        service = screening_service(services)
        result = service.screen_person(
            name, birth_date, nationality.upper() if nationality else None,
            schema=schema if schema in ("Person", "Organization") else None,  # type: ignore[arg-type]
            jurisdictions=jurisdiction or [], limit=limit,
        )
    if as_json:
        emit(json.dumps(result.as_json(), ensure_ascii=False))
        return
    emit(f"band: {result.band}")
    for hit in result.hits:
        emit(f"{hit.band}\t{hit.score:.3f}\t{hit.party_source}:{hit.party_id}\t{hit.matched_name}")
        for line in hit.explanation:
            emit(f"\t\t{line}")
    for applying in result.measures_applying:
        emit(f"measure {applying.measure.id}: {applying.measure.measure} ({applying.status}); {applying.basis}")


@screen.command("batch")
def screen_batch(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="Columns name, optional birth_date, nationality.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per row (the only output form).")] = True,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 3,
) -> None:
    """Screen every row of a CSV; one JSON line per row with its best hits (or its error)."""
    errors = 0
    with services_of(ctx) as services:
        service = screening_service(services)
        for number, row in enumerate(_rows(file, ("name",)), start=1):
            line: dict[str, Any] = {"row": number, "name": row.get("name", "")}
            try:
                result = service.screen_person(row["name"], row.get("birth_date") or None,
                                               (row.get("nationality") or "").upper() or None, limit=limit)
                line.update(band=result.band, hits=[hit_json(h) for h in result.hits],
                            measures=[m.as_json() for m in result.measures_applying])
            except ValueError as exc:
                errors += 1
                line["error"] = str(exc)
            emit(json.dumps(line, ensure_ascii=False))
    if errors:
        console.print(f"[yellow]{errors} row(s) could not be screened (see their \"error\")[/yellow]")


@screen.command("compare")
def screen_compare(
    pairs: Annotated[Path, typer.Option("--pairs", help="CSV with name1, name2, optional schema.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per pair (the only output form).")] = True,
) -> None:
    """Score name pairs; one JSON line per pair with ``score`` and ``match`` at the default threshold."""
    errors = 0
    for number, row in enumerate(_rows(pairs, ("name1", "name2")), start=1):
        line: dict[str, Any] = {"row": number, "name1": row["name1"], "name2": row["name2"]}
        schema = row.get("schema") or None
        try:
            line.update(compare_pair(row["name1"], row["name2"], schema))
        except ValueError as exc:
            errors += 1
            line["error"] = str(exc)
        emit(json.dumps(line, ensure_ascii=False))
    if errors:
        console.print(f"[yellow]{errors} pair(s) could not be compared (see their \"error\")[/yellow]")


@screen.command("rescreen")
def screen_rescreen(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why (recorded on the run and the ledger).")] = "operator request",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    full: Annotated[bool, typer.Option("--full", help="Screen everyone against everything, not only what "
                                                       "changed since the last finished run.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Screening processes (one per core).")] = 1,
) -> None:
    """Re-screen every customer, beneficial owner and resellers' sub-lessee; apply measures in force;
    resumes an unfinished run. Against what changed since the last finished run, unless --full."""
    from cloudcip.access.history import access_history_by_customer
    from cloudcip.runtime import application_service, sub_lessee_rescreen

    with services_of(ctx) as services, _progress() as progress:
        task = progress.add_task("re-screening", total=None)
        applications = application_service(services)
        report = rescreen_all(services, reason,
                              lambda done, total: progress.update(task, completed=done, total=total),
                              full=full, workers=workers, screening=applications.screening,
                              access_history=access_history_by_customer, account_effect=applications.measure_acted,
                              then=sub_lessee_rescreen(services))
    if as_json:
        emit(json.dumps(report.as_json()))
        return
    emit(f"{'resumed' if report.resumed else 'run'} {report.run_id} ({report.mode}): {report.done} customers "
         f"re-screened, {report.counts.get('sub_lessees', 0)} sub-lessees, {report.new_hits} new hits, "
         f"{len(report.effects)} measure effects")


# --- hits ---------------------------------------------------------------------------------------


@hits.command("list")
def hits_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, confirmed, false_positive or escalated.")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hits (default: the open ones), newest first."""
    if state == "all":
        state = None
    with services_of(ctx) as services, services.database.engine.connect() as conn:
        found = hits_store.list_hits(conn, state=state, limit=limit)
    if as_json:
        emit(json.dumps({"hits": [h.as_json() for h in found]}, ensure_ascii=False))
        return
    for h in found:
        emit(f"{h.id}\t{h.state}\t{h.band}\t{h.score:.3f}\t{h.subject_type}:{h.subject_id}\t"
             f"{h.list_source}:{h.list_source_id}")


@hits.command("decide")
def hits_decide(
    ctx: typer.Context,
    hit_id: Annotated[str, typer.Argument(metavar="ID")],
    state: Annotated[str, typer.Option(help="confirmed, false_positive or escalated.")],
    reason: Annotated[str | None, typer.Option(help="Why (required for false_positive).")] = None,
) -> None:
    """Adjudicate a hit."""
    with services_of(ctx) as services:
        from cloudcip.runtime import application_service

        decided = hits_store.decide(services, OPERATOR, hit_id, state, reason,
                                    after=application_service(services).hit_decided)
    emit(f"hit {decided.id}: {decided.state}")
