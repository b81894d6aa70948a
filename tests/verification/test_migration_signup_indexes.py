"""B1, B3: the migrations that take indexes off a signup's commit (issue 11) keep every row, and the
cases written before them read back the same after them, through the indexes left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import select, update
from tests import applicants
from tests.applicants import applicant
from tests.migrations import indexes, redo, undo

from cloudcip.domain.application import ApplicationRequest
from cloudcip.records.roles import Actor
from cloudcip.reports.certification import CertificationService, live
from cloudcip.runtime import Services
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, customer
from cloudcip.verification.applications import build_application_service
from cloudcip.verification.case_store import load_case
from cloudcip.verification.schema import application, person_determination
from cloudcip.verification.successors import reverifications_due

SIGNUP = Actor("test:signup", "signup-service")


def _signups(services: Services, count: int) -> list[str]:
    service = build_application_service(services)
    adapter = TypeAdapter(ApplicationRequest)
    return [service.submit(adapter.validate_python(applicant(applicants.APPLICATION, email=f"a{n}@example.de")),
                           SIGNUP)["id"] for n in range(count)]


def _cases(database: Database, ids: list[str]) -> tuple[list[Any], list[Any]]:
    with database.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(person_determination).order_by(person_determination.c.id))]
        cases = [load_case(conn, i)[1] for i in ids]
    return rows, cases


def _plan(database: Database, sql: str, *params: str) -> str:
    with database.engine.connect() as conn:
        return " ".join(str(row[3]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.requirement("B1", "B3")
def test_0106_keeps_the_determinations_and_their_reads(services: Services) -> None:
    database = services.database
    undo(database, "0106")
    assert {"ix_person_determination_application_id", "ix_person_determination_subject"} <= \
        indexes(database, "person_determination")
    assert "ix_screening_hit_subject" in indexes(database, "screening_hit")
    ids = _signups(services, 3)
    rows, cases = _cases(database, ids)
    assert rows and all(case.subjects for case in cases)

    redo(database)
    assert "ix_person_determination_application_id" not in indexes(database, "person_determination")
    assert "ix_screening_hit_subject" not in indexes(database, "screening_hit")
    assert _cases(database, ids) == (rows, cases)
    assert all(case.subjects for case in _cases(database, _signups(services, 1))[1])
    if database.is_sqlite:  # an application's determinations and a subject's hits: still by an index
        assert "USING INDEX ix_person_determination_subject (application_id=?)" in _plan(
            database, "SELECT * FROM person_determination WHERE application_id = ? ORDER BY id", ids[0])
        assert "USING INDEX sqlite_autoindex_screening_hit_2 (subject_type=? AND subject_id=?)" in _plan(
            database, "SELECT * FROM screening_hit WHERE subject_type = ? AND subject_id = ?", "customer", "c")


def _index_sql(database: Database, name: str) -> str:
    with database.engine.connect() as conn:
        if database.is_sqlite:
            return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).scalar())
        return str(conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                        "AND indexname = %s", (name,)).scalar())


@pytest.mark.requirement("B1", "B3", "A7")
def test_0107_indexes_only_the_set_values_and_finds_those_written_before(services: Services) -> None:
    database = services.database
    undo(database, "0107")
    assert "IS NOT NULL" not in _index_sql(database, "ix_account_parent_account_id")
    reseller, sub, other = _signups(services, 3)
    due = datetime.now(UTC) - timedelta(days=1)
    with database.engine.begin() as conn:
        ids = {a: conn.execute(select(application.c.account_id).where(application.c.id == a)).scalar_one()
               for a in (reseller, sub, other)}
        conn.execute(update(account).where(account.c.id == ids[sub]).values(parent_account_id=ids[reseller]))
        conn.execute(update(application).where(application.c.id.in_([sub, other]))
                     .values(state="approved", reverify_due=due))
    service = build_application_service(services)
    before = sorted(reverifications_due(service, datetime.now(UTC)))
    assert before == sorted([sub, other])

    redo(database)
    for name in ("ix_account_parent_account_id", "ix_application_reverify_due"):
        assert "IS NOT NULL" in _index_sql(database, name)
    with database.engine.connect() as conn:
        assert conn.execute(select(account.c.id).where(account.c.parent_account_id == ids[reseller])).all() == \
            [(ids[sub],)]
    assert sorted(reverifications_due(service, datetime.now(UTC))) == before
    if database.is_sqlite:  # a reseller's accounts and the dates due: still by their (partial) indexes
        assert "USING INDEX ix_account_parent_account_id (parent_account_id=?)" in _plan(
            database, "SELECT id FROM account WHERE parent_account_id = ?", ids[reseller])
        assert "USING INDEX ix_application_reverify_due (reverify_due<?)" in _plan(
            database, "SELECT id FROM application WHERE reverify_due <= ?", due.isoformat())


@pytest.mark.requirement("B1", "B3", "H1")
def test_0108_the_purged_customers_ids_read_as_before(services: Services) -> None:
    database = services.database
    undo(database, "0108")
    assert "ix_customer_status_id" in indexes(database, "customer")
    signups = _signups(services, 3)
    with database.engine.begin() as conn:
        purged = conn.execute(select(application.c.customer_id).where(application.c.id == signups[0])).scalar_one()
        conn.execute(update(customer).where(customer.c.id == purged).values(status="purged"))

    def counted() -> tuple[list[Any], list[Any]]:
        with database.engine.connect() as conn:
            live_accounts = conn.execute(select(account.c.id).where(live(account.c.customer_id))
                                         .order_by(account.c.id)).all()
            return live_accounts, conn.execute(CertificationService._foreign_owners_query()).all()

    before = counted()
    assert len(before[0]) == 2
    redo(database)
    assert "ix_customer_status_id" not in indexes(database, "customer")
    assert "purged" in _index_sql(database, "ix_customer_purged_id")
    assert counted() == before
    if database.is_sqlite:
        with database.engine.connect() as conn:
            statement = select(account.c.id).where(live(account.c.customer_id)).compile(conn)
        assert "USING COVERING INDEX ix_customer_purged_id (status=?)" in _plan(database, str(statement))
