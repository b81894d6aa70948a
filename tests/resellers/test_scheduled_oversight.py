"""E3 on its own: the periodic tasks every ``cloudcip serve`` runs (``runtime.default_tasks``) open the
scheduled reviews that fall due and draw their samples, and run the termination clocks, driven here by a
job runner on a fake clock (no sleeps); and a finding with its incident report is one transaction."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.resellers.builders import auth, register, reseller_customer, share_entities
from tests.resellers.test_reseller_cli import cli, make_reseller_customer
from tests.resellers.test_reseller_oversight import account_state, non_compliant, status_of

from cloudcip import clock
from cloudcip.incidents.schema import incident_report
from cloudcip.jobs.runner import JobRunner
from cloudcip.records.roles import Actor
from cloudcip.resellers.register_schema import reseller_finding, reseller_termination_clock
from cloudcip.resellers.scheduled import review_seed
from cloudcip.runtime import (
    RESELLER_CLOCKS_TASK,
    RESELLER_REVIEWS_TASK,
    Services,
    default_tasks,
    reseller_service,
)

REGISTERED = date(2026, 1, 10)
OFFICER = Actor("test:officer", "compliance-officer")


def at(day: date, hour: int = 2) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def outcome(runner: JobRunner, now: datetime, task: str) -> Any:
    """One pass of the runner at ``now``; the result of ``task`` in it (which must have run cleanly)."""
    ran = {item.name: item for item in runner.run_once(now)}
    assert ran[task].ok, ran[task]
    return ran[task].result


def registered_reseller(services: Services, client: TestClient, keys: dict[str, str],
                        sub_lessees: int) -> tuple[str, str, list[str]]:
    customer_id, account_id = reseller_customer(services)
    shared = share_entities(client, keys, account_id, sub_lessees)
    with clock.frozen(REGISTERED):
        reseller_id = register(client, keys, customer_id)["id"]
    return reseller_id, account_id, shared


@pytest.mark.requirement("E3")
def test_serve_runs_the_oversight_tasks() -> None:
    names = [task.name for task in default_tasks()]
    assert RESELLER_REVIEWS_TASK in names and RESELLER_CLOCKS_TASK in names


# the profile's cadence: 365 days after the registration (never reviewed) or the last review
@pytest.mark.requirement("E3")
@pytest.mark.parametrize(("job_day", "opens"), [
    (REGISTERED + timedelta(days=1), False),
    (REGISTERED + timedelta(days=364), False),
    (REGISTERED + timedelta(days=365), True),
    (REGISTERED + timedelta(days=400), True),  # a job that did not run for weeks still opens it
])
def test_a_scheduled_review_opens_when_due_and_not_before(services: Services, client: TestClient,
                                                          keys: dict[str, str], job_day: date, opens: bool) -> None:
    reseller_id, _account, _shared = registered_reseller(services, client, keys, 3)
    result = outcome(JobRunner(services, default_tasks()), at(job_day), RESELLER_REVIEWS_TASK)
    assert [item["reseller_id"] for item in result["opened"]] == ([reseller_id] if opens else [])
    assert status_of(client, keys, reseller_id) == ("under_review" if opens else "active")


@pytest.mark.control("resellers.scheduled_reviews")
@pytest.mark.requirement("E3")
def test_the_due_review_draws_a_reproducible_sample_and_the_next_one_falls_due_a_year_after(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    reseller_id, _account, shared = registered_reseller(services, client, keys, 40)
    runner = JobRunner(services, default_tasks())
    due = REGISTERED + timedelta(days=365)
    result = outcome(runner, at(due), RESELLER_REVIEWS_TASK)
    [opened] = result["opened"]
    [sampled] = result["sampled"]
    review_id = opened["review_id"]
    assert sampled == {"reseller_id": reseller_id, "review_id": review_id, "seed": review_seed(review_id),
                       "size": 25, "population": 40}
    review = client.get(f"/v1/resellers/{reseller_id}/reviews/{review_id}", headers=auth(keys, "analyst")).json()
    assert review["kind"] == "scheduled" and review["scheduled_for"] == due.isoformat()
    # drawn independently: the sub-lessees in id order, positions from random.Random(seed)
    population = sorted(shared)
    positions = sorted(random.Random(review_seed(review_id)).sample(range(len(population)), 25))
    assert [item["sub_lessee_id"] for item in review["sample"]["items"]] == [population[p] for p in positions]
    entries = services.ledger.entries_for_record("reseller", reseller_id)
    assert [(e["action"], e["actor"]) for e in entries if e["action"] in ("start_review", "sample")] == [
        ("start_review", "job:reseller-oversight"), ("sample", "job:reseller-oversight")]
    # the next day: the review is open, nothing new; the officer closes it, the next is due a year on
    assert outcome(runner, at(due + timedelta(days=1)), RESELLER_REVIEWS_TASK)["opened"] == []
    with clock.frozen(due + timedelta(days=20)):
        response = client.post(f"/v1/resellers/{reseller_id}/findings",
                               json={"kind": "compliant", "reason": "25 of 25 adequate", "review_id": review_id},
                               headers=auth(keys, "compliance-officer"))
    assert response.status_code == 201, response.text
    schedule = reseller_service(services).review_schedule(OFFICER)
    assert schedule[0]["next_review_due"] == (due + timedelta(days=365)).isoformat()
    assert outcome(runner, at(due + timedelta(days=364)), RESELLER_REVIEWS_TASK)["opened"] == []
    assert len(outcome(runner, at(due + timedelta(days=365)), RESELLER_REVIEWS_TASK)["opened"]) == 1


@pytest.mark.control("resellers.termination_clock")
@pytest.mark.requirement("E3")
def test_the_runner_restricts_a_non_compliant_reseller_on_day_30_and_not_on_day_29(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    reseller_id, account_id, _shared = registered_reseller(services, client, keys, 1)
    found = date(2026, 12, 1)
    non_compliant(client, keys, reseller_id, found)
    runner = JobRunner(services, default_tasks())
    result = outcome(runner, at(found + timedelta(days=29)), RESELLER_CLOCKS_TASK)
    assert result["terminated"] == [] and [r["days_left"] for r in result["reminded"]] == [1]
    assert account_state(services, account_id) == "active" and status_of(client, keys, reseller_id) == "terminating"
    result = outcome(runner, at(found + timedelta(days=30)), RESELLER_CLOCKS_TASK)
    assert [item["reseller_id"] for item in result["terminated"]] == [reseller_id]
    assert account_state(services, account_id) == "restricted" and status_of(client, keys, reseller_id) == "terminated"
    # a terminated reseller is never due for review again
    assert outcome(runner, at(found + timedelta(days=800)), RESELLER_REVIEWS_TASK)["opened"] == []


def _counts(services: Services) -> tuple[int, int, int, int]:
    with services.database.engine.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(reseller_finding)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(incident_report)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(reseller_termination_clock)).scalar_one()),
                services.ledger.size())


@pytest.mark.control("resellers.termination_clock")
@pytest.mark.requirement("E3", "G4")
def test_a_failure_after_the_incident_report_leaves_neither_it_nor_the_finding(
        services: Services, client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    reseller_id, _account, _shared = registered_reseller(services, client, keys, 1)
    before = _counts(services)

    def broken_clock(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away between the report and the clock")

    monkeypatch.setattr("cloudcip.resellers.oversight.start_clock", broken_clock)
    with pytest.raises(RuntimeError):
        reseller_service(services).record_finding(reseller_id, "malicious_activity", "crypto-mining botnet", OFFICER)
    assert _counts(services) == before
    monkeypatch.undo()
    made = reseller_service(services).record_finding(reseller_id, "malicious_activity", "crypto-mining botnet",
                                                     OFFICER)
    assert made["incident_id"] is not None and made["termination"]["state"] == "running"
    findings, incidents, clocks, _size = _counts(services)
    assert (findings, incidents, clocks) == (before[0] + 1, before[1] + 1, before[2] + 1)


@pytest.mark.requirement("E3")
def test_cli_review_schedule_and_run_due(cli: Any) -> None:
    customer_id, _account_id = make_reseller_customer(cli)
    reseller_id = cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example").stdout.splitlines()[-1]
    due = clock.today() + timedelta(days=365)
    schedule = json.loads(cli("resellers", "review", "schedule").stdout)
    assert [(item["reseller_id"], item["next_review_due"]) for item in schedule] == [(reseller_id, due.isoformat())]
    early = json.loads(cli("resellers", "review", "run-due", "--as-of", (due - timedelta(days=1)).isoformat()).stdout)
    assert early["opened"] == [] and early["sampled"] == []
    ran = json.loads(cli("resellers", "review", "run-due", "--as-of", due.isoformat()).stdout)
    assert [item["reseller_id"] for item in ran["opened"]] == [reseller_id]
    assert ran["sampled"][0]["population"] == 0  # no sub-lessees yet: an empty sample, said so
    assert json.loads(cli("resellers", "review", "schedule").stdout)[0]["review_open"] is True

__all__ = ["cli"]  # the CLI fixture, shared with the register's CLI tests
