"""The authorization matrix of the API: every route, the roles that may call it, and the answer a
permitted call gets (B4). A compliance reviewer reads this file; the README's role table says the same
in words (both come from ``records/roles.py``, checked by ``tests/records/test_roles_table.py``).

``tests/api/test_authorization_matrix.py`` calls every route listed here as every role, and with no
key, a bogus key, a revoked key and an expired key:

- a role in ``allowed`` gets ``ok`` (each call states a purpose and a legal basis; admin reads a
  record only by breaking the glass, so its call adds ``X-Break-Glass``);
- every other role gets 403;
- no key, a bogus key, a revoked key and an expired key get 401;
- a ``PUBLIC`` route needs no key and answers ``ok`` to anyone.

**Adding an endpoint? Add its row to ``ROUTES``** (method and path exactly as FastAPI declares the
route). Placeholders in ``{braces}`` in ``url`` are filled by ``Fixtures`` in
``tests/api/test_authorization_matrix.py`` (add a fixture there for a new kind of id; a name starting
with ``fresh_`` gives a new object for every call, for routes that consume what they act on).
``STATEMENTS`` lists the calls refused because a purpose, a legal basis or the break-glass reason
was not stated although the role holds the permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests import applicants
from tests.applicants import applicant

PUBLIC = frozenset({"(anyone)"})

SIGNUP = frozenset({"signup-service"})
INGEST = frozenset({"event-ingest"})
ANALYSTS = frozenset({"analyst", "compliance-officer"})
OFFICER = frozenset({"compliance-officer"})
RECORD_READERS = frozenset({"analyst", "compliance-officer", "legal"})
LEDGER_READERS = frozenset({"compliance-officer", "auditor"})
ADMIN = frozenset({"admin"})
APPLICATION_READERS = frozenset({"signup-service", "analyst", "compliance-officer"})
LEGAL = frozenset({"legal"})
EXEMPTION_READERS = frozenset({"compliance-officer", "auditor"})
TAXII_READERS = frozenset({"peer", "analyst", "compliance-officer"})
TAXII = {"Accept": "application/taxii+json;version=2.1"}

CUSTOMER: dict[str, Any] = applicant(applicants.CUSTOMER)
APPLICATION: dict[str, Any] = applicant(applicants.APPLICATION)
MEASURE: dict[str, Any] = {"kind": "jurisdiction", "target": "IR", "measure": "conditions",
                           "conditions": ["no_gpu"], "determination_date": "2026-01-05"}
EVENTS: list[dict[str, str]] = [{"id": f"m-{n}", "account_id": "acct-m", "principal": "user:1",
                                 "time": "2026-10-01T08:00:00Z", "ip": "198.51.100.7", "action": "console.login",
                                 "kind": "access"} for n in range(2)]
OWNER: dict[str, Any] = {"name": {"given": "Jonas", "family": "Berg"}, "birth_date": "1970-01-02",
                         "nationality": "SE", "ownership_percent": 30}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as FastAPI declares it
    allowed: frozenset[str]
    ok: int  # what a permitted call answers
    url: str | None = None  # the URL called (placeholders filled by the fixtures); default: ``path``
    body: Any = None  # placeholders in its string values are filled too
    raw: bool = False  # send ``body`` as JSON text in the request body (not as ``json=``)
    why: str = ""  # why ``ok`` is not a plain success
    headers: dict[str, str] = field(default_factory=dict)  # sent with every call of the row


ROUTES: list[Route] = [
    # customer records (A3, B2, B4)
    Route("POST", "/v1/customers", SIGNUP, 201, body=CUSTOMER),
    Route("GET", "/v1/customers/{customer_id}", RECORD_READERS | ADMIN, 200,
          why="admin reads only by breaking the glass (its call sends X-Break-Glass)"),
    Route("POST", "/v1/customers/search", RECORD_READERS, 200, body={"kind": "email", "value": "x@example.org"}),
    Route("DELETE", "/v1/customers/{customer_id}", ADMIN, 204, url="/v1/customers/{fresh_customer_id}"),
    # the ledger (B3)
    Route("GET", "/v1/ledger/tree-head", LEDGER_READERS, 200),
    Route("GET", "/v1/ledger/proof/{index}", LEDGER_READERS, 200, url="/v1/ledger/proof/0"),
    Route("GET", "/v1/ledger/public-key", LEDGER_READERS, 200),
    # screening, measures, hits (D1, D3, D5)
    Route("GET", "/v1/lists", ANALYSTS, 200),
    Route("GET", "/v1/measures", ANALYSTS, 200),
    Route("POST", "/v1/measures", OFFICER, 201, body=MEASURE),
    Route("POST", "/v1/measures/{measure_id}/extend", OFFICER, 200, body={"days": 30, "reason": "renewed"}),
    Route("POST", "/v1/measures/{measure_id}/revoke", OFFICER, 200, url="/v1/measures/{fresh_measure_id}/revoke",
          body={"reason": "lifted"}),
    Route("POST", "/v1/screen", ANALYSTS, 200, body={"name": "Anna Schmidt"}),
    Route("GET", "/v1/hits", ANALYSTS, 200),
    Route("GET", "/v1/hits/{hit_id}", ANALYSTS, 200),
    # the service's metrics (B3, B4): a key of admin or auditor, as Prometheus's bearer token
    Route("GET", "/metrics", frozenset({"admin", "auditor"}), 200),
    Route("POST", "/v1/hits/{hit_id}/decision", ANALYSTS, 200, url="/v1/hits/{fresh_hit_id}/decision",
          body={"state": "escalated"}),
    # applications and their cases (A2-A8)
    Route("POST", "/v1/applications", SIGNUP, 201, body=APPLICATION),
    Route("GET", "/v1/applications/{application_id}", APPLICATION_READERS, 200),
    Route("POST", "/v1/applications/{application_id}/evidence", SIGNUP, 200,
          url="/v1/applications/{fresh_application_id}/evidence",
          body={"method": "payment_check", "outcome": "inconclusive"}),
    Route("POST", "/v1/applications/{application_id}/review", ANALYSTS, 200,
          url="/v1/applications/{fresh_application_id}/review",
          body={"to_state": "approved", "reason": "documents checked"}),
    Route("POST", "/v1/applications/{application_id}/redress", OFFICER, 409,
          url="/v1/applications/{fresh_application_id}/redress", body={"reason": "customer wrote"},
          why="authorised, but a pending case is not refused, closed or restricted (the 409 names its state)"),
    Route("POST", "/v1/applications/{application_id}/beneficial-owners", SIGNUP, 200,
          url="/v1/applications/{fresh_application_id}/beneficial-owners", body=OWNER),
    Route("POST", "/v1/applications/{application_id}/otp/{channel}", SIGNUP, 202,
          url="/v1/applications/{fresh_application_id}/otp/email"),
    Route("POST", "/v1/applications/{application_id}/otp/{channel}/confirm", SIGNUP, 409,
          url="/v1/applications/{fresh_application_id}/otp/email/confirm", body={"code": "000000"},
          why="authorised, but no code was issued on this channel"),
    Route("GET", "/v1/notices", APPLICATION_READERS, 200),
    Route("GET", "/v1/notices/{version}", APPLICATION_READERS, 200, url="/v1/notices/notice-2024-01"),
    Route("POST", "/v1/vendors/veriff/decision", PUBLIC, 404, body={},
          why="authenticated by Veriff's HMAC signature, not an API key; 404 while no secret is configured"),
    # the access ledger (C1-C4)
    Route("POST", "/v1/access-events", INGEST, 200, body=EVENTS, raw=True),
    Route("GET", "/v1/accounts/{account_id}/access", RECORD_READERS, 200),
    Route("GET", "/v1/access", RECORD_READERS, 200, url="/v1/access?ip=198.51.100.0/24"),
    Route("POST", "/v1/access/search", RECORD_READERS, 200, body={"ip": "198.51.100.0/24"}),
    Route("GET", "/v1/accounts/{account_id}/signals", RECORD_READERS, 200),
    # sub-lessees of Reseller Accounts (E2)
    Route("POST", "/v1/resellers/{account_id}/sub-lessees", SIGNUP, 201,
          url="/v1/resellers/{reseller_account_id}/sub-lessees",
          body={"reference": "r-matrix", "kind": "entity", "legal_name": "Acme Hosting", "country": "DE"}),
    Route("GET", "/v1/resellers/{account_id}/sub-lessees", ANALYSTS, 200,
          url="/v1/resellers/{reseller_account_id}/sub-lessees"),
    Route("DELETE", "/v1/resellers/{account_id}/sub-lessees/{sub_lessee_id}", SIGNUP, 200,
          url="/v1/resellers/{reseller_account_id}/sub-lessees/{sub_lessee_id}"),
    # the reseller register, its oversight and termination clocks (E1, E3)
    Route("POST", "/v1/resellers", OFFICER, 201,
          body={"customer_id": "{fresh_customer_id}", "contact": "cip@reseller.example"}),
    Route("GET", "/v1/resellers", ANALYSTS, 200),
    Route("GET", "/v1/resellers/{reseller_id}", ANALYSTS, 200),
    Route("POST", "/v1/resellers/{reseller_id}/certifications", OFFICER, 200, body={"certified_on": "2026-01-05"}),
    Route("POST", "/v1/resellers/{reseller_id}/cip-documents", OFFICER, 201, body="our written CIP", raw=True),
    Route("GET", "/v1/resellers/{reseller_id}/cip-documents", ANALYSTS, 200),
    Route("GET", "/v1/resellers/{reseller_id}/cip-documents/{version}", ANALYSTS, 200,
          url="/v1/resellers/{cip_reseller_id}/cip-documents/1"),
    Route("POST", "/v1/resellers/{reseller_id}/reviews", OFFICER, 201, url="/v1/resellers/{fresh_reseller_id}/reviews",
          body={"kind": "ad_hoc"}),
    Route("GET", "/v1/resellers/{reseller_id}/reviews", ANALYSTS, 200),
    Route("GET", "/v1/resellers/{reseller_id}/reviews/{review_id}", ANALYSTS, 200),
    Route("POST", "/v1/resellers/{reseller_id}/reviews/{review_id}/sample", OFFICER, 200,
          body={"size": 10, "seed": 1}, why="the sample is drawn once; the same size and seed answer it again"),
    Route("POST", "/v1/resellers/{reseller_id}/reviews/{review_id}/items/{sub_lessee_id}", OFFICER, 200,
          url="/v1/resellers/{reseller_id}/reviews/{review_id}/items/{review_sub_lessee_id}",
          body={"result": "adequate"}),
    Route("POST", "/v1/resellers/{reseller_id}/findings", OFFICER, 201,
          body={"kind": "observation", "reason": "contract renewal pending"}),
    Route("GET", "/v1/resellers/{reseller_id}/findings", ANALYSTS, 200),
    Route("POST", "/v1/resellers/{reseller_id}/remediation", OFFICER, 200,
          url="/v1/resellers/{fresh_terminating_reseller_id}/remediation",
          body={"reason": "remedied", "evidence": "second review: all adequate"}),
    Route("POST", "/v1/resellers/{reseller_id}/termination", OFFICER, 200,
          url="/v1/resellers/{fresh_reseller_id}/termination", body={"reason": "contract ended"}),
    Route("GET", "/v1/resellers/{reseller_id}/termination", ANALYSTS, 200),
    Route("GET", "/v1/reseller-clocks", ANALYSTS, 200),
    Route("POST", "/v1/reseller-clocks/run", OFFICER, 200, body={}),
    # incident reports (G4)
    Route("POST", "/v1/incidents", ANALYSTS, 201,
          body={"account_id": "{reseller_account_id}", "summary": "cryptomining on a stolen card"}),
    Route("GET", "/v1/incidents/{incident_id}", RECORD_READERS, 200),
    Route("GET", "/v1/incidents/{incident_id}/document", RECORD_READERS, 200),
    Route("GET", "/v1/incidents/{incident_id}/disclosures", RECORD_READERS, 200),
    Route("GET", "/v1/incidents/{incident_id}/verify", RECORD_READERS, 200),
    # linked accounts (G1)
    Route("GET", "/v1/customers/{customer_id}/links", RECORD_READERS, 200),
    Route("GET", "/v1/clusters/{cluster_id}", RECORD_READERS, 200),
    Route("POST", "/v1/links/explain", RECORD_READERS, 200, body={"first": "{customer_id}", "second": "{customer_id}"}),
    Route("GET", "/v1/accounts/{account_id}/risk", ANALYSTS, 200, url="/v1/accounts/{reseller_account_id}/risk"),
    # indicators peers share (G3): their matches, and the TAXII 2.1 server (a sub-application whose
    # discovery answers per key; its collections' own grants are tested in tests/sharing)
    Route("GET", "/v1/sharing/matches", ANALYSTS, 200),
    Route("POST", "/v1/sharing/matches/{match_id}/decision", ANALYSTS, 200,
          url="/v1/sharing/matches/{fresh_match_id}/decision", body={"decision": "false_positive", "reason": "NAT"}),
    Route("MOUNT", "/taxii2", TAXII_READERS, 200, url="/taxii2/", headers=TAXII,
          why="the TAXII 2.1 server: its discovery resource, with the TAXII media type"),
    # API keys (B4)
    Route("GET", "/v1/apikeys", ADMIN, 200),
    Route("POST", "/v1/apikeys", ADMIN, 201, body={"role": "analyst", "label": "matrix"}),
    Route("DELETE", "/v1/apikeys/{key_id}", ADMIN, 200, url="/v1/apikeys/{fresh_key_id}"),
    # accounts, retention, legal processes, holds and productions (B1, B4, B5)
    Route("POST", "/v1/accounts/{account_id}/close", SIGNUP | ADMIN, 200,
          url="/v1/accounts/{fresh_open_account_id}/close", body={}),
    Route("GET", "/v1/accounts/{account_id}", RECORD_READERS, 200, url="/v1/accounts/{open_account_id}"),
    Route("GET", "/v1/retention/plan", OFFICER | ADMIN, 200),
    Route("POST", "/v1/retention/run", ADMIN, 200, body={}),
    Route("POST", "/v1/legal/processes", LEGAL, 201,
          body={"kind": "subpoena", "authority": "Grand jury", "reference": "GJ-1", "customers": ["c-1"]}),
    Route("GET", "/v1/legal/processes", LEGAL | OFFICER, 200),
    Route("GET", "/v1/legal/processes/{process_id}", LEGAL | OFFICER, 200),
    Route("POST", "/v1/legal/processes/{process_id}/close", LEGAL, 200,
          url="/v1/legal/processes/{fresh_process_id}/close"),
    Route("POST", "/v1/legal/processes/{process_id}/productions", LEGAL, 200),
    Route("POST", "/v1/legal/holds", LEGAL | OFFICER, 201, body={"process_id": "{process_id}"}),
    Route("GET", "/v1/legal/holds", LEGAL | OFFICER, 200),
    Route("GET", "/v1/legal/holds/{hold_id}", LEGAL | OFFICER, 200),
    Route("POST", "/v1/legal/holds/{hold_id}/release", LEGAL, 200, url="/v1/legal/holds/{fresh_hold_id}/release",
          body={"reason": "case closed"}),
    # reporting to Commerce (H1, H3)
    Route("GET", "/v1/certification", OFFICER, 200),
    Route("POST", "/v1/certification/filings", OFFICER, 422, body={},
          why="authorised, but no CIP contact is set, which filing needs"),
    Route("PUT", "/v1/reporting/contact", OFFICER, 204, body={"name": "Dana Reyes", "email": "cip@provider.example"}),
    Route("POST", "/v1/roster/export", OFFICER, 200, body={"format": "csv"}),
    # exemptions and the abuse-deterrence evidence (F1, F2)
    Route("POST", "/v1/exemptions", OFFICER, 201,
          body={"scope": "account_type", "scope_value": "trial", "basis": "abuse-deterrence program",
                "steps": ["periodic_reverification"], "granted_at": "2026-01-01", "expires_at": "2027-01-01"}),
    Route("GET", "/v1/exemptions", EXEMPTION_READERS, 200),
    Route("GET", "/v1/exemptions/evidence", EXEMPTION_READERS, 200,
          url="/v1/exemptions/evidence?from=2026-01-01&to=2027-01-01"),
    Route("GET", "/v1/exemptions/{exemption_id}", EXEMPTION_READERS, 200),
    Route("POST", "/v1/exemptions/{exemption_id}/revocation", OFFICER, 200,
          url="/v1/exemptions/{fresh_exemption_id}/revocation", body={"reason": "program changed"}),
    Route("POST", "/v1/exemptions/{exemption_id}/notices", OFFICER, 201,
          body={"change": "signal review moved from 24 to 48 hours"}),
    # the attestation, what is due, CIP copy requests (H2, H3)
    Route("GET", "/v1/attestation", OFFICER, 200),
    Route("POST", "/v1/attestation/filings", OFFICER, 201, body={}),
    Route("GET", "/v1/reporting/due", OFFICER, 200),
    Route("POST", "/v1/reporting/cip-copy-requests", OFFICER, 201, body={"requester": "Department of Commerce"}),
    Route("GET", "/v1/reporting/cip-copy-requests", OFFICER, 200),
    Route("POST", "/v1/reporting/cip-copy-requests/{request_id}/answer", OFFICER, 200,
          url="/v1/reporting/cip-copy-requests/{fresh_cip_request_id}/answer"),
    # service routes without personal data
    Route("GET", "/healthz", PUBLIC, 200),
    Route("GET", "/openapi.json", PUBLIC, 200),
    Route("GET", "/docs", PUBLIC, 200),
    Route("GET", "/docs/oauth2-redirect", PUBLIC, 200),
    Route("GET", "/redoc", PUBLIC, 200),
    Route("MOUNT", "/docs/assets", PUBLIC, 200, url="/docs/assets/swagger-ui.css"),
]


@dataclass(frozen=True)
class Statement:
    """A call by a role that holds the permission but leaves out what it must state: 403."""

    method: str
    url: str
    role: str
    headers: dict[str, str] = field(default_factory=dict)  # what it does state
    body: Any = None


PURPOSE = {"X-Access-Purpose": "case 12"}
BASIS = {"X-Legal-Basis": "subpoena 2026-17"}

STATEMENTS: list[Statement] = [
    Statement("GET", "/v1/customers/{customer_id}", "legal", PURPOSE),  # no legal basis
    Statement("GET", "/v1/customers/{customer_id}", "legal", BASIS),  # no purpose
    Statement("GET", "/v1/customers/{customer_id}", "admin", PURPOSE),  # no break-glass reason
    Statement("GET", "/v1/customers/{customer_id}?unmask=true", "compliance-officer"),  # no purpose
    Statement("GET", "/v1/customers/{customer_id}?unmask=true", "legal", PURPOSE),
    Statement("POST", "/v1/customers/search", "legal", PURPOSE, body={"kind": "email", "value": "x@example.org"}),
    Statement("DELETE", "/v1/customers/{customer_id}", "admin"),  # purging needs a purpose
    Statement("GET", "/v1/accounts/{account_id}/access", "analyst"),
    Statement("GET", "/v1/accounts/{account_id}/access", "compliance-officer"),
    Statement("GET", "/v1/accounts/{account_id}/access", "legal", PURPOSE),
    Statement("GET", "/v1/accounts/{account_id}/signals", "analyst"),
    Statement("POST", "/v1/access/search", "compliance-officer", body={"ip": "198.51.100.0/24"}),
    Statement("GET", "/v1/access?ip=198.51.100.7", "legal", PURPOSE),
]
