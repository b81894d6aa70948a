"""``cloudcip risk``: an account's risk score with its factors, and recomputing scores (G2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cloudcip.cli.context import emit, services_of
from cloudcip.linkage.risk import RiskScorer
from cloudcip.runtime import Services, policy_in_force

if TYPE_CHECKING:
    from cloudcip.jobs.runner import PeriodicTask

app = typer.Typer(help="Risk scores of accounts from named, weighted factors.", no_args_is_help=True)


def risk_scorer(services: Services) -> RiskScorer:
    """The scorer of the policy in force (``CLOUDCIP_POLICY``): its ``risk_score`` weights and bands."""
    return RiskScorer.of_policy(services.database, policy_in_force(services).risk_score)


@app.command("show")
def show(ctx: typer.Context, account_id: Annotated[str, typer.Argument(help="Account id.")]) -> None:
    """The account's score now, its tier and every factor (value, weight, contribution, why) as JSON."""
    with services_of(ctx) as services:
        scorer = risk_scorer(services)
        with services.database.engine.connect() as conn:
            scored = scorer.score_account(conn, account_id)
    emit(json.dumps({"account_id": account_id, **scored.as_json()}, indent=2))


@app.command("recompute")
def recompute(ctx: typer.Context,
              every: Annotated[bool, typer.Option("--all", help="Every account, not only the changed ones.")] = False
              ) -> None:
    """Recompute and store the scores of the accounts whose evidence, links, signals, hits or matches
    changed since the last pass (``--all``: every account)."""
    from sqlalchemy import select

    from cloudcip.storage.schema import account

    with services_of(ctx) as services:
        scorer = risk_scorer(services)
        if every:
            with services.database.engine.connect() as conn:
                done = scorer.recompute(conn.execute(select(account.c.id)).scalars())
        else:
            done = scorer.recompute_changed()
    emit(json.dumps({"accounts_scored": done}))


def scheduled_risk_task() -> PeriodicTask:
    """``cloudcip serve``: scores of changed accounts recomputed every 10 minutes."""
    from cloudcip.jobs.runner import PeriodicTask

    return PeriodicTask("risk-scores", every_seconds=600.0,
                        run=lambda services, _now: risk_scorer(services).recompute_changed())
