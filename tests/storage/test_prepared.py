"""B1: a statement run on the driver (``storage.prepared``) answers as SQLAlchemy's own execution does,
on SQLite and PostgreSQL: constants of the statement, expanding IN lists of any length (empty too),
bind and result processing (instants, binary), RETURNING, row counts, and errors as SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import and_, bindparam, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError

from cloudcip.linkage.schema import link_cluster, link_identifier
from cloudcip.services import Services
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.prepared import Prepared

AT = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)

HOLDERS = select(link_identifier.c.subject_id, link_identifier.c.kind, link_identifier.c.created_at).where(
    link_identifier.c.token.in_(bindparam("tokens", expanding=True)),
    link_identifier.c.subject_type == "customer", link_identifier.c.kind.in_(["phone", "email", "card"])
).order_by(link_identifier.c.subject_id, link_identifier.c.kind)
TAGGED = union_all(
    select(link_cluster.c.subject_id, literal("first")).where(link_cluster.c.cluster_id.in_(
        bindparam("ids", expanding=True))),
    select(link_cluster.c.subject_id, literal("again")).where(
        and_(link_cluster.c.cluster_id.in_(bindparam("ids", expanding=True)),
             link_cluster.c.updated_at >= bindparam("since")))).order_by("subject_id")
MOVE = update(link_cluster).where(link_cluster.c.cluster_id == bindparam("old")).values(
    cluster_id=bindparam("new"), updated_at=bindparam("at")).returning(link_cluster.c.subject_id)


@pytest.fixture
def rows(services: Services) -> Services:
    with services.database.engine.begin() as conn:
        insert_rows(conn, link_identifier, [
            {"subject_type": "customer", "subject_id": f"c{n}", "customer_id": f"c{n}", "kind": kind,
             "token": f"t{n % 3}", "display": "x", "created_at": AT} for n in range(6) for kind in ("email", "phone")])
        insert_rows(conn, link_cluster, [
            {"subject_type": "customer", "subject_id": f"c{n}", "customer_id": f"c{n}", "cluster_id": f"k{n % 2}",
             "updated_at": AT} for n in range(6)])
    return services


@pytest.mark.requirement("B1")
@pytest.mark.parametrize("tokens", [[], ["t0"], ["t0", "t2"], ["t0", "t1", "t2", "nothing"]])
def test_rows_are_core_rows(rows: Services, tokens: list[str]) -> None:
    with rows.database.engine.connect() as conn:
        expected = [tuple(row) for row in conn.execute(HOLDERS, {"tokens": tokens})]
        assert Prepared(HOLDERS).all(conn, {"tokens": tokens}) == expected
        assert (len(expected) > 0) is bool(tokens)
        assert all(isinstance(row[2], datetime) for row in expected)
        tagged = Prepared(TAGGED)
        for ids in (["k0"], ["k0", "k1"], []):
            params = {"ids": ids, "since": AT}
            assert tagged.all(conn, params) == [tuple(row) for row in conn.execute(TAGGED, params)]


@pytest.mark.requirement("B1")
def test_update_returning_and_errors(rows: Services) -> None:
    moved = Prepared(MOVE)
    with rows.database.engine.begin() as conn:
        assert sorted(moved.scalars(conn, {"old": "k1", "new": "k9", "at": AT})) == ["c1", "c3", "c5"]
        assert Prepared(update(link_cluster).where(link_cluster.c.cluster_id == bindparam("c")).values(
            cluster_id="k0")).execute(conn, {"c": "k9"}) == 3
        assert Prepared(select(link_cluster.c.subject_id).where(link_cluster.c.cluster_id == "k9")).first(conn) \
            is None
    with pytest.raises(IntegrityError), rows.database.engine.begin() as conn:
        Prepared(update(link_cluster).where(link_cluster.c.subject_id == "c1").values(
            subject_id=bindparam("to"))).execute(conn, {"to": "c2"})


@pytest.mark.requirement("B1")
@pytest.mark.parametrize("at", [AT, datetime(2026, 3, 4, 5, 6, 7), datetime(987, 1, 2, 3, 4, 5, 6),
                                datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)])
def test_insert_rows_stores_what_sqlalchemy_stores(services: Services, at: datetime) -> None:
    """The driver's inserts bind instants and binary values as SQLAlchemy's insert does: the stored
    values (read back raw, as the driver holds them) are the same."""
    from sqlalchemy import insert

    from cloudcip.ledger.schema import ledger_tree_head

    def row(key: str) -> dict[str, object]:
        return {"subject_type": "customer", "subject_id": key, "customer_id": key, "cluster_id": "k", "updated_at": at}

    def head(size: int, signature: bytes | None) -> dict[str, object]:
        return {"tree_size": size, "root_hash": bytes(range(32)), "timestamp_ms": 1, "signature": signature}

    with services.database.engine.begin() as conn:
        conn.execute(insert(link_cluster), row("core"))
        insert_rows(conn, link_cluster, [row("driver")])
        conn.execute(insert(ledger_tree_head), [head(901, b"\x00\xffsig"), head(903, bytearray(b"\x01"))])
        insert_rows(conn, ledger_tree_head, [head(902, b"\x00\xffsig"), head(904, bytearray(b"\x01"))])
        stored = dict(conn.exec_driver_sql(
            "SELECT subject_id, updated_at FROM link_cluster WHERE subject_id IN ('core', 'driver')").fetchall())
        heads = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in conn.exec_driver_sql(
            "SELECT tree_size, root_hash, signature FROM ledger_tree_head WHERE tree_size > 900 "
            "ORDER BY tree_size").fetchall()]
    assert stored["driver"] == stored["core"]
    assert heads[0][1:] == heads[1][1:] and heads[2][1:] == heads[3][1:] and heads[0][2] == b"\x00\xffsig"
