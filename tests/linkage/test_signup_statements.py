"""G1: the statements a signup runs on the link graph find what one statement per group or per subject
found: the holders of its strong and weak tokens in one statement (each part bounded on its own), its
subjects' identifiers in one insert (their clusters joined one subject after another), and the tokens
the standard library's HMAC-SHA256 gives (B2)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import Connection, select
from tests.applicants import ENTITY, applicant
from tests.sharing.builders import SIGNUP, person

from cloudcip.crypto.blind_index import IndexedKind, blind_index, normalise_for_index
from cloudcip.domain.customer import CustomerRecord
from cloudcip.incidents.schema import incident_report
from cloudcip.linkage.graph import identifiers_of
from cloudcip.linkage.identifiers import Identifier, _token
from cloudcip.linkage.queries import _HOLDERS_APART_RUN, _HOLDERS_RUN, MAX_LINKS
from cloudcip.linkage.schema import link_cluster, link_identifier
from cloudcip.linkage.service import LinkageService
from cloudcip.runtime import Services
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import beneficial_owner

ADAPTER: TypeAdapter[CustomerRecord] = TypeAdapter(CustomerRecord)
STRONG = [("card", "s1"), ("email", "s2"), ("phone", "s3")]
WEAK = [("signup_ip", "w1"), ("signup_prefix", "w2")]


@pytest.fixture
def linkage(services: Services) -> LinkageService:
    return LinkageService(services.database, services.keyring, services.ledger)


def token(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:40]


def hold(conn: Connection, held: dict[str, int], *, kind_of: dict[str, str]) -> list[str]:
    """``held[name]`` customers holding the token ``name`` (as ``kind_of[name]``), each flagged by an
    incident report of malicious activity; the customers' ids."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    customers: list[str] = []
    for name, count in held.items():
        for _ in range(count):
            customer_id = str(uuid.uuid4())
            customers.append(customer_id)
            rows.append({"subject_type": "customer", "subject_id": customer_id, "customer_id": customer_id,
                         "kind": kind_of[name], "token": token(name), "display": f"{name} shown",
                         "created_at": now})
    insert_rows(conn, link_identifier, rows)
    insert_rows(conn, incident_report, [
        {"id": str(uuid.uuid4()), "kind": "malicious_activity", "account_id": str(uuid.uuid4()), "customer_id": cid,
         "created_at": now, "created_by": "test", "content_sealed": b"-", "content_sha256": "0" * 64}
        for cid in customers])
    return customers


# the holders each case stores (token name -> how many customers hold it), and the kind a token is held
# as when it is not the signup's (the same token under another kind is no link)
HOLDER_CASES = {
    "none held": ({}, {}),
    "strong only": ({"s1": 1, "s2": 2}, {}),
    "weak only": ({"w1": 3}, {}),
    "both": ({"s1": 1, "s3": 1, "w1": 2, "w2": 1}, {}),
    "weak crowded": ({"w1": MAX_LINKS + 50, "s2": 1}, {}),
    "strong crowded": ({"s1": MAX_LINKS + 50, "w2": 1}, {}),
    "another kind": ({"s1": 1, "w1": 1}, {"s1": "wallet", "w1": "hosting_asn"}),
}


@pytest.mark.requirement("G1")
@pytest.mark.parametrize("case", list(HOLDER_CASES))
def test_holders_of_strong_and_weak_tokens_in_one_statement(services: Services, linkage: LinkageService,
                                                            case: str) -> None:
    held, other_kinds = HOLDER_CASES[case]
    kind_of = {**dict((name, kind) for kind, name in STRONG + WEAK), **other_kinds}
    strong = [token(name) for _, name in STRONG]
    weak = [token(name) for _, name in WEAK]
    with services.database.engine.begin() as conn:
        hold(conn, held, kind_of=kind_of)
    with services.database.engine.connect() as conn:
        together = _HOLDERS_APART_RUN.all(conn, {"tokens": strong, "weak": weak})
        apart = _HOLDERS_RUN.all(conn, {"tokens": strong}) + _HOLDERS_RUN.all(conn, {"tokens": weak})
        signup = [Identifier(kind, token(name), f"{name} shown") for kind, name in STRONG + WEAK]
        findings = linkage.reader.evasion_check(conn, signup)
    if "crowded" in case:  # which MAX_LINKS of the crowd come back is the engine's choice: each part bounded
        assert len(together) == len(apart) == MAX_LINKS + 1
        crowd = "w1" if case == "weak crowded" else "s1"
        assert sorted(row for row in together if row[4] != token(crowd)) == \
            sorted(row for row in apart if row[4] != token(crowd))
    else:
        assert together == apart
    expected = {(kind, name) for kind, name in STRONG + WEAK if held.get(name) and name not in other_kinds}
    assert {(f.kind, f.display.removesuffix(" shown")) for f in findings} == expected
    assert all(f.evasion == (f.kind in dict(STRONG)) for f in findings)


