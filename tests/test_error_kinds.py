"""Every error cloudcip raises on purpose is a kind of ``cloudcip.errors`` (one mapping for the API and
the CLI), keeps the builtin parent callers rely on, says nothing of the id or value it was given in its
public detail (B2, B4), and survives a trip through a worker process (pickling)."""

from __future__ import annotations

import pickle

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cloudcip.access.events import AccessBatchError, EventError
from cloudcip.api.errors import install_error_handlers
from cloudcip.crypto.envelope import SealError
from cloudcip.crypto.keyring import KeyringError
from cloudcip.domain.verification_case import IllegalTransition
from cloudcip.errors import CloudcipError
from cloudcip.identity.payment import BinTableError
from cloudcip.identity.problems import FieldProblem, IdentityFieldError
from cloudcip.jobs.webhooks import WebhookPayloadError
from cloudcip.ledger.merkle import ProofError
from cloudcip.ledger.store import LedgerEntryNotFound
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged
from cloudcip.records.roles import AccessRefused
from cloudcip.resellers.sub_lessees import ResellerAccountClosed, ResellerAccountNotFound, SubLesseeNotFound
from cloudcip.runtime import NotInitialised
from cloudcip.screening.hits import DecisionRefused, HitNotFound
from cloudcip.screening.loaders import ListFormatError
from cloudcip.screening.measures import MeasureNotFound, MeasureRefused
from cloudcip.screening.names import InvalidNameError
from cloudcip.screening.service import QueryFieldError
from cloudcip.screening.snapshots import SnapshotNotFound
from cloudcip.verification.errors import ApplicationNotFound, EvidenceRefused, IdempotencyConflict
from cloudcip.verification.policy import NoPolicyRule, PolicyError
from cloudcip.verification.profile import ProfileError
from cloudcip.verification.vendors import VendorPayloadError, VendorSignatureError

SECRET = "4111111111111111"  # stands for any id or value a caller passed in

# error, HTTP status, CLI exit code, the builtin parent callers may catch
CASES: list[tuple[CloudcipError, int, int, type[Exception]]] = [
    (BinTableError("line 3: country must be an ISO 3166-1 alpha-2 code"), 422, 2, ValueError),
    (IdentityFieldError([FieldProblem("email", "not an e-mail address")]), 422, 2, ValueError),
    (IdempotencyConflict("this Idempotency-Key was used with a different request body"), 409, 5, Exception),
    (ApplicationNotFound(SECRET), 404, 3, LookupError),
    (EvidenceRefused("email code not accepted: wrong code"), 409, 5, ValueError),
    (VendorPayloadError("verification.status: unknown Veriff status"), 422, 2, ValueError),
    (VendorSignatureError("X-HMAC-SIGNATURE does not verify"), 401, 4, ValueError),
    (PolicyError(["rules.0.evidence: unknown evidence"]), 422, 2, ValueError),
    (NoPolicyRule("no rule for account_type=standard"), 500, 1, LookupError),
    (ProfileError(["retention.extra: unknown key"]), 422, 2, ValueError),
    (WebhookPayloadError("payload key data.name does not name an id or a state"), 422, 2, ValueError),
    (CustomerNotFound(SECRET), 404, 3, LookupError),
    (CustomerPurged(SECRET), 410, 6, LookupError),
    (AccessRefused("role analyst may not unmask customer records"), 403, 4, PermissionError),
    (MeasureRefused("effective_date", "before the lead time"), 422, 2, ValueError),
    (MeasureNotFound(SECRET), 404, 3, LookupError),
    (HitNotFound(SECRET), 404, 3, LookupError),
    (DecisionRefused("reason", "clearing a hit as a false positive needs a reason"), 422, 2, ValueError),
    (QueryFieldError("nationality", "must be an ISO 3166-1 alpha-2 code"), 422, 2, ValueError),
    (InvalidNameError("name is empty (no letters or digits)"), 422, 2, ValueError),
    (ListFormatError("sdn.csv", "line 2", "bytes that are not UTF-8"), 422, 2, ValueError),
    (SnapshotNotFound("no such snapshot"), 404, 3, LookupError),
    (NotInitialised("the database schema is not up to date; run `cloudcip init`"), 503, 2, RuntimeError),
    (EventError("time is missing"), 422, 2, ValueError),
    (AccessBatchError([(1, "time is missing"), (7, "ip is not a valid IP address")], truncated=3), 422, 2,
     ValueError),
    (SealError("customer.name: sealed value does not open for this row"), 500, 1, ValueError),
    (KeyringError("keyring names an active key-encryption key it does not hold"), 500, 1, RuntimeError),
    (ProofError("the audit path does not lead from the leaf to the root"), 422, 2, ValueError),
    (LedgerEntryNotFound(999_999), 404, 3, IndexError),
    (ResellerAccountNotFound(SECRET), 404, 3, LookupError),
    (ResellerAccountClosed(SECRET), 409, 5, ValueError),
    (SubLesseeNotFound(SECRET), 404, 3, LookupError),
    (IllegalTransition("approved", "in_review"), 409, 5, ValueError),
]


@pytest.mark.parametrize(("error", "status", "exit_code", "builtin"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_is_a_kind_with_its_builtin_parent(error: CloudcipError, status: int, exit_code: int,
                                                      builtin: type[Exception]) -> None:
    assert isinstance(error, CloudcipError) and isinstance(error, builtin)
    assert (error.status, error.exit_code) == (status, exit_code)
    assert SECRET not in error.public_detail and SECRET not in str(error.body())
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.public_detail == error.public_detail
    assert again.__dict__ == error.__dict__ and again.body() == error.body()


def test_the_api_answers_each_kind_through_the_one_handler() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom/{number}")
    def boom(number: int) -> None:
        raise CASES[number][0]

    client = TestClient(app, raise_server_exceptions=False)
    for number, (error, status, _exit, _builtin) in enumerate(CASES):
        answer = client.get(f"/boom/{number}")
        assert answer.status_code == status, type(error).__name__
        assert answer.json() == error.body()
        assert SECRET not in answer.text
    batch = client.get(f"/boom/{[type(c[0]) for c in CASES].index(AccessBatchError)}").json()
    assert batch["errors"] == [{"line": 1, "reason": "time is missing"},
                               {"line": 7, "reason": "ip is not a valid IP address"}]
    assert batch["more_errors"] == 3 and batch["error"] == "batch rejected"
    signature = client.get(f"/boom/{[type(c[0]) for c in CASES].index(VendorSignatureError)}")
    assert "www-authenticate" not in signature.headers  # a webhook's signature, not a bearer key
