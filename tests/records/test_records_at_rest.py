"""B2: nobody reading the database file, its WAL or the PostgreSQL tables sees a sensitive value."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from cloudcip.domain.customer import Card, IndividualCustomer
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services
from cloudcip.storage.tables import all_tables

SIGNUP = Actor("test:signup", "signup-service")


def _secrets_of(records: list) -> list[str]:  # type: ignore[type-arg]
    values: list[str] = []
    for record in records:
        values += [record.email, record.phone, record.phone.lstrip("+")]
        if isinstance(record, IndividualCustomer):
            values.append(record.birth_date.isoformat())
            if record.national_id:
                values.append(record.national_id.number)
        else:
            for owner in record.beneficial_owners:
                if owner.birth_date:
                    values.append(owner.birth_date.isoformat())
                if owner.national_id:
                    values.append(owner.national_id.number)
        for means in record.payment_means:
            if isinstance(means, Card):
                values.append("".join(ch for ch in means.number if ch.isdigit()))
            elif means.type == "bank_account" and means.iban:
                values.append(means.iban)
            elif means.type == "crypto_wallet":
                values.append(means.address)
    return [v for v in values if len(v) >= 6]


def find_in_clear(raw: bytes, values: list[str]) -> list[str]:
    """The values that occur in ``raw``: one pass over its printable runs, keyed by 6-byte prefixes."""
    by_prefix: dict[bytes, list[bytes]] = {}
    for value in values:
        encoded = value.encode()
        by_prefix.setdefault(encoded[:6], []).append(encoded)
    found: set[bytes] = set()
    for run in set(re.findall(rb"[\x20-\x7e]{6,}", raw)):
        for start in range(len(run) - 5):
            candidates = by_prefix.get(run[start:start + 6])
            if candidates:
                found.update(c for c in candidates if run.startswith(c, start))
    return sorted(v.decode() for v in found)


def test_the_scan_finds_a_planted_value() -> None:
    raw = b"\x00\x01garbage" + b"+4930123456" + b"\xff" + b"ab"
    assert find_in_clear(raw, ["+4930123456", "4930123456", "DE123456789"]) == ["+4930123456", "4930123456"]


def _database_bytes(services: Services) -> bytes:
    if services.database.is_sqlite:
        path = Path(services.database.engine.url.database or "")
        blobs = [path.read_bytes()]
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            blobs.append(wal.read_bytes())
        return b"".join(blobs)
    dump = []
    with services.database.engine.connect() as conn:
        for table in all_tables().sorted_tables:
            for (row_text,) in conn.execute(text(f'SELECT t::text FROM "{table.name}" t')):
                dump.append(row_text)
    return "\n".join(dump).encode()


def test_thousand_customers_leave_no_sensitive_value_in_clear(services: Services) -> None:
    records = list(SyntheticCustomers(seed=7).records(1000))
    for start in range(0, len(records), 250):
        services.customers.create(records[start:start + 250], SIGNUP)
    secrets = _secrets_of(records)
    assert len(secrets) > 4000
    raw = _database_bytes(services)
    assert len(raw) > 100_000
    leaked = find_in_clear(raw, secrets)
    assert leaked == [], f"{len(leaked)} sensitive values found in clear"
    # the scan itself can find things: the record type and country codes are stored in clear
    assert b"individual" in raw


def test_card_display_keeps_first_six_and_last_four_only(services: Services) -> None:
    record = next(SyntheticCustomers(seed=3).records(1)).model_copy(deep=True)
    record.payment_means = [Card(type="card", number="4111 1111 1111 1111", expiry="2030-01")]
    [customer_id] = services.customers.create([record], SIGNUP)
    officer = Actor("test:officer", "compliance-officer")
    view = services.customers.read(customer_id, officer, purpose="case review", unmask=True)
    assert view["payment_means"][0]["display"] == "411111••••••1111"
    assert "4111111111111111" not in str(view)
