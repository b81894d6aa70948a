"""The files under ``examples/`` and the README's own record work as written (A3, C2, D1, E2, A1): each
is sent through the API or the CLI the way the README shows, so they stay valid as the code moves.
(The README's customer once failed: its German identity card number was checked as a tax IdNr.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.services import Services
from cloudcip.verification.applications import ApplicationService
from cloudcip.verification.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text()


def _load(name: str) -> object:
    return json.loads((EXAMPLES / name).read_text())


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(services), raise_server_exceptions=False)


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    from cloudcip import clock

    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", clock.now()) for role in ROLES}


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def test_every_example_the_readme_names_exists() -> None:
    named = set(re.findall(r"examples/[\w.\-]+", README))
    assert named, "the README shows no example"
    for path in named:
        assert (ROOT / path).is_file(), path
    shipped = {f"examples/{path.name}" for path in EXAMPLES.iterdir()}
    assert shipped <= named | {"examples/README.md"}, shipped - named  # each example is shown somewhere


def _readme_customer() -> object:
    """The JSON record of the README's ``POST /v1/customers`` line."""
    found = re.search(r"POST localhost:8080/v1/customers .*?-d '(\{.*?\})'\n", README, flags=re.DOTALL)
    assert found is not None
    return json.loads(found.group(1))


@pytest.mark.requirement("A3", "A1", "E2", "D1")
def test_the_examples_through_the_api(client: TestClient, keys: dict[str, str]) -> None:
    signup = auth(keys["signup-service"])
    assert _readme_customer() == _load("customer.json")
    customer = client.post("/v1/customers", json=_load("customer.json"), headers=signup)
    assert customer.status_code == 201, customer.text
    individual = client.post("/v1/applications", json=_load("application.json"), headers=signup)
    assert individual.status_code == 201, individual.text
    assert individual.json()["decision"] == "pending_evidence"
    entity = client.post("/v1/applications", json=_load("application-entity.json"), headers=signup)
    assert entity.status_code == 201, entity.text
    reseller_account = entity.json()["account_id"]
    shared = client.post(f"/v1/resellers/{reseller_account}/sub-lessees", json=_load("sub-lessees.json"),
                         headers=signup)
    assert shared.status_code == 201, shared.text
    assert [item["outcome"] for item in shared.json()["sub_lessees"]] == ["created", "created"]
    measure = client.post("/v1/measures", json=_load("measure.json"), headers=auth(keys["compliance-officer"]))
    assert measure.status_code == 201, measure.text


@pytest.mark.requirement("C1", "C2")
@pytest.mark.parametrize(("name", "fmt", "count"), [("access-events.jsonl", "jsonl", 4),
                                                     ("access-events-ocsf.jsonl", "ocsf", 3),
                                                     ("access-events-cloudtrail.json", "cloudtrail", 2)])
def test_the_access_event_examples_in_each_format(client: TestClient, keys: dict[str, str], services: Services,
                                                  name: str, fmt: str, count: int, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    body = (EXAMPLES / name).read_bytes()
    posted = client.post(f"/v1/access-events?format={fmt}", content=body, headers=auth(keys["event-ingest"]))
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"accepted": count, "duplicates": 0}
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("CLOUDCIP_DATABASE_URL", services.settings.database_url)
    imported = CliRunner().invoke(cli, ["access", "import", str(EXAMPLES / name), "--format", fmt])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["duplicates"] == count  # the same events: idempotent on their ids
    documented = (ROOT / "docs" / "access-events.md").read_text()
    assert f"`examples/{name}`" in documented


@pytest.mark.requirement("A1")
def test_the_example_policy_checks_and_decides(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    checked = CliRunner().invoke(cli, ["policy", "check", str(EXAMPLES / "policy.yaml")])
    assert checked.exit_code == 0, checked.output
    policy = load_policy(EXAMPLES / "policy.yaml")
    assert [rule.id for rule in policy.rules] == [rule["id"] for rule in
                                                  yaml.safe_load((EXAMPLES / "policy.yaml").read_text())["rules"]]
    monkeypatch.setenv("CLOUDCIP_POLICY", str(EXAMPLES / "policy.yaml"))
    rendered = CliRunner().invoke(cli, ["cip", "render"])
    assert rendered.exit_code == 0 and "### Rule everyone-else" in rendered.stdout
    with TestClient(create_app(services, ApplicationService(services=services, policy=policy))) as client:
        with services.database.engine.begin() as conn:
            from cloudcip import clock

            key = create_api_key(conn, "signup-service", "test", clock.now())
        answer = client.post("/v1/applications", json=_load("application.json"), headers=auth(key))
    assert answer.status_code == 201, answer.text
    assert answer.json()["policy_rule"] == "everyone-else"
