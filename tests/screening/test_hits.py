"""Hits and adjudication (D5): no duplicates, reasons for false positives, cleared stays cleared
until the record or the list entry changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening import hits as store
from cloudcip.screening.matcher import Hit
from cloudcip.screening.schema import screening_hit

ANALYST = Actor("test:analyst", "analyst")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
SUBJECT = "11111111-1111-1111-1111-111111111111"


def hit(party_id: str = "42", score: float = 0.95, band: str = "block") -> Hit:
    return Hit(party_source="test", party_id=party_id, matched_name="Viktor Bout", score=score,
               band=band,  # type: ignore[arg-type]
               features={"name": score}, explanation=[f"name {score:.2f}"])


def record(services: Services, hits: list[Hit], fields: dict[str, str], entry_hash: str = "h1") -> list[str]:
    with services.database.engine.begin() as conn:
        return store.record_hits(conn, "customer", SUBJECT, store.subject_hash(KEY, fields), hits,
                                 lambda source, source_id: entry_hash, NOW, index_key=KEY)


def total(services: Services) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(screening_hit)).scalar_one())


def test_subject_hash_is_keyed_and_follows_the_record() -> None:
    fields = {"name": "Viktor Bout", "birth_date": "1967-01-13"}
    assert store.subject_hash(KEY, fields) == store.subject_hash(KEY, dict(reversed(list(fields.items()))))
    assert store.subject_hash(KEY, fields) != store.subject_hash(b"j" * 32, fields)
    assert store.subject_hash(KEY, fields) != store.subject_hash(KEY, {**fields, "birth_date": "1967-01-14"})
    assert "Bout" not in store.subject_hash(KEY, fields)


def test_hits_are_stored_open_once(services: Services) -> None:
    fields = {"name": "Viktor Bout"}
    created = record(services, [hit("42"), hit("43", 0.5, "clear"), hit("44", 0.85, "review")], fields)
    assert len(created) == 2  # the clear one is not a hit
    assert record(services, [hit("42"), hit("44", 0.85, "review")], fields) == []
    assert total(services) == 2
    with services.database.engine.connect() as conn:
        open_hits = store.list_hits(conn, state="open")
        assert {h.list_source_id for h in open_hits} == {"42", "44"}
        assert open_hits[0].explanation["matched_name"] == "Viktor Bout"
        assert store.count_hits(conn, "open") == 2
        with pytest.raises(store.DecisionRefused):
            store.list_hits(conn, state="maybe")


def test_false_positive_needs_a_reason_and_stays_cleared_until_something_changes(services: Services) -> None:
    fields = {"name": "Viktor Bout", "birth_date": "1990-05-05"}
    [hit_id] = record(services, [hit()], fields)
    with pytest.raises(store.DecisionRefused) as refused:
        store.decide(services, ANALYST, hit_id, "false_positive", "  ")
    assert refused.value.fields[0].field == "reason"
    with pytest.raises(store.DecisionRefused):
        store.decide(services, ANALYST, hit_id, "open", "reopen")
    decided = store.decide(services, ANALYST, hit_id, "false_positive", "born 23 years later; different person",
                           clock=lambda: NOW)
    assert (decided.state, decided.decided_by, decided.decided_at is not None) == ("false_positive", ANALYST.name, True)
    with pytest.raises(store.DecisionRefused):
        store.decide(services, ANALYST, hit_id, "confirmed", None)

    assert record(services, [hit(score=0.97)], fields) == []  # re-screening: still cleared
    with services.database.engine.connect() as conn:
        assert store.list_hits(conn, state="open") == []

    [after_record_change] = record(services, [hit()], {**fields, "birth_date": "1967-01-13"})
    [after_entry_change] = record(services, [hit()], fields, entry_hash="h2")
    with services.database.engine.connect() as conn:
        assert {h.id for h in store.list_hits(conn, state="open")} == {after_record_change, after_entry_change}
    assert [e["action"] for e in services.ledger.entries_for_record("screening_hit", hit_id)] == ["adjudicate"]


def test_escalate_then_confirm(services: Services) -> None:
    [hit_id] = record(services, [hit()], {"name": "Viktor Bout"})
    assert store.decide(services, ANALYST, hit_id, "escalated", None).state == "escalated"
    confirmed = store.decide(services, ANALYST, hit_id, "confirmed", "same passport number")
    assert confirmed.state == "confirmed" and confirmed.reason == "same passport number"
    with pytest.raises(store.HitNotFound):
        store.decide(services, ANALYST, "00000000-0000-0000-0000-000000000000", "confirmed", None)
    with pytest.raises(ValueError), services.database.engine.begin() as conn:
        store.record_hits(conn, "alien", SUBJECT, "x", [hit()], lambda s, i: None, NOW, index_key=KEY)
