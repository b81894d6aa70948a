"""G1 end to end: the ban-evasion signal feeds the signup decision (POST /v1/applications and
``cloudcip applications submit``). A strong link to a refused, closed or restricted account, or to a
confirmed hit, sends the application to review naming the link (masked); a weak link only (a shared
carrier-NAT /24) never decides; the policy's ``ban_evasion_link`` trigger may make the link a note."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from tests.sharing.builders import person
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.runtime import Services
from cloudcip.screening.schema import screening_hit
from cloudcip.sharing.schema import shared_indicator_match
from cloudcip.storage.schema import account
from cloudcip.verification.applications import build_application_service
from cloudcip.verification.policy import PolicyError, policy_from_mapping

FIRST_CARD = "4111111111111111"
FIRST_EMAIL = "jonas.keller@gmail.com"
FIRST_PHONE = "+4930901820"
FIRST_DEVICE = "dev-7f3a9c21e4b8"


def application(body: dict[str, Any], signup_ip: str, device_id: str | None = None) -> dict[str, Any]:
    """An application of ``body`` (its document a German identity card) from ``signup_ip``."""
    sent = {**body, "national_id": {**body["national_id"], "kind": "id_card"},
            "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": signup_ip,
            "notice_version": "notice-2024-01"}
    if device_id:
        sent["device_id"] = device_id
    return sent


FIRST = application(person(email=FIRST_EMAIL, phone=FIRST_PHONE, card=FIRST_CARD, national_id="T22000129"),
                    "100.64.0.10", FIRST_DEVICE)
# the newcomer: another name, e-mail, phone and document; what it shares with the first is the case's
NEWCOMER = person("Anna", "Berg", email="anna.berg@new-mail.example", phone="+4915112345678", card="5555555555554444",
                  national_id="T44000321")
SAME_CARD = application({**NEWCOMER, "payment_means": [{"type": "card", "number": FIRST_CARD, "expiry": "2030-01"}]},
                        "203.0.113.7")
SAME_EMAIL_VARIANT = application({**NEWCOMER, "email": "Jonas.Keller+again@googlemail.com"}, "203.0.113.7")
SAME_DEVICE = application(NEWCOMER, "203.0.113.7", FIRST_DEVICE)
SAME_NAT_ONLY = application(NEWCOMER, "100.64.0.77")  # the first's carrier-NAT /24, nothing else
NOTHING_SHARED = application(NEWCOMER, "203.0.113.7")


def _close(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    closed = client.post(f"/v1/accounts/{first['account_id']}/close", headers=_auth(keys["signup-service"]))
    assert closed.status_code == 200, closed.text


def _refuse(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    with services.database.engine.begin() as conn:  # refused by the provider's earlier decision
        conn.execute(update(account).where(account.c.id == first["account_id"]).values(state="refused"))


def _restrict(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    with services.database.engine.begin() as conn:  # restricted by a special measure's conditions
        conn.execute(update(account).where(account.c.id == first["account_id"]).values(state="restricted"))


def _confirmed_hit(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    with services.database.engine.begin() as conn:  # a person confirmed a designated-person hit
        conn.execute(insert(screening_hit).values(
            id=str(uuid.uuid4()), subject_type="customer", subject_id=first["customer_id"], subject_hash="0" * 64,
            list_source="ofac_sdn", list_source_id="sdn-1", party_hash="0" * 64, score=0.97, band="block",
            explanation_json="{}", state="confirmed", decided_by="test:officer", decided_at=datetime.now(UTC),
            created_at=datetime.now(UTC)))


def _leave(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    """The first account stays in good standing."""


# what happened to the first customer, what the newcomer shares, the decision, the link reason expected
CASES = [
    ("closed account, same card", _close, SAME_CARD, "review", "ban_evasion_link:card"),
    ("refused account, same e-mail (another spelling)", _refuse, SAME_EMAIL_VARIANT, "review",
     "ban_evasion_link:email"),
    ("measure-restricted account, same device", _restrict, SAME_DEVICE, "review", "ban_evasion_link:device_id"),
    ("confirmed hit, same card", _confirmed_hit, SAME_CARD, "review", "ban_evasion_link:card"),
    ("closed account, weak link only: the carrier-NAT /24", _close, SAME_NAT_ONLY, "open", None),
    ("closed account, no link", _close, NOTHING_SHARED, "open", None),
    ("account in good standing, same card", _leave, SAME_CARD, "open", None),
]
OPEN = {"approved", "pending_evidence"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.requirement("G1")
@pytest.mark.control("linkage.ban_evasion")
@pytest.mark.parametrize(("first_becomes", "newcomer", "outcome", "reason"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_ban_evasion_signal_at_signup(services: Services, client: TestClient, keys: dict[str, str],
                                          first_becomes: Any, newcomer: dict[str, Any], outcome: str,
                                          reason: str | None) -> None:
    signup = _auth(keys["signup-service"])
    first = client.post("/v1/applications", json=FIRST, headers=signup)
    assert first.status_code == 201, first.text
    assert first.json()["decision"] in OPEN and first.json()["links"] == []
    first_becomes(client, keys, first.json(), services)
    answered = client.post("/v1/applications", json=newcomer, headers=signup)
    assert answered.status_code == 201, answered.text
    answer = answered.json()
    evasion = [r for r in answer["reasons"] if r.startswith("ban_evasion_link")]
    if outcome == "review":
        assert answer["decision"] == "in_review"
        assert any(r.startswith(reason + ":") and "link" in r for r in evasion), answer["reasons"]
        assert any(link["review"] and link["strength"] == "strong" for link in answer["links"])
    else:
        assert answer["decision"] in OPEN and evasion == [], answer["reasons"]
        assert all(not link["review"] for link in answer["links"])
    if newcomer is SAME_NAT_ONLY:  # the shared /24 is seen, as a note that decides nothing
        assert [link["kind"] for link in answer["links"]] == ["signup_prefix"]
        assert any(r.startswith("weak_link:signup_prefix") for r in answer["reasons"])
    shown = json.dumps(answer)
    for plaintext in (FIRST_CARD, FIRST_EMAIL, "jonas.keller+again", FIRST_DEVICE, FIRST["signup_ip"],
                      first.json()["customer_id"]):
        assert plaintext not in shown  # masked: never the identifier, the address or the other customer


@pytest.mark.requirement("G1")
def test_an_actor_refused_for_a_measure_returns_with_a_new_email_and_the_same_card(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    """The issue's end-to-end case: the second signup goes to review naming the link; the reviewer then
    decides it, and a retry of the same request answers as it was answered."""
    signup = _auth(keys["signup-service"])
    first = client.post("/v1/applications", json=FIRST, headers=signup).json()
    _restrict(client, keys, first, services)
    headers = {**signup, "Idempotency-Key": "evasion-1"}
    second = client.post("/v1/applications", json=SAME_CARD, headers=headers).json()
    assert second["decision"] == "in_review"
    [reason] = [r for r in second["reasons"] if r.startswith("ban_evasion_link")]
    assert reason.startswith("ban_evasion_link:card: linked by card 411111") and reason.endswith("(restricted)")
    replay = client.post("/v1/applications", json=SAME_CARD, headers=headers)
    assert replay.status_code == 200 and replay.json()["reasons"] == second["reasons"]
    # the newcomer is in the graph: a reader sees the strong link to the first customer
    links = client.get(f"/v1/customers/{second['customer_id']}/links", headers=_auth(keys["analyst"])).json()
    assert [(entry["customer_id"], entry["strength"]) for entry in links["links"]] == [(first["customer_id"], "strong")]
    decided = client.post(f"/v1/applications/{second['id']}/review", headers=_auth(keys["compliance-officer"]),
                          json={"to_state": "refused", "reason": "the same actor as a restricted account"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "refused"


@pytest.mark.requirement("G1")
@pytest.mark.control("linkage.ban_evasion")
def test_the_policy_may_make_the_link_a_note_and_never_a_refusal(services: Services, keys: dict[str, str]) -> None:
    applications = build_application_service(services)
    triggers = applications.policy.review_triggers.model_copy(update={"ban_evasion_link": "proceed"})
    applications.policy = applications.policy.model_copy(update={"review_triggers": triggers})
    with TestClient(create_app(services, applications), raise_server_exceptions=False) as client:
        signup = _auth(keys["signup-service"])
        first = client.post("/v1/applications", json=FIRST, headers=signup).json()
        _close(client, keys, first, services)
        answer = client.post("/v1/applications", json=SAME_CARD, headers=signup).json()
    assert answer["decision"] in OPEN
    assert any(r.startswith("ban_evasion_link:card") for r in answer["reasons"])  # said, not decided
    data = applications.policy.model_dump(mode="json")
    data["review_triggers"]["ban_evasion_link"] = "refused"
    with pytest.raises(PolicyError) as refused:
        policy_from_mapping(data)
    assert any(p.startswith("review_triggers.ban_evasion_link:") for p in refused.value.problems)


@pytest.mark.requirement("G1")
def test_the_cli_signup_goes_to_review_on_a_strong_link(services: Services, settings: Any, tmp_path: Path,
                                                        client: TestClient, keys: dict[str, str]) -> None:
    first = client.post("/v1/applications", json=FIRST, headers=_auth(keys["signup-service"])).json()
    _close(client, keys, first, services)
    path = tmp_path / "application.json"
    path.write_text(json.dumps(SAME_EMAIL_VARIANT))
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "applications", "submit", str(path)],
                                env={"CLOUDCIP_DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["decision"] == "in_review"
    assert any(r.startswith("ban_evasion_link:email: linked by email j•••@gmail.com") for r in answer["reasons"])
    assert FIRST_EMAIL not in result.stdout


def _confirmed_peer_match(client: TestClient, keys: dict[str, str], first: dict[str, Any],
                          services: Services) -> None:
    with services.database.engine.begin() as conn:  # a person confirmed a peer's indicator on the account
        conn.execute(insert(shared_indicator_match).values(
            id=str(uuid.uuid4()), indicator_id=f"indicator--{uuid.uuid4()}", source="Peer Cloud B", tlp="green",
            subject_type="account", subject_id=first["account_id"], matched_on="access_ip", state="confirmed",
            created_at=datetime.now(UTC)))


def _incident(client: TestClient, keys: dict[str, str], first: dict[str, Any], services: Services) -> None:
    made = client.post("/v1/incidents", json={"account_id": first["account_id"], "summary": "cryptomining abuse"},
                       headers=_auth(keys["compliance-officer"]))
    assert made.status_code == 201, made.text


@pytest.mark.requirement("G1")
@pytest.mark.parametrize(("first_becomes", "flag"), [
    (_close, "(closed)"), (_refuse, "(refused)"), (_restrict, "(restricted)"),
    (_confirmed_hit, "(a confirmed designated-person hit)"),
    (_confirmed_peer_match, "(a confirmed peer indicator)"),
    (_incident, "(reported for malicious activity)"),
], ids=["closed", "refused", "restricted", "confirmed hit", "confirmed peer indicator", "incident report"])
def test_the_reason_names_why_the_other_customer_is_flagged(services: Services, client: TestClient,
                                                            keys: dict[str, str], first_becomes: Any,
                                                            flag: str) -> None:
    signup = _auth(keys["signup-service"])
    first = client.post("/v1/applications", json=FIRST, headers=signup).json()
    first_becomes(client, keys, first, services)
    answer = client.post("/v1/applications", json=SAME_CARD, headers=signup).json()
    [reason] = [r for r in answer["reasons"] if r.startswith("ban_evasion_link:card")]
    assert reason.endswith(flag), reason
    assert answer["decision"] == "in_review"
