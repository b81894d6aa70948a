"""F1 end to end through the API: the register (grant, overlap refused naming the other, never screening or
special measures, revocation, notices), and exemptions applied in the signup decision (exactly the
exempted steps skipped, an expired exemption stops at once, a revoked one flags the accounts that used
it, a designated person is still refused)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.exemptions.conftest import ENTITY, INDIVIDUAL, Clock, auth, body, grant_body

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.exemptions.schema import exemption_use
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.snapshots import import_publication
from cloudcip.verification.schema import application

IDENTITY = "identity_verification"
OWNERS = "beneficial_owner_verification"
PERIODIC = "periodic_reverification"


def _grant(client: TestClient, keys: dict[str, str], steps: list[str], **scope: Any) -> dict[str, Any]:
    response = client.post("/v1/exemptions", json=grant_body(steps, **scope), headers=auth(keys["compliance-officer"]))
    assert response.status_code == 201, response.text
    granted: dict[str, Any] = response.json()
    return granted


def _apply(client: TestClient, keys: dict[str, str], template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    response = client.post("/v1/applications", json=body(template, **changes), headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _row(services: Services, application_id: str) -> Any:
    with services.database.engine.connect() as conn:
        return conn.execute(select(application).where(application.c.id == application_id)).one()


@pytest.mark.requirement("F1")
def test_register_grant_list_show_notice_and_revoke(client: TestClient, keys: dict[str, str], services: Services,
                                                    clock: Clock) -> None:
    officer = auth(keys["compliance-officer"])
    granted = _grant(client, keys, [IDENTITY, PERIODIC], scope="account_type", value="trial")
    assert granted["scope"] == {"kind": "account_type", "value": "trial"}
    assert granted["steps"] == [IDENTITY, PERIODIC] and granted["state"] == "active"
    assert granted["granted_at"] == "2026-01-01T00:00:00Z" and granted["expires_at"] == "2027-01-01T00:00:00Z"
    listed = client.get("/v1/exemptions", headers=auth(keys["auditor"]))
    assert [item["id"] for item in listed.json()] == [granted["id"]]
    assert client.get("/v1/exemptions?state=revoked", headers=officer).json() == []
    notice = client.post(f"/v1/exemptions/{granted['id']}/notices",
                         json={"change": "signal review moved from 24 to 48 hours"}, headers=officer)
    assert notice.status_code == 201, notice.text
    shown = client.get(f"/v1/exemptions/{granted['id']}", headers=officer).json()
    assert [n["change"] for n in shown["notices"]] == ["signal review moved from 24 to 48 hours"]
    assert client.post(f"/v1/exemptions/{granted['id']}/revocation", json={"reason": ""},
                       headers=officer).status_code == 422
    revoked = client.post(f"/v1/exemptions/{granted['id']}/revocation", json={"reason": "program changed"},
                          headers=officer)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and revoked.json()["revocation_reason"] == "program changed"
    again = client.post(f"/v1/exemptions/{granted['id']}/revocation", json={"reason": "twice"}, headers=officer)
    assert again.status_code == 409
    actions = [entry["action"] for entry in services.ledger.entries_for_record("exemption", granted["id"])]
    assert actions == ["grant", "notice", "revoke", "flag_ended"]
    assert client.get("/v1/exemptions/00000000-0000-0000-0000-000000000000", headers=officer).status_code == 404
    assert client.post("/v1/exemptions", json=grant_body([IDENTITY]), headers=auth(keys["analyst"])).status_code == 403


@dataclass(frozen=True)
class BadGrant:
    why: str
    changes: dict[str, Any]
    field: str


BAD_GRANTS = [
    BadGrant("screening is never exempted", {"steps": ["screening"]}, "steps"),
    BadGrant("special measures are never exempted", {"steps": [IDENTITY, "special_measures"]}, "steps"),
    BadGrant("an unknown step", {"steps": ["documents"]}, "steps"),
    BadGrant("an unknown scope value", {"scope": "account_type", "scope_value": "gpu"}, "scope_value"),
    BadGrant("expiry before the grant", {"expires_at": "2025-01-01"}, "expires_at"),
    BadGrant("a date that is not one", {"granted_at": "2026-02-30"}, "granted_at"),
    BadGrant("an empty basis", {"basis": " "}, "basis"),
]


@pytest.mark.requirement("F1")
@pytest.mark.parametrize("case", BAD_GRANTS, ids=lambda case: case.why)
def test_bad_grants_are_refused_naming_the_field(client: TestClient, keys: dict[str, str], case: BadGrant) -> None:
    response = client.post("/v1/exemptions", json={**grant_body([IDENTITY]), **case.changes},
                           headers=auth(keys["compliance-officer"]))
    assert response.status_code == 422, response.text
    assert case.field in response.text
    assert client.get("/v1/exemptions", headers=auth(keys["compliance-officer"])).json() == []


@pytest.mark.requirement("F1")
def test_an_overlapping_exemption_is_refused_naming_the_other(client: TestClient, keys: dict[str, str]) -> None:
    officer = auth(keys["compliance-officer"])
    first = _grant(client, keys, [IDENTITY], scope="lessee_type", value="entity")
    # the provider reaches every entity: same step, same period
    overlap = client.post("/v1/exemptions", json=grant_body([IDENTITY, PERIODIC], granted="2026-06-01",
                                                            expires="2028-01-01"), headers=officer)
    assert overlap.status_code == 409, overlap.text
    assert first["id"] in overlap.json()["detail"] and IDENTITY in overlap.json()["detail"]
    # another lessee type, another step, or a period after it: no overlap
    _grant(client, keys, [IDENTITY], scope="lessee_type", value="individual")
    _grant(client, keys, [PERIODIC])
    _grant(client, keys, [IDENTITY], scope="lessee_type", value="entity", granted="2027-01-01", expires="2028-01-01")


@dataclass(frozen=True)
class SkipCase:
    """Exempted steps -> what the foreign entity with a foreign beneficial owner still owes."""

    steps: tuple[str, ...]
    customer_owes: bool
    owner_owes: bool
    decision: str
    reverification_due: bool | None  # None: not approved, no date either way


SKIPS = [
    SkipCase((), True, True, "pending_evidence", None),
    SkipCase((IDENTITY,), False, True, "pending_evidence", None),
    SkipCase((OWNERS,), True, False, "pending_evidence", None),
    SkipCase((PERIODIC,), True, True, "pending_evidence", None),
    SkipCase((IDENTITY, OWNERS), False, False, "approved", True),
    SkipCase((IDENTITY, OWNERS, PERIODIC), False, False, "approved", False),
]


@pytest.mark.control("exemptions.applied")
@pytest.mark.requirement("F1")
@pytest.mark.parametrize("case", SKIPS, ids=lambda case: "+".join(case.steps) or "no exemption")
def test_an_exempted_application_skips_exactly_the_exempted_steps(client: TestClient, keys: dict[str, str],
                                                                  services: Services, case: SkipCase) -> None:
    granted = _grant(client, keys, list(case.steps), scope="lessee_type", value="entity") if case.steps else None
    answer = _apply(client, keys, ENTITY)
    owed = answer["evidence_required"]
    assert any(item.startswith("customer:") for item in owed) is case.customer_owes, owed
    assert any(item.startswith("beneficial_owner:0:") for item in owed) is case.owner_owes, owed
    assert answer["decision"] == case.decision, answer["reasons"]
    row = _row(services, answer["id"])
    if case.reverification_due is not None:
        assert (row.reverify_due is not None) is case.reverification_due
    assert answer["screening"]["band"] == "clear"  # screening ran all the same
    if granted is None:
        assert answer["exemption_applied"] is None and row.exemption_id is None
        assert not any(reason.startswith("exemption_applied:") for reason in answer["reasons"])
        return
    assert answer["exemption_applied"] == granted["id"] == row.exemption_id
    assert set(answer["exempted_steps"]) == set(case.steps)
    assert any(reason.startswith(f"exemption_applied:{granted['id']}:") for reason in answer["reasons"])
    shown = client.get(f"/v1/applications/{answer['id']}", headers=auth(keys["analyst"])).json()
    assert shown["exemption_applied"] == granted["id"]
    with services.database.engine.connect() as conn:
        uses = conn.execute(select(exemption_use.c.exemption_id, exemption_use.c.account_id)).all()
    assert [(u.exemption_id, u.account_id) for u in uses] == [(granted["id"], answer["account_id"])]
    entry = services.ledger.entries_for_record("application", answer["id"])[0]
    assert entry["detail"]["exemption"] == granted["id"]


@pytest.mark.requirement("F1")
def test_an_exemption_reaches_only_its_scope(client: TestClient, keys: dict[str, str]) -> None:
    granted = _grant(client, keys, [IDENTITY], scope="account_type", value="trial")
    standard = _apply(client, keys, INDIVIDUAL)
    trial = _apply(client, keys, INDIVIDUAL, email="anna.trial@example.de",
                   account={"type": "trial", "channel": "self_serve"})
    assert standard["exemption_applied"] is None and any(i.startswith("customer:") for i in
                                                         standard["evidence_required"])
    assert trial["exemption_applied"] == granted["id"] and trial["evidence_required"] == []


@pytest.mark.control("exemptions.applied")
@pytest.mark.requirement("F1")
def test_an_expired_exemption_stops_applying_at_once(client: TestClient, keys: dict[str, str], clock: Clock) -> None:
    granted = _grant(client, keys, [IDENTITY], expires="2026-06-01T12:00:00Z")
    clock.now = datetime(2026, 6, 1, 11, 59, 59, tzinfo=UTC)
    before = _apply(client, keys, INDIVIDUAL)
    assert before["exemption_applied"] == granted["id"] and before["decision"] == "approved"
    clock.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    after = _apply(client, keys, INDIVIDUAL, email="anna.later@example.de")
    assert after["exemption_applied"] is None
    assert after["decision"] == "pending_evidence"
    assert any(item.startswith("customer:") for item in after["evidence_required"])
    shown = client.get(f"/v1/exemptions/{granted['id']}", headers=auth(keys["compliance-officer"])).json()
    assert shown["state"] == "expired"


@pytest.mark.requirement("F1", "A7")
def test_revocation_flags_the_accounts_that_used_it(client: TestClient, keys: dict[str, str], services: Services,
                                                    clock: Clock) -> None:
    granted = _grant(client, keys, [IDENTITY, PERIODIC])
    used = _apply(client, keys, INDIVIDUAL)
    assert used["decision"] == "approved" and _row(services, used["id"]).reverify_due is None
    clock.now = clock.now + timedelta(days=10)
    revoked = client.post(f"/v1/exemptions/{granted['id']}/revocation", json={"reason": "program ended"},
                          headers=auth(keys["compliance-officer"])).json()
    assert revoked["accounts_flagged"] == 1 and revoked["uses"] == 1
    row = _row(services, used["id"])
    assert row.exempted_steps is None and row.exemption_id == granted["id"]  # the record keeps which applied
    assert row.reverify_due is not None and row.reverify_due.replace(tzinfo=UTC) == clock.now
    from cloudcip.runtime import gate_applications
    from cloudcip.verification.applications import build_application_service

    applications = gate_applications(services, build_application_service(services))
    assert applications.reverifications_due(clock.now) == [used["id"]]
    later = _apply(client, keys, INDIVIDUAL, email="anna.after@example.de")
    assert later["exemption_applied"] is None


@pytest.mark.requirement("F1")
def test_expiry_flags_the_accounts_with_flag_ended(client: TestClient, keys: dict[str, str], services: Services,
                                                   clock: Clock) -> None:
    from cloudcip.runtime import exemption_register

    granted = _grant(client, keys, [IDENTITY], expires="2026-07-01")
    used = _apply(client, keys, INDIVIDUAL)
    register = exemption_register(services)
    officer = Actor("test:officer", "compliance-officer")
    assert register.flag_ended(officer) == {}
    clock.now = datetime(2026, 7, 1, tzinfo=UTC)
    assert register.flag_ended(officer) == {granted["id"]: 1}
    assert register.flag_ended(officer) == {}
    assert _row(services, used["id"]).reverify_due is not None


@pytest.mark.requirement("F1", "D3")
def test_screening_is_never_exempted_a_designated_person_is_refused(client: TestClient, keys: dict[str, str],
                                                                    services: Services) -> None:
    parties = [DesignatedParty(source="test", source_id="77", schema="Person",
                               names=[ListedName("Anna Schmidt")], birth_dates=["1984-03-09"], nationalities=["DE"])]
    import_publication(services, ListPublication("own-csv", "test", parties, [], hashlib.sha256(b"x").hexdigest()),
                       Actor("test:officer", "compliance-officer"))
    granted = _grant(client, keys, [IDENTITY, OWNERS, PERIODIC])
    answer = _apply(client, keys, INDIVIDUAL)
    assert answer["screening"]["band"] == "block"
    assert answer["decision"] == "refused", answer["reasons"]
    assert any(reason.startswith("screening_block") for reason in answer["reasons"])
    assert answer["exemption_applied"] == granted["id"]  # it applied to the verification, not to screening