def cluster_view(conn: Connection, known: dict[str, str]) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """The identifier rows in the order they were stored, and each subject's cluster (clusters made in
    the test's transaction named by first appearance, the others as ``known`` names them)."""
    rows = [tuple(row) for row in conn.execute(
        select(link_identifier.c.subject_type, link_identifier.c.subject_id, link_identifier.c.customer_id,
               link_identifier.c.kind, link_identifier.c.token, link_identifier.c.display)
        .order_by(link_identifier.c.seq))]
    names = dict(known)
    clusters = {}
    for subject_type, subject_id, cluster_id in conn.execute(
            select(link_cluster.c.subject_type, link_cluster.c.subject_id, link_cluster.c.cluster_id)
            .order_by(link_cluster.c.subject_type, link_cluster.c.subject_id)):
        clusters[f"{subject_type}:{subject_id}"] = names.setdefault(cluster_id, f"new{len(names)}")
    return rows, clusters


@pytest.mark.requirement("G1")
def test_a_signups_subjects_recorded_at_once_join_the_clusters_one_after_another(
        services: Services, linkage: LinkageService) -> None:
    known: dict[str, str] = {}
    stored: list[str] = []
    for number, card, phone in (("T11111111", "4111111111111111", "+4930111111"),
                                ("T33333333", "5555555555554444", "+4930222222")):
        record = ADAPTER.validate_python(person(national_id=number, card=card, phone=phone,
                                                email=f"{number}@one.example"))
        [customer_id] = services.customers.create([record], SIGNUP)
        with services.database.engine.begin() as conn:
            cluster_id = linkage.record_signup(conn, customer_id, record)
        known[cluster_id] = f"of {number}"
        stored.append(customer_id)
    first, second = stored
    owner = {"name": {"given": "Lars", "family": "Berg"}, "birth_date": "1970-01-02", "nationality": "DE",
             "ownership_percent": 20}
    # the entity pays with the first customer's card and has the second's phone (their clusters merge);
    # owners: the first's ID, the second's, the first's again (two owners sharing one), one without an ID
    paying = {"type": "card", "number": "4111111111111111", "expiry": "2029-04"}
    body = applicant(ENTITY, phone="+4930222222", payment_means=[paying],
                     beneficial_owners=[{**owner, "national_id": {"country": "DE", "number": number}}
                                        for number in ("T11111111", "T33333333", "T11111111")] + [owner])
    record = ADAPTER.validate_python(body)
    [customer_id] = services.customers.create([record], SIGNUP)
    with services.database.engine.connect() as conn:
        owners = {f"beneficial_owner:{position}": owner_id for owner_id, position in conn.execute(
            select(beneficial_owner.c.id, beneficial_owner.c.position)
            .where(beneficial_owner.c.customer_id == customer_id))}
    assert len(owners) == 4
    by_subject = identifiers_of(services.keyring.blind_index_key(), record, signup_ip="192.0.2.10")

    def one_after_another(conn: Connection) -> str:  # what record_customer did before: record per subject
        cluster = linkage.graph.record(conn, ("customer", customer_id), customer_id, by_subject["customer"], new=True)
        for name, found in by_subject.items():
            if name != "customer":
                linkage.graph.record(conn, ("beneficial_owner", owners[name]), customer_id, found, new=True)
        return cluster

    views = []
    with services.database.engine.connect() as conn:
        for run in (one_after_another,
                    lambda c: linkage.graph.record_customer(c, customer_id, record, by_subject=by_subject,
                                                            owners=owners),
                    lambda c: linkage.graph.record_customer(c, customer_id, record, by_subject=by_subject)):
            transaction = conn.begin()
            cluster_id = run(conn)
            rows, clusters = cluster_view(conn, known)
            views.append((rows, clusters, clusters[f"customer:{customer_id}"],
                          known.get(cluster_id, "new")))
            transaction.rollback()
    assert views[1] == views[0] and views[2] == views[0]
    rows, clusters, customer_cluster, _ = views[0]
    # the customer (the card, the phone) and three owners (the IDs) in one cluster with the first and the
    # second customer, which kept one of theirs
    assert customer_cluster in known.values()
    assert clusters[f"customer:{first}"] == clusters[f"customer:{second}"] == customer_cluster
    assert [clusters[f"beneficial_owner:{owners[f'beneficial_owner:{n}']}"] for n in range(3)] == \
        [customer_cluster] * 3
    assert f"beneficial_owner:{owners['beneficial_owner:3']}" not in clusters  # no identifier, no subject
    assert len([row for row in rows if row[2] == customer_id]) == sum(len(found) for found in by_subject.values())


@pytest.mark.requirement("G1")
@pytest.mark.requirement("B2")
@pytest.mark.parametrize("key", [b"k" * 32, bytes(range(64)), b"x" * 100, b"short"])
def test_blind_indexes_and_link_tokens_are_hmac_sha256_truncated(key: bytes) -> None:
    cases: list[tuple[IndexedKind, str, str]] = [
        ("email", "Anna@Example.de ", ""), ("national_id", "t22-000 129", "DE"),
        ("card_number", "4111 1111 1111 1111", ""), ("wallet", "0xABCdef", "")]
    for kind, value, scope in cases:
        message = f"{kind}\x00{scope}\x00{normalise_for_index(kind, value)}".encode()
        assert blind_index(key, kind, value, scope=scope) == hmac.new(key, message, hashlib.sha256).hexdigest()[:40]
    for kind, value in (("email", "anna@example.de"), ("signup_prefix", "192.0.2.0/24"), ("device_id", "é-1")):
        assert _token(key, kind, value) == hmac.new(key, f"link\x00{kind}\x00{value}".encode(),
                                                    hashlib.sha256).hexdigest()[:40]
