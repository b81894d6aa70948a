"""G1: the ASN of a hosting provider at signup is a weak link kind.

The operator's offline IP intelligence (``cloudcip ipintel import asn|hosting``) says which ASN a signup
address belongs to and whether it lies in a hosting/VPN range. Two signups are linked by ASN only when
that ASN is a hosting provider's (the address is in a hosting range and its ASN is known): a residential
carrier's ASN links nobody. The link is weak: a note in the answer's ``reasons`` (``weak_link:hosting_asn``)
and a contribution to the risk score, never a review or a refusal by itself; the decision of a newcomer
linked only by a hosting ASN to a closed account is the decision of the same newcomer with no one to be
linked to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.linkage.test_signup_ban_evasion import FIRST, NEWCOMER, OPEN, application
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services

# documentation and benchmark ranges only: AS64500 hosts 203.0.113.0/24 and 198.51.100.0/24 (both hosting)
# and a residential block 192.0.2.0/24 (not hosting); AS64501 hosts 198.18.0.0/24; 198.18.1.0/24 is in
# a hosting range whose ASN the operator's table does not know
ASN_CSV = "cidr,asn,org\n203.0.113.0/24,64500,Example Hosting\n198.51.100.0/24,64500,Example Hosting\n" \
          "192.0.2.0/24,64500,Example Hosting\n198.18.0.0/24,64501,Other Hosting\n"
HOSTING = "203.0.113.0/24 example-hosting\n198.51.100.0/24 example-hosting\n198.18.0.0/24 other-hosting\n" \
          "198.18.1.0/24 unknown-asn\n"
FIRST_IP = "203.0.113.10"
CARD = FIRST["payment_means"][0]["number"]


def _stood(services: Services, client: TestClient, keys: dict[str, str], first: dict[str, Any]) -> None:
    """The first account stays in good standing."""


def _closed(services: Services, client: TestClient, keys: dict[str, str], first: dict[str, Any]) -> None:
    closed = client.post(f"/v1/accounts/{first['account_id']}/close", headers=_auth(keys["signup-service"]))
    assert closed.status_code == 200, closed.text


# the first customer's standing, the newcomer's address, whether it also shares the first's card,
# the links the answer lists (kind, strength), whether the ban-evasion reason names the card
CASES = [
    ("closed, same hosting ASN in another /24: a weak link, a note", _closed, "198.51.100.20", False,
     [("hosting_asn", "weak")], False),
    ("closed, same hosting ASN and /24: two weak links", _closed, "203.0.113.99", False,
     [("hosting_asn", "weak"), ("signup_prefix", "weak")], False),
    ("in good standing, same hosting ASN: nothing to say", _stood, "198.51.100.20", False, [], False),
    ("closed, same ASN from its residential block (not hosting): no link", _closed, "192.0.2.44", False, [], False),
    ("closed, another hosting ASN: no link", _closed, "198.18.0.5", False, [], False),
    ("closed, a hosting range whose ASN is unknown: no link", _closed, "198.18.1.5", False, [], False),
    ("closed, same card and same hosting ASN: review names the card, the ASN a note", _closed, "198.51.100.20",
     True, [("card", "strong"), ("hosting_asn", "weak")], True),
]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _import_intel(services: Services, tmp_path: Path) -> None:
    (tmp_path / "asn.csv").write_text(ASN_CSV)
    (tmp_path / "hosting.txt").write_text(HOSTING)
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url}
    for kind, name in (("asn", "asn.csv"), ("hosting", "hosting.txt")):
        result = CliRunner().invoke(cli, ["--data-dir", str(services.settings.data_dir), "ipintel", "import", kind,
                                          str(tmp_path / name)], env=env)
        assert result.exit_code == 0, result.output


def _newcomer(address: str, same_card: bool) -> dict[str, Any]:
    body = {**NEWCOMER, "payment_means": [{"type": "card", "number": CARD, "expiry": "2030-01"}]} if same_card \
        else NEWCOMER
    return application(body, address)


@pytest.mark.requirement("G1")
@pytest.mark.control("linkage.ban_evasion")
@pytest.mark.parametrize(("first_becomes", "address", "same_card", "links", "review"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_hosting_providers_asn_at_signup_is_a_weak_link(
        services: Services, tmp_path: Path, first_becomes: Any, address: str, same_card: bool,
        links: list[tuple[str, str]], review: bool) -> None:
    _import_intel(services, tmp_path)  # before the app: the process loads the IP intelligence once
    with services.database.engine.begin() as conn:
        keys = {role: create_api_key(conn, role, "test", services.ledger.clock()) for role in ROLES}
    signup = _auth(keys["signup-service"])
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        # the control: the same newcomer, from the same address, before anyone it could be linked to exists
        control = client.post("/v1/applications", json=_newcomer(address, False), headers=signup)
        assert control.status_code == 201, control.text
        assert control.json()["links"] == []
        first = client.post("/v1/applications", json={**FIRST, "signup_ip": FIRST_IP}, headers=signup)
        assert first.status_code == 201, first.text
        first_becomes(services, client, keys, first.json())
        body = _newcomer(address, same_card)
        body["email"] = "anna.berg+second@new-mail.example"  # another person than the control (no e-mail link)
        body["phone"] = "+4915112349999"
        body["national_id"] = {**body["national_id"], "number": "T44000999"}
        answered = client.post("/v1/applications", json=body, headers=signup)
        assert answered.status_code == 201, answered.text
        answer = answered.json()
        newcomer_links = client.get(f"/v1/customers/{answer['customer_id']}/links",
                                    headers=_auth(keys["analyst"])).json()
    assert sorted((link["kind"], link["strength"]) for link in answer["links"]) == sorted(links)
    assert all(link["review"] == (link["strength"] == "strong") for link in answer["links"])
    weak_notes = [r for r in answer["reasons"] if r.startswith("weak_link:hosting_asn:")]
    assert len(weak_notes) == (1 if ("hosting_asn", "weak") in links else 0), answer["reasons"]
    evasion = [r for r in answer["reasons"] if r.startswith("ban_evasion_link")]
    if review:
        assert answer["decision"] == "in_review"
        assert [r.split(":")[1] for r in evasion] == ["card"]
    else:
        assert evasion == []
        # the weak link decides nothing: the newcomer is answered as the control was
        assert answer["decision"] == control.json()["decision"]
        assert answer["decision"] in {*OPEN, "in_review"}  # a hosting address may raise the tier; never refused
    assert "AS64500" not in json.dumps(answer)  # a weak link's network is not named in the answer
    assert FIRST_IP not in json.dumps(answer) and first.json()["customer_id"] not in json.dumps(answer)
    # the graph: a shared hosting ASN is a weak link, shown to a reader, joining no cluster
    by_customer = {entry["customer_id"]: entry for entry in newcomer_links["links"]}
    to_first = by_customer.get(first.json()["customer_id"])
    if address.startswith(("203.0.113.", "198.51.100.")):  # AS64500's hosting ranges, whatever the standing
        assert to_first is not None
        assert {"kind": "hosting_asn", "strength": "weak", "identifier": "AS64500 (hosting)"} in to_first["links"]
        if not same_card:
            assert to_first["strength"] == "weak"
            assert newcomer_links["cluster_id"] != client_cluster_of(first.json(), services)
    else:
        assert to_first is None or all(link["kind"] != "hosting_asn" for link in to_first["links"])


def client_cluster_of(first: dict[str, Any], services: Services) -> str | None:
    from sqlalchemy import select

    from cloudcip.linkage.schema import link_cluster

    with services.database.engine.connect() as conn:
        return conn.execute(select(link_cluster.c.cluster_id).where(
            link_cluster.c.subject_type == "customer", link_cluster.c.subject_id == first["customer_id"])).scalar()


@pytest.mark.requirement("G1")
def test_the_cli_signup_sees_the_hosting_asn_as_the_api_does(services: Services, tmp_path: Path) -> None:
    _import_intel(services, tmp_path)
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url}
    answers = []
    for number, body in enumerate(({**FIRST, "signup_ip": FIRST_IP}, _newcomer("198.51.100.20", False))):
        path = tmp_path / f"application-{number}.json"
        path.write_text(json.dumps(body))
        result = CliRunner().invoke(cli, ["--data-dir", str(services.settings.data_dir), "applications", "submit",
                                          str(path)], env=env)
        assert result.exit_code == 0, result.output
        answers.append(json.loads(result.stdout))
        if number == 0:
            closed = CliRunner().invoke(cli, ["--data-dir", str(services.settings.data_dir), "accounts", "close",
                                              answers[0]["account_id"]], env=env)
            assert closed.exit_code == 0, closed.output
    assert [(link["kind"], link["review"]) for link in answers[1]["links"]] == [("hosting_asn", False)]
    assert any(r.startswith("risk") or "hosting" in r for r in answers[1]["reasons"])  # the tier saw the range too
