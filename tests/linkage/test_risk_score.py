"""G2: the risk score of an account in [0, 100] from named factors with weights, each with its value and
contribution in the answer; score bands map to tiers; recomputed when the account's signals, links,
hits or matches change."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from tests.linkage.test_linkage import signup
from tests.sharing.builders import person
from typer.testing import CliRunner

from cloudcip.access.schema import account_signal
from cloudcip.cli.main import app
from cloudcip.linkage.risk import DEFAULT_BANDS, DEFAULT_WEIGHTS, RiskScorer, combine, tier_of
from cloudcip.linkage.service import LinkageService
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

BAND_CASES = [(0, "low"), (29, "low"), (30, "standard"), (59, "standard"), (60, "high"), (100, "high")]


@pytest.mark.parametrize(("score", "tier"), BAND_CASES)
def test_bands_map_scores_to_tiers(score: int, tier: str) -> None:
    assert tier_of(score, DEFAULT_BANDS) == tier


def test_every_factor_is_listed_with_value_weight_and_contribution() -> None:
    scored = combine({"ban_evasion_link": (1.0, "shares card"), "access_signals": (2 / 3, "2 open signals"),
                      "cluster_size": (5.0, "big")}, DEFAULT_WEIGHTS, DEFAULT_BANDS)
    by_name = {f.name: f for f in scored.factors}
    assert set(by_name) == set(DEFAULT_WEIGHTS)
    assert by_name["ban_evasion_link"].contribution == 40 and by_name["access_signals"].contribution == 10
    assert by_name["cluster_size"].value == 1.0  # capped
    assert scored.score == 60 and scored.tier == "high"
    assert combine({name: (1.0, "x") for name in DEFAULT_WEIGHTS}, DEFAULT_WEIGHTS, DEFAULT_BANDS).score == 100


def _account_of(services: Services, customer_id: str) -> str:
    with services.database.engine.connect() as conn:
        return str(conn.execute(select(account.c.id).where(account.c.customer_id == customer_id)).scalar_one())


@pytest.mark.requirement("G2")
def test_score_follows_links_and_signals_through_the_api_and_cli(services: Services, client: TestClient,
                                                                 keys: dict[str, str], settings: object) -> None:
    linkage = LinkageService(services.database, services.keyring, services.ledger)
    signup(services, linkage, person(email="first@one.example"), state="refused")
    returning, _ = signup(services, linkage, person("Anna", "Berg", email="second@two.example",
                                                    phone="+4930222222", national_id="T22222222"))
    quiet, _ = signup(services, linkage, person("Ola", "Nord", email="third@three.example", card=None,
                                                phone="+4930333333", national_id="T33333333"))
    returning_account, quiet_account = _account_of(services, returning), _account_of(services, quiet)
    scorer = RiskScorer(services.database, DEFAULT_WEIGHTS, DEFAULT_BANDS)
    assert scorer.recompute_changed() == 3  # the first pass scores every account
    stored = scorer.stored(returning_account)
    assert stored is not None and stored["score"] >= 40
    [link] = [f for f in stored["factors"] if f["name"] == "ban_evasion_link"]
    assert link["value"] == 1 and link["contribution"] == 40 and "card" in link["why"]
    assert scorer.stored(quiet_account)["score"] == 0  # type: ignore[index]
    # a new open access signal on the quiet account: only it is recomputed
    with services.database.engine.begin() as conn:
        conn.execute(insert(account_signal).values(id=str(uuid.uuid4()), account_id=quiet_account,
                                                   kind="impossible_travel", at=datetime.now(UTC), state="open",
                                                   dedupe_key="t1", detail_json="{}"))
    assert scorer.recompute_changed() == 1
    assert scorer.stored(quiet_account)["score"] == 5  # type: ignore[index]
    answer = client.get(f"/v1/accounts/{returning_account}/risk",
                        headers={"Authorization": f"Bearer {keys['analyst']}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["tier"] in ("standard", "high") and {f["name"] for f in body["factors"]} == set(DEFAULT_WEIGHTS)
    assert client.get(f"/v1/accounts/{returning_account}/risk",
                      headers={"Authorization": f"Bearer {keys['signup-service']}"}).status_code == 403
    assert client.get("/v1/accounts/nope/risk", headers={"Authorization": f"Bearer {keys['analyst']}"}
                      ).status_code == 404
    runner = CliRunner()
    env = {"CLOUDCIP_DATABASE_URL": settings.database_url}  # type: ignore[attr-defined]
    shown = runner.invoke(app, ["--data-dir", str(settings.data_dir), "risk", "show", returning_account],  # type: ignore[attr-defined]
                          env=env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["score"] == body["score"]
