"""Legal processes over HTTP: the register and what each process covers (B4, B5).

- ``POST /v1/legal/processes`` (``legal``): register a process; 201 with its id, and ``warnings``
  when its scope matches nothing yet. A due date in the past is a 422 naming ``due``.
- ``GET /v1/legal/processes`` and ``GET /v1/legal/processes/{id}`` (``legal``, ``compliance-officer``).
- ``POST /v1/legal/processes/{id}/close`` (``legal``): answered or withdrawn; no legal read, hold or
  production under it afterwards.
Identifiers named in a scope travel in the body and are kept only as keyed blind indexes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.records.legal_process import LegalProcessInput, ProcessRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import legal_processes

router = APIRouter(prefix="/v1/legal/processes", tags=["legal"])
ProcessId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


class ProcessView(BaseModel):
    id: str
    kind: str
    authority: str
    reference: str
    handler: str | None
    received: str
    due: str | None
    window_from: str | None
    window_to: str | None
    unmask: bool
    state: str
    registered_at: str
    scope: dict[str, int]
    warnings: list[str]

    @classmethod
    def of(cls, record: ProcessRecord) -> ProcessView:
        return cls(id=record.id, kind=record.kind, authority=record.authority, reference=record.reference,
                   handler=record.handler, received=record.received.isoformat(),
                   due=record.due.isoformat() if record.due else None, window_from=clock.iso(record.window_from),
                   window_to=clock.iso(record.window_to), unmask=record.unmask, state=record.state,
                   registered_at=clock.iso(record.registered_at) or "", scope=record.scope, warnings=record.warnings)


class ProcessList(BaseModel):
    processes: list[ProcessView]


@router.post("", status_code=201, response_model=ProcessView, responses=errors(403, 422))
def register_process(body: LegalProcessInput, services: ServicesDep,
                     actor: Annotated[Actor, Depends(require("legal_process:write"))]) -> ProcessView:
    return ProcessView.of(legal_processes(services).register(body, actor))


@router.get("", response_model=ProcessList, responses=errors(403))
def list_processes(services: ServicesDep,
                   actor: Annotated[Actor, Depends(require("legal_process:read"))]) -> ProcessList:
    return ProcessList(processes=[ProcessView.of(p) for p in legal_processes(services).list(actor)])


@router.get("/{process_id}", response_model=ProcessView, responses=errors(403, 404))
def show_process(process_id: ProcessId, services: ServicesDep,
                 actor: Annotated[Actor, Depends(require("legal_process:read"))]) -> ProcessView:
    return ProcessView.of(legal_processes(services).show(process_id, actor))


@router.post("/{process_id}/close", response_model=ProcessView, responses=errors(403, 404, 409))
def close_process(process_id: ProcessId, services: ServicesDep,
                  actor: Annotated[Actor, Depends(require("legal_process:write"))]) -> ProcessView:
    return ProcessView.of(legal_processes(services).close(process_id, actor))
