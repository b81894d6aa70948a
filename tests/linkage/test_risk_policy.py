"""G2: the risk score's weights and bands come from the CIP policy in force (``risk_score``), are
validated with the policy (each bad key named), answer through the API and the CLI, and are stated in
the written CIP."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.linkage.test_linkage import signup
from tests.sharing.builders import person
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.linkage.service import LinkageService
from cloudcip.profiles import default_policy_text
from cloudcip.runtime import Services
from cloudcip.settings import Settings
from cloudcip.storage.schema import account
from cloudcip.verification.policy import PolicyError, policy_from_mapping

TUNED = {"weights": {"ban_evasion_link": 70, "cluster_size": 0}, "bands": [
    {"up_to": 19, "tier": "low"}, {"up_to": 49, "tier": "standard"}, {"up_to": 100, "tier": "high"}]}

# a bad ``risk_score`` section and the problem named for it (dotted path: what)
BAD_SECTIONS = [
    ({"weights": {"cluster_sise": 5}}, "risk_score.weights.cluster_sise: unknown factor"),
    ({"weights": {"ban_evasion_link": 140}}, "risk_score.weights.ban_evasion_link: Input should be less than or "
                                             "equal to 100"),
    ({"weights": {"ban_evasion_link": "lots"}}, "risk_score.weights.ban_evasion_link: Input should be a valid number"),
    ({"bands": [{"up_to": 59, "tier": "low"}, {"up_to": 30, "tier": "high"}]},
     "risk_score.bands.1.up_to: bands rise: 30 is not above 59"),
    ({"bands": [{"up_to": 29, "tier": "low"}, {"up_to": 90, "tier": "high"}]},
     "risk_score.bands.1.up_to: the last band covers scores up to 100"),
    ({"bands": [{"up_to": 100, "tier": "severe"}]}, "risk_score.bands.0.tier: Input should be 'low', 'standard' or "
                                                     "'high'"),
    ({"bands": []}, "risk_score.bands: "),
    ({"weight": {}}, "risk_score.weight: unknown key"),
]


def _policy(section: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(default_policy_text())
    data["risk_score"] = section
    return data


@pytest.mark.parametrize(("section", "problem"), BAD_SECTIONS, ids=[p.split(":")[0] + str(n)
                                                                   for n, (_, p) in enumerate(BAD_SECTIONS)])
def test_a_bad_risk_section_is_named(section: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyError) as refused:
        policy_from_mapping(_policy(section))
    assert any(found.startswith(problem) for found in refused.value.problems), refused.value.problems


def test_weights_left_out_keep_their_default() -> None:
    scoring = policy_from_mapping(_policy({"weights": {"ban_evasion_link": 70}})).risk_score
    assert scoring.weights["ban_evasion_link"] == 70 and scoring.weights["screening_hit"] == 30
    assert policy_from_mapping(_policy({})).risk_score.band_pairs == ((29, "low"), (59, "standard"), (100, "high"))


@pytest.mark.requirement("G2")
def test_cloudcip_policy_check_names_the_bad_key(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(_policy({"weights": {"cluster_sise": 5}})))
    result = CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), "policy", "check", str(path)],
                                env={"CLOUDCIP_DATABASE_URL": settings.database_url})
    assert result.exit_code != 0
    assert "risk_score.weights.cluster_sise: unknown factor" in result.output


@pytest.mark.requirement("G2")
@pytest.mark.control("risk.score")
def test_the_policy_in_force_weighs_the_score(services: Services, settings: Settings, tmp_path: Path,
                                             keys: dict[str, str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(_policy(TUNED)))
    linkage = LinkageService(services.database, services.keyring, services.ledger)
    signup(services, linkage, person(email="first@one.example"), state="refused")
    returning, _ = signup(services, linkage, person("Anna", "Berg", email="second@two.example",
                                                    phone="+4930222222", national_id="T22222222"))
    with services.database.engine.connect() as conn:
        account_id = conn.execute(select(account.c.id).where(account.c.customer_id == returning)).scalar_one()
    services.settings = dataclasses.replace(services.settings, policy_path=path)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        answer = client.get(f"/v1/accounts/{account_id}/risk", headers={"Authorization": f"Bearer {keys['analyst']}"})
    assert answer.status_code == 200, answer.text
    factors = {f["name"]: f for f in answer.json()["factors"]}
    assert factors["ban_evasion_link"]["weight"] == 70 and factors["ban_evasion_link"]["contribution"] == 70
    assert factors["cluster_size"]["weight"] == 0 and factors["cluster_size"]["contribution"] == 0
    assert answer.json()["tier"] == "high"  # 70 is above the tuned standard band's 49
    env = {"CLOUDCIP_DATABASE_URL": settings.database_url, "CLOUDCIP_POLICY": str(path)}
    runner = CliRunner()
    shown = runner.invoke(cli, ["--data-dir", str(settings.data_dir), "risk", "show", account_id], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["score"] == answer.json()["score"]
    written = runner.invoke(cli, ["--data-dir", str(settings.data_dir), "cip", "render"], env=env)
    assert written.exit_code == 0, written.output
    assert "ban\\_evasion\\_link" in written.stdout or "ban_evasion_link" in written.stdout
    assert "70" in written.stdout and "50-100" in written.stdout  # the tuned weight and band, as stated
