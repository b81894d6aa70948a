"""Productions in the console (B3, B5): the register of productions made, making the signed package
of exactly what an open legal process covers (downloaded at once: the package is the provider's to
keep, the register and the ledger say it was made), and verifying a package the way the recipient
does (``legal.package.verify_package`` against this ledger's public key)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, render, text_of
from cloudcip.legal.package import verify_package
from cloudcip.legal.production import ProductionService
from cloudcip.legal.schema import production
from cloudcip.records.schema import legal_process
from cloudcip.services import Services

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Producer = Annotated[Session, Depends(allowed("production:create"))]
SHOWN = 200


def _productions(services: Services) -> ProductionService:
    return ProductionService(services.database, services.ledger, services.customers)


def _page(request: Request, console: ConsoleDep, *, check: object = None, status: int = 200,
          error: str | None = None) -> HTMLResponse:
    with console.services.database.engine.connect() as conn:
        made = conn.execute(
            select(production, legal_process.c.kind, legal_process.c.reference, legal_process.c.authority)
            .join(legal_process, legal_process.c.id == production.c.process_id)
            .order_by(production.c.created_at.desc()).limit(SHOWN)).all()
        open_processes = conn.execute(
            select(legal_process.c.id, legal_process.c.kind, legal_process.c.reference)
            .where(legal_process.c.state == "open").order_by(legal_process.c.registered_at.desc())).all()
    return render(request, "productions/productions.html", {
        "productions": made, "open_processes": open_processes, "check": check, "error": error}, status=status)


@router.get("/productions", response_class=HTMLResponse)
def show_productions(request: Request, console: ConsoleDep, session: Producer) -> HTMLResponse:
    return _page(request, console)


@router.post("/productions", response_class=HTMLResponse)
def make_production(console: ConsoleDep, session: Producer, form: FormDep, background: BackgroundTasks) -> Response:
    """Build the package of the chosen process and hand it over as a download (on the ledger as a
    disclosure of every record in it)."""
    process_id = text_of(form, "process_id", 36)
    if len(process_id) != 36:
        raise PageError(422, "Refused", "process_id: choose a registered legal process (nothing was produced)")
    folder = Path(tempfile.mkdtemp(prefix="cloudcip-production-"))
    out = folder / "production.zip"
    try:
        record = _productions(console.services).create(process_id, out, session.user.actor)
    except BaseException:
        folder.rmdir()
        raise

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    background.add_task(cleanup)
    return FileResponse(out, media_type="application/zip", filename=f"production-{record.id}.zip",
                        headers={"X-Production-Id": record.id, "X-Manifest-SHA256": record.manifest_sha256})


@router.post("/productions/verify", response_class=HTMLResponse)
def verify_production(request: Request, console: ConsoleDep, session: Producer, form: FormDep) -> HTMLResponse:
    """Check an uploaded package against this ledger's public key: every file, entry and proof."""
    package = form.get("package")
    if not isinstance(package, UploadFile) or not package.filename:
        return _page(request, console, error="package: choose the production's zip file", status=422)
    check = verify_package(package.file, console.services.ledger.public_key)  # never raises for a bad one
    return _page(request, console, check=check, status=200 if check.ok else 422)
