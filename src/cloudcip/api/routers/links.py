"""Linked accounts over HTTP (G1, B4): a customer's links, a cluster, the path joining two customers.

Identifiers are shown masked with their kind and strength; reads are on the ledger with the stated
purpose (``X-Access-Purpose``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from cloudcip.api.auth import ServicesDep, require, stated_purpose
from cloudcip.api.error_models import ErrorBody
from cloudcip.linkage.service import LinkageService
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services

router = APIRouter(tags=["links"])
Reader = Annotated[Actor, Depends(require("links:read"))]
Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or unknown API key"},
    403: {"model": ErrorBody, "description": "the role may not read links"},
    404: {"model": ErrorBody, "description": "no such customer or cluster"},
    422: {"model": ErrorBody, "description": "a field at fault, named"},
}


class Link(BaseModel):
    kind: str
    strength: str
    identifier: str


class LinkedSubject(BaseModel):
    subject_type: str
    subject_id: str
    customer_id: str
    strength: str
    flags: list[str]
    links: list[Link]


class OwnIdentifier(BaseModel):
    subject_type: str
    kind: str
    strength: str
    identifier: str


class CustomerLinks(BaseModel):
    customer_id: str
    cluster_id: str | None
    identifiers: list[OwnIdentifier]
    links: list[LinkedSubject]


class ClusterMember(BaseModel):
    subject_type: str
    subject_id: str
    customer_id: str
    flags: list[str]


class ClusterKind(BaseModel):
    kind: str
    strength: str
    links: int


class Cluster(BaseModel):
    cluster_id: str
    size: int
    members: list[ClusterMember]
    link_kinds: list[ClusterKind]


class ExplainInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first: Id
    second: Id


class PathStep(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    source: str
    target: str
    kind: str
    strength: str
    identifier: str


class Explanation(BaseModel):
    first: str
    second: str
    linked: bool
    strength: str | None = None
    path: list[PathStep]


def linkage_service(services: Services) -> LinkageService:
    return LinkageService(services.database, services.keyring, services.ledger)


@router.get("/v1/customers/{customer_id}/links", responses=ERRORS)
def customer_links(customer_id: Id, request: Request, services: ServicesDep, actor: Reader) -> CustomerLinks:
    return CustomerLinks(**linkage_service(services).links(customer_id, actor, purpose=stated_purpose(request)))


@router.get("/v1/clusters/{cluster_id}", responses=ERRORS)
def cluster(cluster_id: Id, request: Request, services: ServicesDep, actor: Reader) -> Cluster:
    return Cluster(**linkage_service(services).cluster(cluster_id, actor, purpose=stated_purpose(request)))


@router.post("/v1/links/explain", responses=ERRORS)
def explain(body: ExplainInput, request: Request, services: ServicesDep, actor: Reader) -> Explanation:
    """The chain of shared identifiers joining two customers (ids in the body, never in the URL)."""
    answer = linkage_service(services).explain(body.first, body.second, actor, purpose=stated_purpose(request))
    return Explanation(first=answer["from"], second=answer["to"], linked=answer["linked"],
                       strength=answer.get("strength"),
                       path=[PathStep(source=step["from"], target=step["to"], kind=step["kind"],
                                      strength=step["strength"], identifier=step["identifier"])
                             for step in answer["path"]])


RiskReader = Annotated[Actor, Depends(require("risk:read"))]


class RiskFactorView(BaseModel):
    name: str
    value: float
    weight: float
    contribution: float
    why: str


class RiskView(BaseModel):
    account_id: str
    score: int
    tier: str
    factors: list[RiskFactorView]


@router.get("/v1/accounts/{account_id}/risk", responses=ERRORS)
def account_risk(account_id: Annotated[str, StringConstraints(min_length=1, max_length=64)],
                 services: ServicesDep, actor: RiskReader) -> RiskView:
    """G2: the account's risk score now, in [0, 100], its tier, and each factor's value, weight and
    contribution."""
    from cloudcip.linkage.risk import RiskScorer
    from cloudcip.runtime import policy_in_force

    scorer = RiskScorer.of_policy(services.database, policy_in_force(services).risk_score)
    with services.database.engine.connect() as conn:
        scored = scorer.score_account(conn, account_id)
    return RiskView(account_id=account_id, **scored.as_json())
