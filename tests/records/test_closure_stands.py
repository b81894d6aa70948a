"""B1: the provider's closure of an account stands. Whatever the account's verification case does after
the provider closed it (evidence completing it, a review refusing it, redress, a deadline passing, a
re-evaluation), the account stays closed and its closure time, from which its retention runs, does
not move. A closure cloudcip's own decision made (a refusal) is undone by redress, as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudcip import clock
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.runtime import Services

from .conftest import OpenAccount, auth

Step = Callable[[TestClient, dict[str, str], Services, str], None]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def complete_the_evidence(client: TestClient, keys: dict[str, str], services: Services, app_id: str) -> None:
    """The e-mail code, a vendor's document check and a payment check: what approves this case."""
    signup = auth(keys["signup-service"])
    _ok(client.post(f"/v1/applications/{app_id}/otp/email", headers=signup), 202)
    with services.database.engine.connect() as conn:
        sent = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
            webhook_outbox.c.event_type == "otp.deliver")).scalars()]
    code = next(d["code"] for d in reversed(sent) if d["application_id"] == app_id)
    _ok(client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": code}, headers=signup))
    vendor = {"vendor": "acme-idv", "reference": f"chk-{app_id[:8]}", "outcome": "verified",
              "document_type": "passport", "document_country": "DE", "document_number": "C01X00T47"}
    _ok(client.post(f"/v1/applications/{app_id}/evidence", json={"method": "vendor_idv", "vendor_result": vendor},
                    headers=signup))
    done = _ok(client.post(f"/v1/applications/{app_id}/evidence", json={"method": "payment_check",
                                                                         "outcome": "verified"}, headers=signup))
    assert done["state"] == "approved", done


def review_refuses(client: TestClient, keys: dict[str, str], services: Services, app_id: str) -> None:
    """A failed check sends the case to review; the analyst refuses it."""
    _ok(client.post(f"/v1/applications/{app_id}/evidence", json={"method": "payment_check", "outcome": "failed"},
                    headers=auth(keys["signup-service"])))
    refused = _ok(client.post(f"/v1/applications/{app_id}/review",
                              json={"to_state": "refused", "reason": "card declined twice"},
                              headers=auth(keys["analyst"])))
    assert refused["state"] == "refused", refused


def refused_then_redress(client: TestClient, keys: dict[str, str], services: Services, app_id: str) -> None:
    review_refuses(client, keys, services, app_id)
    redressed = _ok(client.post(f"/v1/applications/{app_id}/redress", json={"reason": "the customer wrote"},
                                headers=auth(keys["compliance-officer"])))
    assert redressed["state"] == "in_review", redressed


def deadline_passes(client: TestClient, keys: dict[str, str], services: Services, app_id: str) -> None:
    """The deadline job of cloudcip serve, 60 days on: the case fails and takes the failure action."""
    from cloudcip.runtime import gate_applications
    from cloudcip.verification.applications import build_application_service

    applications = gate_applications(services, build_application_service(services))
    assert applications.enforce_deadlines(clock.now() + timedelta(days=60)) >= 1
    shown = _ok(client.get(f"/v1/applications/{app_id}", headers=auth(keys["analyst"])))
    assert shown["state"] in ("refused", "restricted", "closed"), shown["state"]


def new_owner_reevaluation(client: TestClient, keys: dict[str, str], services: Services, app_id: str) -> None:
    """A re-evaluation (a notified beneficial owner) of a closed account is refused: only redress re-opens."""
    owner = {"name": {"given": "Jonas", "family": "Berg"}, "birth_date": "1970-01-02", "nationality": "SE",
             "ownership_percent": 30}
    answer = client.post(f"/v1/applications/{app_id}/beneficial-owners", json=owner,
                         headers=auth(keys["signup-service"]))
    assert answer.status_code == 409, answer.text


# Each row: what happens to the case after the provider closed the account at its opening time T.
AFTER_THE_PROVIDER_CLOSED: list[tuple[str, Step]] = [
    ("evidence completes the case: it is approved, the account is not re-opened", complete_the_evidence),
    ("a failed check, then a review refuses the case", review_refuses),
    ("refused, then redress re-opens the case for review", refused_then_redress),
    ("the verification deadline passes", deadline_passes),
    ("a new beneficial owner asks for a re-evaluation", new_owner_reevaluation),
]


@pytest.mark.requirement("B1", "A6")
@pytest.mark.control("retention.purge")
@pytest.mark.parametrize(("what", "step"), AFTER_THE_PROVIDER_CLOSED, ids=[row[0] for row in AFTER_THE_PROVIDER_CLOSED])
def test_no_decision_moves_the_closure_the_provider_reported(what: str, step: Step, client: TestClient,
                                                            keys: dict[str, str], open_account: OpenAccount,
                                                            services: Services) -> None:
    opened = open_account()
    assert opened["decision"] == "pending_evidence"
    account_id, app_id = opened["account_id"], opened["id"]
    start = _ok(client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])))["opened_at"]
    closed = _ok(client.post(f"/v1/accounts/{account_id}/close", json={"at": start},
                             headers=auth(keys["signup-service"])))
    assert (closed["state"], closed["closed_at"]) == ("closed", start)
    step(client, keys, services, app_id)
    after = _ok(client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])))
    assert (after["state"], after["closed_at"], after["retention_ends"]) == (
        "closed", start, closed["retention_ends"]), what


@pytest.mark.requirement("B1", "A6")
def test_a_refusal_closes_the_account_and_redress_re_opens_it(client: TestClient, keys: dict[str, str],
                                                              open_account: OpenAccount, services: Services) -> None:
    opened = open_account()
    account_id, app_id = opened["account_id"], opened["id"]
    review_refuses(client, keys, services, app_id)
    refused = _ok(client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])))
    assert refused["state"] == "refused" and refused["closed_at"] is not None and refused["retention_ends"]
    _ok(client.post(f"/v1/applications/{app_id}/redress", json={"reason": "the customer wrote"},
                    headers=auth(keys["compliance-officer"])))
    reopened = _ok(client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])))
    assert (reopened["state"], reopened["closed_at"], reopened["retention_ends"]) == ("pending_review", None, None)
