"""Productions over HTTP (B5).

``POST /v1/legal/processes/{id}/productions`` (``legal``): builds the signed package of exactly what
the process covers and answers it as ``application/zip`` (headers ``X-Production-Id`` and
``X-Manifest-SHA256``); the production goes on the ledger as a disclosure. 404 for an unknown process,
409 for a closed one. Verify the package offline with ``cloudcip production verify`` or
``docs/production_verifier.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import FileResponse
from pydantic import StringConstraints

from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.api.models.files import file_response
from cloudcip.records.roles import Actor
from cloudcip.runtime import productions

router = APIRouter(prefix="/v1/legal/processes", tags=["legal"])
ProcessId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


@router.post("/{process_id}/productions", response_class=FileResponse,
             responses={200: file_response("the signed package", "application/zip"),
                        **errors(403, 404, 409)})
def create_production(process_id: ProcessId, services: ServicesDep, background: BackgroundTasks,
                      actor: Annotated[Actor, Depends(require("production:create"))]) -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="cloudcip-production-"))
    out = folder / "production.zip"
    try:
        record = productions(services).create(process_id, out, actor)
    except BaseException:
        folder.rmdir()
        raise

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    background.add_task(cleanup)
    return FileResponse(out, media_type="application/zip", filename=f"production-{record.id}.zip",
                        headers={"X-Production-Id": record.id, "X-Manifest-SHA256": record.manifest_sha256})
