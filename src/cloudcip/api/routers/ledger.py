"""The ledger for auditors: newest signed tree head, inclusion proofs, the public key (B3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import error_response
from cloudcip.errors import NotFound
from cloudcip.records.roles import Actor

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])


class TreeHead(BaseModel):
    """A signed tree head: the ledger's size and Merkle root, signed with its Ed25519 key (RFC 6962 style)."""

    tree_size: int = Field(examples=[1024])
    root_hash: str = Field(description="hex SHA-256", examples=["5f1c" + "0" * 60])
    timestamp_ms: int = Field(examples=[1767225600000])
    signature: str = Field(description="base64 Ed25519 signature over the head")


class InclusionProof(BaseModel):
    """The self-contained proof that entry ``index`` is in the signed tree (``docs/offline_verifier.py``)."""

    format: str
    index: int
    leaf_input: str = Field(description="the entry's canonical JSON")
    leaf_hash: str = Field(description="hex")
    audit_path: list[str] = Field(description="hex hashes, leaf to root")
    tree_head: TreeHead
Auditor = Annotated[Actor, Depends(require("ledger:read"))]


@router.get("/tree-head", responses={404: error_response(404, "the ledger is empty")})
def tree_head(services: ServicesDep, _actor: Auditor) -> TreeHead:
    head = services.ledger.latest_head()
    if head is None:
        raise NotFound("the ledger is empty")
    return TreeHead(**head.to_json())


@router.get("/proof/{index}", responses={404: error_response(404, "no such ledger entry")})
def proof(index: int, services: ServicesDep, _actor: Auditor) -> InclusionProof:
    return InclusionProof(**services.ledger.inclusion_proof(index))


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(services: ServicesDep, _actor: Auditor) -> str:
    return services.ledger.public_key_pem()
