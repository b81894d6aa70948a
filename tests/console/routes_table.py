"""B4: who may open each console route, one row per route, as the README's role table grants it.

Console routes take a person's session (cookie), never an API key. The test
(``tests/console/test_console_routes.py``) calls every row as each person role and without a session;
a console route missing from this table fails it. ``allowed`` holds roles; ``PUBLIC`` routes need no
session. ``ok`` is what a permitted call answers (a set where it differs by role, e.g. a redirect to
the person's first page). ``url`` placeholders in braces are filled by the test's fixtures (a name
starting with ``fresh_`` makes a new object for each call); ``data`` is the form posted (the CSRF
token is added by the test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudcip.profiles import default_policy_text

PUBLIC = frozenset({"(anyone)"})
PEOPLE = frozenset({"analyst", "compliance-officer", "legal", "auditor", "admin"})
REVIEWERS = frozenset({"analyst", "compliance-officer"})  # application:decide, screening:adjudicate, screening:read
RECORD_READERS = frozenset({"analyst", "compliance-officer", "legal"})  # customer:read, customer:search
UNMASKERS = frozenset({"compliance-officer", "legal"})
LEDGER_READERS = frozenset({"compliance-officer", "auditor"})
OFFICER = frozenset({"compliance-officer"})
INCIDENT_READERS = frozenset({"analyst", "compliance-officer", "legal"})
LEGAL = frozenset({"legal"})  # legal_process:write, legal_hold:release, production:create
LEGAL_READERS = frozenset({"legal", "compliance-officer"})  # legal_process:read, legal_hold:place
RESELLER_READERS = frozenset({"analyst", "compliance-officer"})  # reseller:read (reseller:write: OFFICER)
EXEMPTION_READERS = frozenset({"compliance-officer", "auditor"})  # exemption:read


@dataclass(frozen=True)
class ConsoleRoute:
    method: str
    path: str  # as FastAPI declares it
    allowed: frozenset[str]
    ok: frozenset[int]
    url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    why: str = ""


def ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


STATED = {"purpose": "routes matrix", "legal_basis": "matrix basis 1"}

ROUTES: list[ConsoleRoute] = [
    # signing in and out
    ConsoleRoute("GET", "/console/login", PUBLIC, ok(200, 303)),
    ConsoleRoute("POST", "/console/login", PUBLIC, ok(403), why="refused without the sign-in form's own token"),
    ConsoleRoute("POST", "/console/logout", PEOPLE, ok(200)),
    ConsoleRoute("GET", "/console", PEOPLE, ok(200, 303), why="to the person's first page, or a home page"),
    ConsoleRoute("GET", "/console/", PEOPLE, ok(200, 303)),
    # the review queue and exact search (A6, D5, B2)
    ConsoleRoute("GET", "/console/queue", REVIEWERS, ok(200)),
    ConsoleRoute("POST", "/console/queue/claim", REVIEWERS, ok(303), data={"item": "case:{fresh_case_id}"}),
    ConsoleRoute("POST", "/console/queue/release", REVIEWERS, ok(303), data={"item": "case:{case_id}"}),
    ConsoleRoute("POST", "/console/queue/next", REVIEWERS, ok(303)),
    ConsoleRoute("POST", "/console/queue/bulk", REVIEWERS, ok(303), data={"action": "release", "items": "case:x"}),
    ConsoleRoute("POST", "/console/search", RECORD_READERS, ok(200),
                 data={"kind": "email", "value": "nobody@example.org", **STATED}),
    # account 360 (B3, B4, C3)
    ConsoleRoute("GET", "/console/accounts/{customer_id}", RECORD_READERS, ok(200)),
    ConsoleRoute("POST", "/console/accounts/{customer_id}/purpose", RECORD_READERS, ok(303), data=STATED),
    ConsoleRoute("POST", "/console/accounts/{customer_id}/unmask", UNMASKERS, ok(303), data=STATED),
    ConsoleRoute("POST", "/console/accounts/{customer_id}/mask", RECORD_READERS, ok(303)),
    ConsoleRoute("GET", "/console/map/world.svg", PUBLIC, ok(200), why="the base map: no personal data"),
    ConsoleRoute("MOUNT", "/console/static", PUBLIC, ok(200), url="/console/static/console.css"),
    # the ledger (B3)
    ConsoleRoute("GET", "/console/ledger", LEDGER_READERS, ok(200)),
    ConsoleRoute("GET", "/console/ledger/proof/{index}", LEDGER_READERS, ok(200), url="/console/ledger/proof/0"),
    ConsoleRoute("GET", "/console/ledger/proofs", LEDGER_READERS, ok(200), url="/console/ledger/proofs?index=0"),
    ConsoleRoute("GET", "/console/ledger/public-key", LEDGER_READERS, ok(200)),
    # cases and hits (A6, D5): the decision posts without confirm=1 answer with the preview
    ConsoleRoute("GET", "/console/cases/{case_id}", REVIEWERS, ok(200)),
    ConsoleRoute("POST", "/console/cases/{case_id}/review", REVIEWERS, ok(200),
                 url="/console/cases/{fresh_case_id}/review",
                 data={"decision": "approved", "reason": "documents checked", "expected_state": "in_review"}),
    ConsoleRoute("POST", "/console/cases/{case_id}/claim", REVIEWERS, ok(303),
                 url="/console/cases/{fresh_case_id}/claim"),
    ConsoleRoute("GET", "/console/hits/{hit_id}", REVIEWERS, ok(200)),
    ConsoleRoute("POST", "/console/hits/{hit_id}/decision", REVIEWERS, ok(200),
                 url="/console/hits/{fresh_hit_id}/decision",
                 data={"decision": "escalated", "reason": "same birth year", "expected_state": "open"}),
    ConsoleRoute("POST", "/console/hits/{hit_id}/claim", REVIEWERS, ok(303),
                 url="/console/hits/{fresh_hit_id}/claim"),
    # four eyes (B4, D1, A6)
    ConsoleRoute("GET", "/console/approvals", OFFICER, ok(200)),
    ConsoleRoute("POST", "/console/approvals/{change_id}/{action}", OFFICER, ok(303),
                 url="/console/approvals/{fresh_change_id}/reject", data={"reason": "not this way"}),
    # measures, lists, re-screening (D1, D3, D4)
    ConsoleRoute("GET", "/console/measures", REVIEWERS, ok(200)),
    ConsoleRoute("POST", "/console/measures/propose", OFFICER, ok(303),
                 data={"kind": "jurisdiction", "target": "KP", "measure": "prohibit",
                       "determination_date": "2026-01-05", "reason": "Commerce determination"}),
    ConsoleRoute("POST", "/console/measures/{measure_id}/revoke", OFFICER, ok(303),
                 url="/console/measures/{fresh_measure_id}/revoke", data={"reason": "lifted"}),
    ConsoleRoute("GET", "/console/lists", REVIEWERS, ok(200)),
    ConsoleRoute("GET", "/console/lists/{source}/diff", REVIEWERS, ok(200),
                 url="/console/lists/test/diff?older=1&newer=1"),
    ConsoleRoute("GET", "/console/rescreens", REVIEWERS, ok(200)),
    ConsoleRoute("GET", "/console/rescreens/progress", REVIEWERS, ok(200)),
    # incident reports (G4)
    ConsoleRoute("GET", "/console/incidents", INCIDENT_READERS, ok(200)),
    ConsoleRoute("POST", "/console/incidents", REVIEWERS, ok(303),
                 data={"account_id": "{account_id}", "summary": "abuse seen"}),
    ConsoleRoute("GET", "/console/incidents/{incident_id}", INCIDENT_READERS, ok(200)),
    ConsoleRoute("POST", "/console/incidents/{incident_id}/purpose", INCIDENT_READERS, ok(303), data=STATED),
    # shared indicators (G3): read as GET /v1/sharing/matches is (sharing:adjudicate)
    ConsoleRoute("GET", "/console/indicators", REVIEWERS, ok(200)),
    ConsoleRoute("GET", "/console/indicators/{indicator_id}", REVIEWERS, ok(200),
                 url="/console/indicators/{indicator_id}?source=local"),
    ConsoleRoute("POST", "/console/indicators/{indicator_id}/purpose", REVIEWERS, ok(303),
                 url="/console/indicators/{indicator_id}/purpose?source=local", data=STATED),
    # legal processes and holds (B1, B4, B5)
    ConsoleRoute("GET", "/console/legal", LEGAL_READERS, ok(200)),
    ConsoleRoute("POST", "/console/legal/processes", LEGAL, ok(303),
                 data={"kind": "subpoena", "authority": "District Court", "reference": "matrix-1",
                       "customers": "{customer_id}"}),
    ConsoleRoute("GET", "/console/legal/processes/{process_id}", LEGAL_READERS, ok(200)),
    ConsoleRoute("POST", "/console/legal/processes/{process_id}/close", LEGAL, ok(303),
                 url="/console/legal/processes/{fresh_process_id}/close"),
    ConsoleRoute("POST", "/console/legal/processes/{process_id}/holds", LEGAL_READERS, ok(303)),
    ConsoleRoute("POST", "/console/legal/holds/{hold_id}/release", LEGAL, ok(303),
                 url="/console/legal/holds/{fresh_hold_id}/release", data={"reason": "order lifted"}),
    # productions (B5)
    ConsoleRoute("GET", "/console/productions", LEGAL, ok(200)),
    ConsoleRoute("POST", "/console/productions", LEGAL, ok(200), data={"process_id": "{process_id}"},
                 why="the signed package, downloaded"),
    ConsoleRoute("POST", "/console/productions/verify", LEGAL, ok(422),
                 why="the table posts no file: refused naming the package field"),
    # reporting to Commerce (H1, H3)
    ConsoleRoute("GET", "/console/certification", OFFICER, ok(200)),
    ConsoleRoute("POST", "/console/certification/file", OFFICER, ok(303)),
    ConsoleRoute("GET", "/console/roster", OFFICER, ok(200)),
    ConsoleRoute("POST", "/console/roster", OFFICER, ok(200), data={"purpose": "routes matrix", "sample": "2"}),
    # the reseller register and its oversight (E1, E3)
    ConsoleRoute("GET", "/console/resellers", RESELLER_READERS, ok(200)),
    ConsoleRoute("GET", "/console/resellers/{reseller_id}", RESELLER_READERS, ok(200),
                 why="the purpose prompt, or the reseller once a purpose is stated"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/purpose", RESELLER_READERS, ok(303), data=STATED),
    ConsoleRoute("GET", "/console/resellers/{reseller_id}/cip/{version}", RESELLER_READERS, ok(200, 303),
                 url="/console/resellers/{reseller_id}/cip/1",
                 why="the document under a stated purpose, else back to the purpose prompt"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/reviews", OFFICER, ok(303),
                 url="/console/resellers/{fresh_reseller_id}/reviews"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/sample", OFFICER, ok(422),
                 why="the table names no open review: refused naming the field, nothing drawn"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/results", OFFICER, ok(422),
                 why="no sampled item chosen: refused naming the field"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/findings", OFFICER, ok(200),
                 data={"kind": "observation", "reason": "routes matrix"}, why="the preview of what it will change"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/remediation", OFFICER, ok(409),
                 data={"reason": "routes matrix", "evidence": "matrix evidence"},
                 why="no termination clock is running: refused as a page"),
    ConsoleRoute("POST", "/console/resellers/{reseller_id}/termination", OFFICER, ok(200),
                 data={"reason": "routes matrix"}, why="the preview of what it will change"),
    # the exemption register and its evidence (F1, F2)
    ConsoleRoute("GET", "/console/exemptions", EXEMPTION_READERS, ok(200)),
    ConsoleRoute("GET", "/console/exemptions/evidence", EXEMPTION_READERS, ok(200),
                 url="/console/exemptions/evidence?from=2026-01-01&to=2026-02-01"),
    ConsoleRoute("GET", "/console/exemptions/evidence.css", EXEMPTION_READERS, ok(200),
                 why="the evidence pack's stylesheet, served so the CSP needs no inline style"),
    ConsoleRoute("GET", "/console/exemptions/{exemption_id}", EXEMPTION_READERS, ok(200)),
    # the CIP policy in force, changed through four eyes (A8, B4)
    ConsoleRoute("GET", "/console/policy", OFFICER, ok(200)),
    ConsoleRoute("POST", "/console/policy/propose", OFFICER, ok(303),
                 data={"policy": default_policy_text().replace('version: "2024.1"', 'version: "2026.9"', 1),
                       "reason": "routes matrix"}),
]
