"""Benchmark of re-screening every customer (D4): ``cloudcip bench rescreen --json``.

All real lists of ../shared/data/lists are loaded (the demo list where they are absent). N generated
customers are stored (sealed, on the ledger), ``planted`` of them carrying the names and birth dates of
made-up persons that a later list update designates. Then:

1. a full re-screening run of every customer (the first run, or one after a matcher change), with
   ``workers`` processes;
2. a list update: a new snapshot adds the made-up persons (and ``extra`` more entries);
3. the delta re-screening run that update starts: every customer, against what changed.

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
from sqlalchemy import select

from bench.signup import load_lists
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers, parse_customer
from cloudcip.runtime import initialise, open_services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.rescreen import rescreen_all
from cloudcip.screening.schema import screening_hit
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import import_publication
from cloudcip.settings import Settings

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


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(customers: int = 100_000, planted: int = 25, extra: int = 75, workers: int = 2,
        batch: int = 1000) -> dict[str, Any]:
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
            targets = iter(update[:planted])
            started = time.perf_counter()
            stored = 0
            planted_ids: set[str] = set()
            while stored < customers:
                size = min(batch, customers - stored)
                records = [(_planted_record(generator, next(targets)) if stored + offset in plant_at
                            else parse_customer(generator.record_json())) for offset in range(size)]
                ids = services.customers.create(records, SIGNUP)
                planted_ids.update(ids[offset] for offset in range(size) if stored + offset in plant_at)
                stored += size
            figures["generate_s"] = round(time.perf_counter() - started, 1)
            screening = ScreeningService(services)
            started = time.perf_counter()
            screening.state()  # the in-force index, as a running service holds it
            first_index_s = time.perf_counter() - started
            started = time.perf_counter()
            full = rescreen_all(services, "bench: first run", screening=screening, full=True, workers=workers)
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
            delta = rescreen_all(services, "bench: list update", screening=screening, workers=workers)
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
