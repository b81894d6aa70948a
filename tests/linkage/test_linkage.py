"""G1: links from blind indexes only, clusters over strong links, the ban-evasion check, and what a
reviewer sees (the API and the CLI); two strangers behind one carrier NAT are not one actor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import insert, select
from tests.sharing.builders import SIGNUP, person
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.linkage.identifiers import normalise_email, signup_prefix
from cloudcip.linkage.schema import link_identifier
from cloudcip.linkage.service import LinkageService
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

ADAPTER: TypeAdapter[CustomerRecord] = TypeAdapter(CustomerRecord)


def signup(services: Services, linkage: LinkageService, body: dict[str, Any], *, state: str = "active",
           ip: str | None = None, device: str | None = None) -> tuple[str, list[Any]]:
    """A customer as the signup stores it: checked first (the findings), then recorded in the graph."""
    record = ADAPTER.validate_python(body)
    with services.database.engine.connect() as conn:
        findings = linkage.check_signup(conn, record, signup_ip=ip, device_id=device)
    with services.ledger.unit_of_work() as work:
        [customer_id] = services.customers.create_in(work, [record], SIGNUP)
        work.conn.execute(insert(account).values(id=str(uuid.uuid4()), customer_id=customer_id, type="standard",
                                                 channel="self_serve", state=state, opened_at=datetime.now(UTC)))
        linkage.record_signup(work.conn, customer_id, record, signup_ip=ip, device_id=device)
    return customer_id, findings


@pytest.fixture
def linkage(services: Services) -> LinkageService:
    return LinkageService(services.database, services.keyring, services.ledger)


@pytest.mark.parametrize(("address", "normalised"), [
    ("Jonas.Keller+cloud@GMAIL.com", "jonaskeller@gmail.com"),
    ("j.o.n.a.s.keller@googlemail.com", "jonaskeller@gmail.com"),
    ("jonas.keller+x@outlook.com", "jonas.keller@outlook.com"),
    ("jonas-burner@yahoo.com", "jonas@yahoo.com"),
    ("jonas.keller@keller.example", "jonas.keller@keller.example"),
])
def test_email_normalisation_per_provider(address: str, normalised: str) -> None:
    assert normalise_email(address) == normalised


def test_signup_prefix() -> None:
    assert signup_prefix("198.51.100.23") == "198.51.100.0/24"
    assert signup_prefix("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert signup_prefix("::ffff:198.51.100.23") == "198.51.100.0/24"


# the ban-evasion table: the earlier customer's state, what the newcomer shares, and the outcome
EVASION_CASES = [
    ("refused", {"card": "4111111111111111"}, {"email": "fresh.start@new-mail.example"}, "card", True),
    ("closed", {"email": "jonas.keller@gmail.com"}, {"email": "Jonas.Keller+2@gmail.com", "card": None}, "email",
     True),
    ("restricted", {"phone": "+4930901820"}, {"email": "other@else.example", "card": None, "phone": "+4930901820"},
     "phone", True),
    ("refused", {}, {"email": "other@else.example", "card": None, "national_id": None, "phone": "+4915112345678"},
     None, False),  # shares only the signup network
    ("active", {"card": "4111111111111111"}, {"email": "other@else.example"}, None, False),  # not flagged
]


@pytest.mark.requirement("G1")
@pytest.mark.parametrize(("state", "first", "second", "kind", "review"), EVASION_CASES,
                         ids=["refused-card", "closed-email-variant", "restricted-phone", "nat-only", "not-flagged"])
def test_ban_evasion_table(services: Services, linkage: LinkageService, state: str, first: dict[str, Any],
                           second: dict[str, Any], kind: str | None, review: bool) -> None:
    signup(services, linkage, person(**{"email": "first@one.example", "phone": "+4930111111", "card": None,
                                        "national_id": "T11111111", **first}), state=state, ip="100.64.0.10")
    _, findings = signup(services, linkage, person("Anna", "Berg", **{"national_id": "T22222222",
                                                                      "phone": "+4930222222", **second}),
                         ip="100.64.0.11")
    evasions = [f for f in findings if f.evasion]
    assert bool(evasions) is review
    if review:
        assert evasions[0].kind == kind and "link" in evasions[0].reason() and state in evasions[0].reason()
    if state != "active":
        # the shared carrier-NAT /24 is seen, but only as a weak link
        assert any(f.kind == "signup_prefix" and not f.evasion for f in findings)


@pytest.mark.requirement("G1")
def test_two_strangers_behind_one_carrier_nat_are_not_one_actor(services: Services, linkage: LinkageService,
                                                                client: TestClient, keys: dict[str, str]) -> None:
    a, _ = signup(services, linkage, person("Anna", "Berg", email="anna@berg.example", card="4111111111111111",
                                            phone="+4930111111", national_id="T11111111"), ip="100.64.7.20")
    b, findings = signup(services, linkage, person("Jonas", "Keller", email="jonas@keller.example",
                                                   card="5555555555554444", phone="+4930222222",
                                                   national_id="T22222222"), ip="100.64.7.20")
    assert findings == []  # nobody flagged: nothing to say at signup
    analyst = {"Authorization": f"Bearer {keys['analyst']}"}
    links_a = client.get(f"/v1/customers/{a}/links", headers=analyst).json()
    links_b = client.get(f"/v1/customers/{b}/links", headers=analyst).json()
    [linked] = links_a["links"]
    assert linked["customer_id"] == b and linked["strength"] == "weak"
    assert {link["kind"] for link in linked["links"]} == {"signup_ip", "signup_prefix"}
    assert links_a["cluster_id"] != links_b["cluster_id"]  # weak links never join clusters
    cluster = client.get(f"/v1/clusters/{links_a['cluster_id']}", headers=analyst).json()
    assert cluster["size"] == 1
    explained = client.post("/v1/links/explain", json={"first": a, "second": b}, headers=analyst).json()
    assert explained["linked"] is True and explained["strength"] == "weak"
    assert "100.64.7.20" not in json.dumps([links_a, explained])  # masked: the network, never the address
    assert client.get(f"/v1/customers/{a}/links", headers={"Authorization": f"Bearer {keys['signup-service']}"}
                      ).status_code == 403
    assert client.get(f"/v1/customers/{uuid.uuid4()}/links", headers=analyst).status_code == 404


@pytest.mark.requirement("G1")
def test_strong_links_join_clusters_and_the_cli_explains_the_path(services: Services, linkage: LinkageService,
                                                                  settings: Any) -> None:
    first, _ = signup(services, linkage, person(email="a@one.example", card="4111111111111111", phone="+4930111111",
                                                national_id="T11111111"), state="closed")
    second, findings = signup(services, linkage, person("Anna", "Berg", email="b@two.example",
                                                        card="4111111111111111", phone="+4930222222",
                                                        national_id="T22222222"))
    third, _ = signup(services, linkage, person("Ola", "Nord", email="c@three.example", card="5555555555554444",
                                                phone="+4930222222", national_id="T33333333"))
    assert [f.kind for f in findings if f.evasion] == ["card"]
    view = linkage.links(third, SIGNUP_ANALYST)
    [linked] = [entry for entry in view["links"] if entry["customer_id"] == second]
    assert linked["strength"] == "strong"
    clusters = {linkage.links(c, SIGNUP_ANALYST)["cluster_id"] for c in (first, second, third)}
    assert len(clusters) == 1  # first-card-second-phone-third: one actor
    runner = CliRunner()
    env = {"CLOUDCIP_DATABASE_URL": settings.database_url}
    result = runner.invoke(app, ["--data-dir", str(settings.data_dir), "links", "explain", first, third], env=env)
    assert result.exit_code == 0, result.output
    path = json.loads(result.stdout)["path"]
    assert [(step["kind"], step["strength"]) for step in path] == [("card", "strong"), ("phone", "strong")]
    assert "4111111111111111" not in result.stdout and "+4930222222" not in result.stdout
    shown = runner.invoke(app, ["--data-dir", str(settings.data_dir), "links", "show", first], env=env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["links"]
    # a full rebuild finds the same cluster
    rebuilt = json.loads(runner.invoke(app, ["--data-dir", str(settings.data_dir), "links", "rebuild"],
                                       env=env).stdout)
    assert rebuilt["largest"] == 3
    with services.database.engine.connect() as conn:
        tokens = conn.execute(select(link_identifier.c.token, link_identifier.c.display)).all()
    assert all(len(token) == 40 and "4111111111111111" not in display for token, display in tokens)


@pytest.mark.requirement("G1")
def test_backfill_links_customers_stored_before_linkage(services: Services, linkage: LinkageService) -> None:
    records = [ADAPTER.validate_python(person(email="Jonas.Keller@gmail.com")),
               ADAPTER.validate_python(person("Anna", "Berg", email="jonaskeller+x@gmail.com", card=None,
                                              phone="+4930222222", national_id="T99999999"))]
    first, second = services.customers.create(records, SIGNUP)
    assert linkage.graph.backfill() == 2
    assert linkage.graph.backfill() == 0
    explained = linkage.explain(first, second, SIGNUP_ANALYST)
    assert explained["linked"] and explained["path"][0]["kind"] == "email"


SIGNUP_ANALYST = __import__("cloudcip.records.roles", fromlist=["Actor"]).Actor("test:analyst", "analyst")


def test_the_serve_task_links_records_stored_outside_the_signup(services: Services) -> None:
    from cloudcip.cli.links import scheduled_links_task

    services.customers.create([ADAPTER.validate_python(person())], SIGNUP)
    task = scheduled_links_task()
    assert task.name == "links-backfill"
    assert task.run(services, datetime.now(UTC)) == {"customers_added": 1, "sub_lessees_added": 0}
    assert task.run(services, datetime.now(UTC)) == {"customers_added": 0, "sub_lessees_added": 0}
