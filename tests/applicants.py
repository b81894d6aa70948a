"""The applicants the tests submit, written once (A1, A3).

Anna Schmidt, a German resident, as an application (``POST /v1/applications``: her passport, the account
she opens, the signup IP and the notice she saw) and as a customer record (``POST /v1/customers``: her
identity card); Nordlicht Rechenzentrum GmbH, a German company with a Swedish owner, as a customer record.
A test takes its own copy with what it changes: ``applicant(APPLICATION, email="anna@example.de")``;
``applicant(CUSTOMER, **APPLYING)`` makes the record an application. A change to ``DROP`` removes the field.
"""

from __future__ import annotations

import copy
from typing import Any, Final

DROP: Final = object()  # a change that removes the field

ADDRESS: dict[str, str] = {"line1": "Invalidenstr. 117", "city": "Berlin", "postal_code": "10115", "country": "DE"}

#: what an application adds to a customer record: the account, the signup IP, the notice seen (A1, A8)
APPLYING: dict[str, Any] = {
    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "192.0.2.10",
    "notice_version": "notice-2024-01",
}

CUSTOMER: dict[str, Any] = {
    "kind": "individual", "name": {"given": "Anna", "family": "Schmidt"}, "birth_date": "1984-03-09",
    "nationality": "DE", "national_id": {"country": "DE", "number": "T22000129", "kind": "id_card"},
    "address": ADDRESS, "email": "anna.schmidt@example.de", "phone": "+4930901820",
    "payment_means": [{"type": "card", "number": "4111111111111111", "expiry": "2029-04"}],
}

APPLICATION: dict[str, Any] = {
    **CUSTOMER, "national_id": {"country": "DE", "number": "C01X00T47", "kind": "passport"},
    "phone": "+4915123456789", **APPLYING,
}

ENTITY: dict[str, Any] = {
    "kind": "entity", "legal_name": "Nordlicht Rechenzentrum GmbH",
    "registration": {"country": "DE", "number": "HRB 123456"},
    "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"},
    "email": "ops@nordlicht.example", "phone": "+494012345678",
    "beneficial_owners": [{"name": {"given": "Jonas", "family": "Berg"}, "birth_date": "1970-01-02",
                           "nationality": "SE", "ownership_percent": 60}],
    "payment_means": [{"type": "bank_account", "iban": "DE89370400440532013000"}],
}


def applicant(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``template`` with ``changes`` (top-level fields; ``DROP`` removes one)."""
    body = copy.deepcopy(template)
    for name, value in changes.items():
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = copy.deepcopy(value)
    return body
