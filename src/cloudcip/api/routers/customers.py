"""Customer records: create (signup service), read masked or unmasked with a purpose, find by exact
identifier, purge (A3, B2, B3, B4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip.api.auth import ServicesDep, require, stated_legal_basis, stated_purpose
from cloudcip.api.models.customers import CustomerIds, CustomerView
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.verification.validation import check_record

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


class Created(BaseModel):
    id: str


class CustomerSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone", "national_id", "card_number", "iban", "wallet"]
    value: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="issuing country, for national_id")


@router.post("", status_code=201, response_model=Created)
def create_customer(
    record: Annotated[CustomerRecord, Body()],
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("customer:create"))],
) -> Created:
    check_record(record, services.customers.clock().date())  # the one validator, as POST /v1/applications (A3, A4)
    [customer_id] = services.customers.create([record], actor, purpose=stated_purpose(request))
    return Created(id=customer_id)


@router.get("/{customer_id}", response_model=CustomerView, response_model_exclude_unset=True)
def read_customer(
    customer_id: CustomerId,
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("customer:read", "break_glass"))],
    unmask: bool = False,
    x_legal_basis: Annotated[str | None, Header(max_length=200, description="legal staff: the recorded legal basis")
                             ] = None,
    x_break_glass: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Masked unless ``unmask=true`` by a role that may unmask, with ``X-Access-Purpose`` stated."""
    return services.customers.read(
        customer_id, actor, purpose=stated_purpose(request), unmask=unmask,
        legal_basis=stated_legal_basis(request), break_glass=x_break_glass,
    )


@router.post("/search", response_model=CustomerIds)
def search_customers(
    query: CustomerSearch,
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("customer:search"))],
) -> dict[str, list[str]]:
    """Exact lookup through the blind index; the value travels in the body, never in the URL."""
    ids = services.customers.find(query.kind, query.value, actor, purpose=stated_purpose(request),
                                  scope=query.country or "" if query.kind == "national_id" else "",
                                  legal_basis=stated_legal_basis(request))
    return {"ids": ids}


@router.delete("/{customer_id}", status_code=204)
def purge_customer(
    customer_id: CustomerId,
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    actor: Annotated[Actor, Depends(require("customer:purge"))],
) -> None:
    """Crypto-shred the record. Refused (403) while a legal hold covers it, and before its retention
    period ends unless ``X-Legal-Basis`` names a registered court order or statutory deletion covering it.
    The 204 answers the committed purge; what leaves no readable old wrapped key in any file (SQLite's
    checkpoint, PostgreSQL's new purge epoch re-wrapping every other data key) runs right after it,
    off the request's path (``docs/purge.md``)."""
    services.customers.purge(customer_id, actor, purpose=stated_purpose(request) or "",
                             legal_basis=stated_legal_basis(request), shred=False)
    background.add_task(services.customers.shred_files, actor)
