"""Benchmark of sharing (G3): ``cloudcip bench sharing --json``.

- ``page_ms_p50/p99``: a TAXII 2.1 page of 1,000 objects (``GET .../objects/?limit=1000``, in process
  through the ASGI app: authentication, the page query, the stored JSON texts joined), walking a
  collection of ``--objects`` indicators page by page three times; ``peer_page_*``: the same objects
  contributed by one peer, paged by another (what it receives scrubbed, as stored when they arrived);
  ``first_page_ms``: the first request after the app starts (imports, first compiled queries), apart;
- ``ingest_s``: ``--indicators`` shared indicators (addresses, networks and wallets, with windows)
  taken in and matched against ``--customers`` customers (wallets by blind index) and
  ``--events`` access events (addresses within each indicator's window), with the matches found;
  ``*_cpu_*``: the CPU time the process spent (beside the wall clock, which on a loaded machine mostly
  measures the wait for a core), with the 1-minute load at the start and the end.

Defaults are the issue's figures (100,000 indicators, 1,000,000 customers, 10,000,000 events); the
stores are filled with bulk inserts of generated rows before anything is timed.
"""

from __future__ import annotations

import gc
import ipaddress
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cloudcip.api.app import create_app
from cloudcip.crypto.blind_index import blind_index
from cloudcip.records.roles import Actor, create_api_key
from cloudcip.runtime import indicator_intake, initialise, open_services
from cloudcip.settings import Settings
from cloudcip.sharing.envelope import check_objects
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import customer, payment_means

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PEER = Actor("bench:peer-intake", "compliance-officer")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ip(n: int) -> str:
    return str(ipaddress.IPv4Address(0x0A000000 + n))  # 10.0.0.0/8: documentation of a bench, never contacted


def _indicator(n: int, pattern: str, start: datetime) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=n + 1, version=4)}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "valid_until": (start + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "object_marking_refs": [GREEN]}


def indicators(count: int, customers: int, events_accounts: int) -> list[dict[str, Any]]:
    found = []
    for n in range(count):
        start = T0 + timedelta(days=n % 300)
        if n % 10 == 0:
            pattern = f"[x-cloudcip-crypto-wallet:address = '0x{(n * 7919) % max(customers, 1):040x}']"
        elif n % 10 == 1:
            pattern = f"[ipv4-addr:value ISSUBSET '{_ip((n * 31) % max(events_accounts, 1) * 4)}/30']"
        else:
            pattern = f"[ipv4-addr:value = '{_ip((n * 31) % max(events_accounts * 4, 1))}']"
        found.append(_indicator(n, pattern, start))
    return found


SPAN_MS = 400 * 86_400_000  # the events' span: 400 days from T0
EVENT_ROW = ("INSERT INTO access_event (event_id, account_id, principal, time_ms, ip, action, kind) "
             "VALUES (?, ?, 'root', ?, ?, 'api.call', 'access')")


def _ip_bytes(n: int) -> bytes:
    return b"\x00" * 10 + b"\xff\xff" + ipaddress.IPv4Address(0x0A000000 + n).packed


