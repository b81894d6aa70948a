"""Benchmark of re-screening every customer (D4): ``cloudcip bench rescreen --json``.

All real lists of ../shared/data/lists are loaded (the demo list where they are absent). N generated
customers are stored (sealed, on the ledger), ``planted`` of them carrying the names and birth dates of
made-up persons that a later list update designates. Then:

1. a full re-screening run of every customer (the first run, or one after a matcher change), with
   ``workers`` processes;
2. a list update: a new snapshot adds the made-up persons (and ``extra`` more entries);
3. the delta re-screening run that update starts: every customer, against what changed;
4. a jurisdiction measure (prohibit, IR) comes into effect, and the run it starts closes accounts
   (D1, D2). Every customer holds an account; ``measure_share`` of them are planted in four groups:
   foreign persons living in Iran (address, phone and nationality: their accounts must close), Iranian
   nationals living in Germany with German contacts (nationality alone is weak evidence: never closed),
   U.S. persons living in Iran (a jurisdiction measure reaches foreign persons only: never closed), and
   German residents whose phone alone is Iranian (medium evidence alone: never closed). The figures
   count the accounts closed and restricted per group; ``wrongly_closed`` must be 0 and
   ``located_closed`` must equal the located group's accounts.

Figures: the in-force index's build (before the first run, and again after the update: a running
service rebuilds it for its signups when a snapshot changes, whatever re-screens), customers/s and wall
time of each run, the planted customers the delta run found (it must find
all of them), the 1,000,000-customer time at each measured rate (labelled as extrapolated when N is
smaller), peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select, update

from bench.signup import load_lists
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers, parse_customer
from cloudcip.runtime import initialise, open_services, screening_service, sub_lessee_rescreen
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.measures import add_measure
from cloudcip.screening.rescreen import rescreen_all
from cloudcip.screening.schema import screening_hit
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import import_publication
from cloudcip.settings import Settings
from cloudcip.storage.schema import account, customer

SIGNUP = Actor("bench:signup", "signup-service")
OFFICER = Actor("bench:officer", "compliance-officer")
TARGET_CUSTOMERS = 1_000_000


def _made_up_persons(count: int, seed: int) -> list[DesignatedParty]:
    fake = Faker(["en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "tr_TR", "pt_BR"], seed=seed)
    Faker.seed(seed)
    rng = random.Random(seed)
    persons = []
    for number in range(count):
        birth = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)).isoformat()
        given, family = fake.first_name(), fake.last_name()
        persons.append(DesignatedParty(source="bench-update", source_id=f"u{number}", schema="Person",
                                       names=[ListedName(f"{given} {family}", given=given, family=family)],
                                       birth_dates=[birth]))
    return persons


def _planted_record(generator: SyntheticCustomers, party: DesignatedParty) -> Any:
    document = generator.record_json()
    while document["kind"] != "individual":
        document = generator.record_json()
    document["name"] = {"given": party.names[0].given, "family": party.names[0].family}
    document["birth_date"] = party.birth_dates[0]
    return parse_customer(document)


#: the planted groups of the measure phase: (address country, phone, nationality, U.S. person, closes)
MEASURE_GROUPS: dict[str, tuple[str, str, str, bool, bool]] = {
    "located_in_ir": ("IR", "+982123456789", "IR", False, True),
    "ir_national_in_de": ("DE", "+4930901820", "IR", False, False),
    "us_person_in_ir": ("IR", "+982123456788", "IR", True, False),
    "ir_phone_in_de": ("DE", "+982123456787", "DE", False, False),
}


def _measure_record(generator: SyntheticCustomers, group: str) -> Any:
    document = generator.record_json()
    while document["kind"] != "individual":
        document = generator.record_json()
    country, phone, nationality, _, _ = MEASURE_GROUPS[group]
    document["address"] = {"line1": "1 Test Street", "city": "Testville", "country": country}
    document["phone"], document["nationality"] = phone, nationality
    document.pop("national_id", None)
    document.pop("payment", None)
    return parse_customer(document)


def _open_accounts(services: Any, customer_ids: list[str], opened: datetime) -> None:
    """One standard account per customer, as the signup would have opened it (one statement per batch)."""
    rows = [{"id": f"acct-{cid}", "customer_id": cid, "type": "standard", "channel": "self_serve",
             "state": "active", "opened_at": opened} for cid in customer_ids]
    with services.database.engine.begin() as conn:
        conn.execute(insert(account), rows)


def _measure_phase(services: Any, screening: ScreeningService, groups: dict[str, set[str]],
                   workers: int) -> dict[str, Any]:
    """The IR prohibition comes into effect; the run it starts; the accounts closed per group (D1, D2)."""
    us_persons = groups["us_person_in_ir"]
    with services.database.engine.begin() as conn:
        for chunk in range(0, len(us_persons), 500):
            conn.execute(update(customer).where(customer.c.id.in_(sorted(us_persons)[chunk:chunk + 500]))
                         .values(person_status="us_person", person_basis="us_citizen"))
    determined = date(2026, 1, 1)
    measure = add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                          determination_date=determined)
    effective = datetime.combine(measure.effective_date, datetime.min.time(), UTC)
    screening.invalidate()
    started = time.perf_counter()
    report = rescreen_all(services, "bench: measure effective", screening=screening, workers=workers,
                          clock=lambda: effective.replace(hour=1), then=sub_lessee_rescreen(services))
    run_s = time.perf_counter() - started
    with services.database.engine.connect() as conn:
        states = {row.customer_id: row.state for row in conn.execute(
            select(account.c.customer_id, account.c.state).where(account.c.state != "active"))}
        total_accounts = conn.execute(select(func.count()).select_from(account)).scalar_one()
    per_group = {name: {"customers": len(ids),
                        "closed": sum(1 for c in ids if states.get(c) == "closed"),
                        "restricted": sum(1 for c in ids if states.get(c) == "restricted")}
                 for name, ids in groups.items()}
    planted = set().union(*groups.values())
    expected = groups["located_in_ir"]
    closed = {c for c, state in states.items() if state == "closed"}
    return {"measure_run_mode": report.mode, "measure_run_s": round(run_s, 2),
            "measure_accounts": total_accounts, "measure_groups": per_group,
            "located_closed": len(closed & expected), "located_expected": len(expected),
            "wrongly_closed": len(closed - expected),
            "wrongly_closed_unplanted": len(closed - planted),
            "restricted_total": sum(1 for state in states.values() if state == "restricted")}


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(customers: int = 100_000, planted: int = 25, extra: int = 75, workers: int = 2,
        batch: int = 1000, measure_share: float = 0.02) -> dict[str, Any]:
    figures: dict[str, Any] = {"customers": customers, "workers": workers}
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-rescreen-") as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/data/cloudcip.db")
        initialise(settings)
        services = open_services(settings)
        try:
            figures["lists_loaded"] = load_lists(services)
            update = _made_up_persons(planted + extra, seed=11)
            generator = SyntheticCustomers(seed=5)
            rng = random.Random(5)
            plant_at = set(rng.sample(range(customers), planted))
            per_group = max(1, int(customers * measure_share / len(MEASURE_GROUPS)))
            free = [n for n in range(customers) if n not in plant_at]
            group_at = {n: name for name, positions in zip(MEASURE_GROUPS, (
                rng.sample(free, per_group * len(MEASURE_GROUPS))[i::len(MEASURE_GROUPS)]
                for i in range(len(MEASURE_GROUPS))), strict=True) for n in positions}
            groups: dict[str, set[str]] = {name: set() for name in MEASURE_GROUPS}
            targets = iter(update[:planted])
            started = time.perf_counter()
            stored = 0
            planted_ids: set[str] = set()
            opened = datetime(2025, 6, 1, tzinfo=UTC)
            while stored < customers:
                size = min(batch, customers - stored)
                records = [(_planted_record(generator, next(targets)) if stored + offset in plant_at
                            else _measure_record(generator, group_at[stored + offset]) if stored + offset in group_at
                            else parse_customer(generator.record_json())) for offset in range(size)]
                ids = services.customers.create(records, SIGNUP)
                _open_accounts(services, ids, opened)
                planted_ids.update(ids[offset] for offset in range(size) if stored + offset in plant_at)
                for offset in range(size):
                    if stored + offset in group_at:
                        groups[group_at[stored + offset]].add(ids[offset])
                stored += size
            figures["generate_s"] = round(time.perf_counter() - started, 1)
            screening = screening_service(services)
            started = time.perf_counter()
            screening.state()  # the in-force index, as a running service holds it
            first_index_s = time.perf_counter() - started
            started = time.perf_counter()
            full = rescreen_all(services, "bench: first run", screening=screening, full=True, workers=workers,
                               then=sub_lessee_rescreen(services))
            full_s = time.perf_counter() - started
            with services.database.engine.connect() as conn:
                hits_before = {row.subject_id for row in conn.execute(select(screening_hit.c.subject_id))}
            digest = hashlib.sha256(repr([p.names for p in update]).encode()).hexdigest()
            import_publication(services, ListPublication("own-csv", "bench-update", update, [], digest), OFFICER)
            started = time.perf_counter()
            screening.invalidate()
            screening.state()  # rebuilt for the new snapshot: the signup path needs it too, whatever re-screens
            update_index_s = time.perf_counter() - started
            started = time.perf_counter()
            delta = rescreen_all(services, "bench: list update", screening=screening, workers=workers,
                                then=sub_lessee_rescreen(services))
            delta_s = time.perf_counter() - started
            with services.database.engine.connect() as conn:
                found = conn.execute(select(screening_hit.c.subject_id).where(
                    screening_hit.c.list_source == "bench-update")).scalars().all()
            scale = "measured" if customers >= TARGET_CUSTOMERS else "extrapolated"
            figures.update({
                "index_build_s": round(first_index_s, 1), "index_rebuild_after_update_s": round(update_index_s, 1),
                "full_mode": full.mode, "full_s": round(full_s, 1),
                "full_customers_per_s": round(customers / full_s, 1),
                f"full_1m_s_{scale}": round(TARGET_CUSTOMERS / (customers / full_s), 1),
                "full_hits": full.new_hits, "customers_with_hits_before_update": len(hits_before),
                "delta_mode": delta.mode, "delta_s": round(delta_s, 2),
                "delta_customers_per_s": round(customers / delta_s, 1),
                f"delta_1m_s_{scale}": round(TARGET_CUSTOMERS / (customers / delta_s), 1),
                f"delta_1m_s_with_index_rebuild_{scale}": round(
                    update_index_s + TARGET_CUSTOMERS / (customers / delta_s), 1),
                "delta_counts": delta.counts, "delta_new_hits": delta.new_hits,
                "planted": planted, "planted_found": len(planted_ids & set(found)),
                "other_customers_hit_by_the_update": len(set(found) - planted_ids),
            })
            figures.update(_measure_phase(services, screening, groups, workers))
            figures.update({
                "peak_rss_mib": _rss_mib(), "load_average_1m": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            })
        finally:
            services.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.customers, workers=arguments.workers)))
