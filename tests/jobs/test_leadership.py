"""More than one machine (issue 13): the periodic jobs run on one node at a time, the one holding the
jobs' PostgreSQL advisory lock; when it lets go (or dies: see test_two_nodes.py) another takes over;
two deployments in two schemas of one database lead independently. SQLite: one process, it leads."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import POSTGRES_URL

from cloudcip.jobs.leadership import JobLeadership
from cloudcip.jobs.runner import JobRunner, PeriodicTask
from cloudcip.runtime import Services
from cloudcip.storage.database import open_database

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.requirement("B1")
def test_one_node_leads_the_jobs_and_another_takes_over(services: Services, database_url: str) -> None:
    first = JobLeadership(services.database, name="cloudcip-jobs node-1 1")
    other_database = open_database(database_url)
    second = JobLeadership(other_database, name="cloudcip-jobs node-2 2")
    try:
        ran: list[str] = []
        runners = {name: JobRunner(services, [PeriodicTask("job", 10, lambda _s, _n, name=name: ran.append(name))],
                                   leadership=leadership)
                   for name, leadership in (("node-1", first), ("node-2", second))}
        assert first.held()
        runners["node-1"].run_once(T0)
        runners["node-2"].run_once(T0)
        if services.database.is_sqlite:  # one machine: every process leads (the file lock orders writes)
            assert second.held() and ran == ["node-1", "node-2"]
            return
        assert not second.held() and ran == ["node-1"]  # the job ran once across the two nodes
        assert first.held()  # and the lead stays where it is
        first.release()
        assert second.held()
        runners["node-2"].run_once(T0)
        assert ran == ["node-1", "node-2"]
        assert not first.held()
    finally:
        first.release()
        second.release()
        other_database.dispose()


@pytest.mark.postgres
@pytest.mark.requirement("B1")
def test_two_deployments_in_two_schemas_lead_independently(postgres_schema_url: str) -> None:
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    databases = [open_database(postgres_schema_url), open_database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")]
    leaders = [JobLeadership(database) for database in databases]
    try:
        assert all(leader.held() for leader in leaders)
        assert not JobLeadership(databases[0]).held()
    finally:
        for leader in leaders:
            leader.release()
        for database in databases:
            database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