def fill_events(services: Any, events: int, batch: int = 200_000) -> None:
    """``events`` access events of ``events // 100`` accounts, in time order (as they arrive), with the
    rollups the intake keeps (per account and address; per account), written straight to the tables:
    the fill is not what is measured. Event ``j`` is account ``j % accounts``'s, at ``T0 + j * span /
    events``, from one of its three addresses (``4 * account + 0..2``)."""
    accounts = max(1, events // 100)
    t0_ms = int(T0.timestamp() * 1000)
    seen: dict[tuple[int, int], list[int]] = {}
    raw = services.database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        ips = [[_ip_bytes(a * 4 + k) for k in range(3)] for a in range(accounts)]
        for low in range(0, events, batch):
            rows = []
            for j in range(low, min(events, low + batch)):
                account, k = j % accounts, (j // accounts) % 3
                time_ms = t0_ms + j * SPAN_MS // events
                rows.append((f"e{j}", f"acct-{account}", time_ms, ips[account][k]))
                pair = seen.get((account, k))
                if pair is None:
                    seen[(account, k)] = [time_ms, time_ms, 1]
                else:
                    pair[1] = time_ms
                    pair[2] += 1
            driver.executemany(EVENT_ROW, rows)
            driver.commit()
        driver.executemany("INSERT INTO access_ip_seen (account_id, ip, first_seen_ms, last_seen_ms, count) "
                           "VALUES (?, ?, ?, ?, ?)",
                           [(f"acct-{a}", ips[a][k], first, last, count)
                            for (a, k), (first, last, count) in seen.items()])
        activity: dict[int, list[int]] = {}
        for (a, _k), (first, last, count) in seen.items():
            span = activity.setdefault(a, [first, last, 0])
            span[0], span[1], span[2] = min(span[0], first), max(span[1], last), span[2] + count
        driver.executemany("INSERT INTO access_account_activity (account_id, first_access_ms, last_access_ms, "
                           "events) VALUES (?, ?, ?, ?)",
                           [(f"acct-{a}", first, last, count) for a, (first, last, count) in activity.items()])
        driver.commit()
    finally:
        raw.close()


def fill(services: Any, customers: int, events: int, batch: int = 100_000) -> dict[str, float]:
    key = services.keyring.blind_index_key()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for low in range(0, customers, batch):
        rows, wallets = [], []
        for i in range(low, min(customers, low + batch)):
            cid = str(uuid.UUID(int=i + 1))
            rows.append({"id": cid, "kind": "individual", "status": "active", "created_at": now, "updated_at": now})
            wallets.append({"id": str(uuid.UUID(int=10**12 + i)), "customer_id": cid, "type": "crypto_wallet",
                            "number_index": blind_index(key, "wallet", f"0x{i:040x}")})
        with services.database.engine.begin() as conn:
            insert_rows(conn, customer, rows)
            insert_rows(conn, payment_means, wallets)
    customers_s = time.perf_counter() - started
    started = time.perf_counter()
    fill_events(services, events)
    return {"fill_customers_s": round(customers_s, 1), "fill_events_s": round(time.perf_counter() - started, 1)}


def _walk(client: TestClient, url: str, headers: dict[str, str], prefix: str) -> dict[str, Any]:
    """Every page of ``url`` three times: wall and CPU p50/p99 of a page."""
    page_ms: list[float] = []
    page_cpu_ms: list[float] = []
    for _ in range(3):
        params: dict[str, Any] = {"limit": 1000}
        while True:
            started, cpu = time.perf_counter(), time.process_time()
            page = client.get(url, params=params, headers=headers).json()
            page_ms.append((time.perf_counter() - started) * 1000)
            page_cpu_ms.append((time.process_time() - cpu) * 1000)
            if not page.get("more"):
                break
            params = {"limit": 1000, "next": page["next"]}
    return {f"{prefix}_ms_p50": round(statistics.median(page_ms), 2),
            f"{prefix}_ms_p99": round(_percentile(page_ms, 0.99), 2),
            f"{prefix}_cpu_ms_p50": round(statistics.median(page_cpu_ms), 2),
            f"{prefix}_cpu_ms_p99": round(_percentile(page_cpu_ms, 0.99), 2), f"{prefix}s": len(page_ms)}


def run(indicators_count: int = 100_000, customers: int = 1_000_000, events: int = 10_000_000,
        objects: int = 20_000) -> dict[str, Any]:
    figures: dict[str, Any] = {"indicators": indicators_count, "customers": customers, "events": events,
                               "collection_objects": objects, "load_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch) / "data", database_url=f"sqlite:///{scratch}/bench.db")
        initialise(settings)
        services = open_services(settings)
        try:
            # a TAXII page of 1,000 objects: the provider's own, read by an analyst; and the same objects
            # contributed by one peer, read by another (scrubbed for it when they were stored)
            store = SharingStore(services.database)
            collection, reshared = store.add_collection("bench"), store.add_collection("bench re-shared")
            checked = check_objects(indicators(objects, 1000, 1000))
            with services.database.engine.begin() as conn:
                store.add_objects(conn, collection, checked.valid, source="local", tlp_of=checked.tlp_of)
                store.add_objects(conn, reshared, checked.valid, source="bench peer A", tlp_of=checked.tlp_of)
                key = create_api_key(conn, "analyst", "bench", datetime.now(UTC))
                peer_key = create_api_key(conn, "peer", "bench peer B", datetime.now(UTC))
                store.add_peer(conn, peer_key.split("_")[1], "bench peer B")
            store.grant(peer_key.split("_")[1], reshared, read=True, write=False)
            del checked
            with TestClient(create_app(services)) as client:
                url = f"/taxii2/api1/collections/{collection}/objects/"
                headers = {"Accept": MEDIA_TYPE, "Authorization": f"Bearer {key}"}
                started = time.perf_counter()  # the first request after start (imports, compiled queries)
                client.get(url, params={"limit": 1000}, headers=headers).raise_for_status()
                figures["first_page_ms"] = round((time.perf_counter() - started) * 1000, 2)
                gc.freeze()  # as a ``cloudcip serve`` worker does once started (``api.warmup``)
                for prefix, walked, reader in (("page", collection, headers),
                                               ("peer_page", reshared, {"Accept": MEDIA_TYPE,
                                                                        "Authorization": f"Bearer {peer_key}"})):
                    figures.update(_walk(client, f"/taxii2/api1/collections/{walked}/objects/", reader, prefix))
            gc.unfreeze()
            figures.update(fill(services, customers, events))
            intake = indicator_intake(services)
            pulled = indicators(indicators_count, customers, max(1, events // 100))
            started, cpu = time.perf_counter(), time.process_time()
            matches = 0
            for low in range(0, len(pulled), 1000):
                page_checked = check_objects(pulled[low:low + 1000])
                matches += intake.take(page_checked.valid, page_checked.tlp_of, "bench peer", PEER,
                                       page_checked.terms).matches
            figures.update({"ingest_s": round(time.perf_counter() - started, 1),
                            "ingest_cpu_s": round(time.process_time() - cpu, 1), "matches": matches,
                            "load_at_end": round(os.getloadavg()[0], 2)})
        finally:
            services.close()
    return figures
