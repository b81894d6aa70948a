"""Builders the incident, sharing and linkage tests share: a stored customer with an account and its
access history, built through the same stores the service uses (generated, made-up data)."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import insert

from cloudcip.access.events import AccessEvent
from cloudcip.access.store import ingest
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

SIGNUP = Actor("test:signup", "signup-service")
OFFICER = Actor("test:officer", "compliance-officer")
ANALYST = Actor("test:analyst", "analyst")


def person(given: str = "Jonas", family: str = "Keller", *, email: str = "jonas.keller@keller-hosting.example",
           phone: str = "+4930901820", card: str | None = "4111111111111111",
           wallet: str | None = None, national_id: str | None = "T22000129", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "individual", "name": {"given": given, "family": family}, "birth_date": "1984-03-09",
        "nationality": "DE", "address": {"line1": "Invalidenstr. 117", "city": "Berlin", "postal_code": "10115",
                                         "country": "DE"},
        "email": email, "phone": phone, "payment_means": [],
    }
    if national_id:
        body["national_id"] = {"country": "DE", "number": national_id}
    if card:
        body["payment_means"].append({"type": "card", "number": card, "expiry": "2029-04"})
    if wallet:
        body["payment_means"].append({"type": "crypto_wallet", "currency": "ETH", "address": wallet})
    body.update(extra)
    return body


def store_account(services: Services, body: dict[str, Any], *, state: str = "active",
                  accesses: Sequence[tuple[str, datetime]] = ()) -> tuple[str, str]:
    """A stored customer (``body``), one account in ``state``, and access events; (customer, account)."""
    record = TypeAdapter(CustomerRecord).validate_python(body)
    [customer_id] = services.customers.create([record], SIGNUP)
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type="standard",
                                            channel="self_serve", state=state, opened_at=datetime.now(UTC)))
    if accesses:
        ingest(services.database, [
            AccessEvent(account_id=account_id, principal="root", time=at, ip=ipaddress.ip_address(ip),
                        action="console.login", id=f"{account_id}-{n}") for n, (ip, at) in enumerate(accesses)],
            enrich=None)
    return customer_id, account_id
