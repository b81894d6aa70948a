"""The ledger for auditors: newest signed tree head, inclusion proofs, the public key (B3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from cloudcip.api.auth import ServicesDep, require
from cloudcip.errors import NotFound
from cloudcip.records.roles import Actor

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
Auditor = Annotated[Actor, Depends(require("ledger:read"))]


@router.get("/tree-head")
def tree_head(services: ServicesDep, _actor: Auditor) -> dict[str, Any]:
    head = services.ledger.latest_head()
    if head is None:
        raise NotFound("the ledger is empty")
    return head.to_json()


@router.get("/proof/{index}")
def proof(index: int, services: ServicesDep, _actor: Auditor) -> dict[str, Any]:
    return services.ledger.inclusion_proof(index)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(services: ServicesDep, _actor: Auditor) -> str:
    return services.ledger.public_key_pem()
