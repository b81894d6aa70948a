"""Access-ledger benchmark (C1, C2, C3): import rate against the engine's floor, query latency,
peak memory during import.

Generates realistic events (many accounts with a few IPs each, IPv4 and IPv6, a daily rhythm,
some roaming accounts, shared NAT /24s) into a JSON-lines file, then on each engine:

1. imports the file through ``import_file`` (sustained rate, events/s);
2. in the same run, bulk-inserts the same rows, already parsed, into a fresh table with the same
   indexes (SQLite: ``executemany`` in the same batches; PostgreSQL: ``COPY``): the engine's floor;
   the ratio import/floor shows what intake costs above the engine;
3. times the queries over the stored events: an account's IPs over a year (and over six months,
   which cannot use the rollup), accounts seen from one IP, accounts seen from a /24 (p50/p99);
4. reports the peak RSS of the import process (``resource.getrusage`` of a child process);
5. (SQLite) starts ``cloudcip serve`` on a fresh data directory with an ``event-ingest`` API key and
   posts the same file's events to ``POST /v1/access-events`` in gzip-compressed JSON-lines bodies
   of ``--http-batch`` events from ``--http-clients`` concurrent clients: events/s and the per-request
   p50/p99 (bodies are compressed before the clock starts); then how long after the last response the
   server's signal follower reaches the last event (C4), and how many signals it raised.

Usage: ``python bench/access.py --events 1000000 [--postgres URL] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sized
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloudcip.access.events import format_time_ms

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
END = datetime(2026, 11, 1, tzinfo=UTC)
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 12, 12, 11, 10, 8, 7, 6, 5, 4, 3]
ACTIONS_ACCESS = ["console.login", "api.DescribeInstances", "api.ListBuckets", "ssh.session",
                  "serial.console", "api.GetMetrics"]
ACTIONS_ADMIN = ["api.RunInstances", "api.TerminateInstances", "billing.UpdatePaymentMethod",
                 "iam.CreateAccessKey", "api.ModifySecurityGroup"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "aws-cli/2.15 Python/3.11", "terraform/1.7",
          "cloudcip-sdk/1.0", "Mozilla/5.0 (Macintosh) Safari/17.2"]


def _v4_prefix(rng: random.Random) -> str:
    first = rng.choice([rng.randint(1, 9), rng.randint(11, 126), rng.randint(128, 223)])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


def _v6_prefix(rng: random.Random) -> str:
    return f"2{rng.randint(0x400, 0xa0f):03x}:{rng.randint(0, 0xffff):x}:{rng.randint(0, 0xffff):x}"


def generate(path: Path, events: int, *, seed: int = 13, span_days: int = 365) -> dict[str, Any]:
    """Write ``events`` JSON lines to ``path``; return samples for the queries."""
    rng = random.Random(seed)
    accounts = max(10, events // 250)
    shared_v4 = [_v4_prefix(rng) for _ in range(max(5, accounts // 50))]  # corporate NATs, hosting
    profiles = []
    for number in range(accounts):
        ips = []
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            if rng.random() < 0.3:
                ips.append(f"{_v6_prefix(rng)}::{rng.randint(1, 0xffff):x}")
            elif rng.random() < 0.2:
                ips.append(f"{rng.choice(shared_v4)}.{rng.randint(1, 254)}")
            else:
                ips.append(f"{_v4_prefix(rng)}.{rng.randint(1, 254)}")
        principals = [f"user-{number}-{k}" for k in range(rng.choice([1, 1, 2, 3]))]
        roaming = rng.random() < 0.1
        profiles.append((f"acct-{number:07d}", ips, principals, roaming))
    weights = [1.0 / (1 + (k % 97)) for k in range(accounts)]  # a few busy accounts, a long tail
    cumulative: list[float] = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    start_ms = int((END - timedelta(days=span_days)).timestamp() * 1000)
    per_day = events / span_days
    hours = list(range(24))
    hour_choices = rng.choices(hours, weights=HOUR_WEIGHTS, k=4096)
    chosen = rng.choices(range(accounts), cum_weights=cumulative, k=min(events, 1 << 20))
    with path.open("w", buffering=1 << 20) as handle:
        for n in range(events):
            account, ips, principals, roaming = profiles[chosen[n % len(chosen)]]
            day = int(n / per_day)
            offset = ((day * 24 + hour_choices[n & 4095]) * 3600 + rng.randrange(3600)) * 1000 + rng.randrange(1000)
            when = format_time_ms(start_ms + offset)
            if roaming and rng.random() < 0.3:
                ip = f"{_v4_prefix(rng)}.{rng.randint(1, 254)}"
            else:
                ip = ips[rng.randrange(len(ips))]
            admin = rng.random() < 0.05
            action = rng.choice(ACTIONS_ADMIN if admin else ACTIONS_ACCESS)
            handle.write(
                f'{{"id":"ev-{n:010d}","account_id":"{account}","principal":"{rng.choice(principals)}",'
                f'"time":"{when}","ip":"{ip}","action":"{action}","kind":"{"admin" if admin else "access"}",'
                f'"user_agent":"{AGENTS[n % 5]}","source":"control-plane"}}\n'
            )
    busy = [profiles[k][0] for k in range(min(accounts, 400))]
    sample_ips = [profile[1][0] for profile in profiles[: min(accounts, 400)]]
    v4 = [ip for profile in profiles for ip in profile[1] if ":" not in ip][:400]
    return {"accounts": accounts, "sample_accounts": busy, "sample_ips": sample_ips,
            "sample_networks": [ip.rsplit(".", 1)[0] + ".0/24" for ip in v4]}


# --------------------------------------------------------------------------------------------------


def _open(url: str, schema: str | None) -> Any:
    from cloudcip.storage.database import open_database

    return open_database(url, schema=schema)


def _import_child(url: str, schema: str | None, path: str, batch_size: int | None, pipe: Any) -> None:
    from cloudcip.access.importer import import_file

    database = _open(url, schema)
    started = time.perf_counter()
    result = import_file(database, path, "jsonl", batch_size=batch_size)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipe.send({"elapsed_s": elapsed, "accepted": result.accepted, "peak_rss_mib": round(peak_kib / 1024, 1)})
    pipe.close()


def _floor_child(url: str, schema: str | None, path: str, batch_size: int | None, pipe: Any) -> None:
    """Insert the parsed rows into a fresh copy of the table with the same indexes; time only the
    engine's work (executemany / COPY and commit)."""
    from itertools import islice

    from cloudcip.access.formats import parse_lines

    database = _open(url, schema)
    if not batch_size:  # the importer's own transaction size, so both commit as often
        from cloudcip.access.backends.postgresql import POSTGRES_BATCH_LINES
        from cloudcip.access.backends.sqlite import SQLITE_BATCH_LINES

        batch_size = SQLITE_BATCH_LINES if database.is_sqlite else POSTGRES_BATCH_LINES
    raw = database.engine.raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    if database.is_sqlite:
        from cloudcip.access.backends.sqlite import SQLITE_CACHE_KIB

        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        # the real table's own DDL, renamed: the floor has exactly the store's columns and indexes
        for (statement,) in cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'access_event' "
                                           "AND sql IS NOT NULL ORDER BY type DESC").fetchall():
            cursor.execute(statement.replace("access_event", "floor_event"))
        driver.commit()
    else:
        from cloudcip.access.schema import postgres_ddl

        cursor.execute("CREATE SCHEMA IF NOT EXISTS floor_" + (schema or "x"))
        cursor.execute(f"SET search_path TO floor_{schema}")
        for statement in postgres_ddl():
            cursor.execute(statement)
        driver.commit()
    engine_seconds = 0.0
    rows_total = 0
    sql = ("INSERT INTO floor_event (event_id, account_id, principal, time_ms, ip, action, kind, user_agent, "
           "source, country) VALUES (?,?,?,?,?,?,?,?,?,?)")
    with open(path, "rb") as handle:
        while True:
            lines = list(islice(handle, batch_size))
            if not lines:
                break
            rows, _errors = parse_lines(lines, "jsonl")
            params = [(*row, "US") for row in rows]
            if database.is_postgresql:
                from cloudcip.access.schema import month_of_ms, partition_ddl

                for year, month in sorted({month_of_ms(row[3]) for row in rows}):
                    cursor.execute(partition_ddl(year, month))
                driver.commit()
            started = time.perf_counter()
            if database.is_sqlite:
                cursor.executemany(sql, params)
            else:
                with cursor.copy("COPY access_event (event_id, account_id, principal, time_ms, ip, action, kind, "
                                 "user_agent, source, country) FROM STDIN") as copy:
                    for param in params:
                        copy.write_row(param)
            driver.commit()
            engine_seconds += time.perf_counter() - started
            rows_total += len(params)
    if database.is_postgresql:
        cursor.execute(f"DROP SCHEMA floor_{schema} CASCADE")
        driver.commit()
    else:
        cursor.execute("DROP TABLE floor_event")
        driver.commit()
    raw.close()
    pipe.send({"elapsed_s": engine_seconds, "rows": rows_total})
    pipe.close()


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender))
    process.start()
    sender.close()
    result: dict[str, Any] = receiver.recv()
    process.join()
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http_bodies(path: Path, events: int, per_request: int) -> list[bytes]:
    import gzip
    from itertools import islice

    bodies: list[bytes] = []
    with path.open("rb") as handle:
        while events > 0:
            lines = list(islice(handle, min(per_request, events)))
            if not lines:
                break
            events -= len(lines)
            bodies.append(gzip.compress(b"".join(lines), compresslevel=1))
    return bodies


def http_intake(path: Path, events: int, *, per_request: int = 5000, clients: int = 3,
                workdir: Path | None = None, workers: int = 2) -> dict[str, Any]:
    """POST the first ``events`` lines of ``path`` to a fresh ``cloudcip serve`` (SQLite) (C1, C2)."""
    import subprocess
    import threading

    import httpx

    from cloudcip.records.roles import create_api_key
    from cloudcip.runtime import initialise, open_services
    from cloudcip.settings import Settings

    base_dir = Path(tempfile.mkdtemp(prefix="cloudcip-bench-http-", dir=workdir))
    try:
        settings = Settings(data_dir=base_dir / "data", database_url=f"sqlite:///{base_dir}/data/cloudcip.db")
        initialise(settings)
        services = open_services(settings)
        try:
            with services.database.engine.begin() as connection:
                key = create_api_key(connection, "event-ingest", "bench", datetime.now(UTC))
        finally:
            services.close()
        bodies = _http_bodies(path, events, per_request)
        port = _free_port()
        env = {**os.environ, "CLOUDCIP_DATA_DIR": str(settings.data_dir)}
        server = subprocess.Popen([sys.executable, "-m", "cloudcip.cli.main", "serve", "--port", str(port),
                                   "--workers", str(workers)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
            latencies: list[float] = []
            statuses: dict[int, int] = {}
            totals = {"accepted": 0, "duplicates": 0}
            lock = threading.Lock()
            queue = list(reversed(bodies))

            def client_loop() -> None:
                with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
                    while True:
                        with lock:
                            if not queue:
                                return
                            body = queue.pop()
                        began = time.perf_counter()
                        response = client.post("/v1/access-events", content=body)
                        took = time.perf_counter() - began
                        with lock:
                            latencies.append(took)
                            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                            if response.status_code == 200:
                                answer = response.json()
                                totals["accepted"] += int(answer["accepted"])
                                totals["duplicates"] += int(answer["duplicates"])

            threads = [threading.Thread(target=client_loop) for _ in range(clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            lag = _signals_lag(settings.database_url)
        finally:
            server.terminate()
            server.wait(timeout=60)
        return {"http_events": totals["accepted"] + totals["duplicates"], "http_accepted": totals["accepted"],
                "http_events_per_s": round(totals["accepted"] / elapsed) if elapsed else 0,
                "http_requests": len(latencies), "http_events_per_request": per_request,
                "http_clients": clients, "http_server_workers": workers, "http_body": "gzip JSON lines",
                **{f"http_request_{k}": v for k, v in _percentiles(latencies).items() if k != "n"},
                "http_statuses": statuses, **lag}
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


def _signals_lag(database_url: str, timeout: float = 600.0) -> dict[str, Any]:
    """After the last response: how long the server's signal follower takes to reach the last event
    stored, and how many signals it raised (C4)."""
    from sqlalchemy import func, select

    from cloudcip.access.follower import cursor_position
    from cloudcip.access.schema import access_event, account_signal
    from cloudcip.storage.database import open_database

    database = open_database(database_url)
    try:
        began = time.perf_counter()
        with database.engine.connect() as connection:
            newest = int(connection.execute(select(func.max(access_event.c.id))).scalar_one() or 0)
        while cursor_position(database) < newest and time.perf_counter() - began < timeout:
            time.sleep(0.1)
        caught_up = time.perf_counter() - began
        with database.engine.connect() as connection:
            raised = int(connection.execute(select(func.count()).select_from(account_signal)).scalar_one())
        return {"http_signals_caught_up_after_s": round(caught_up, 2), "http_signals_raised": raised,
                "http_signals_complete": cursor_position(database) >= newest}
    finally:
        database.dispose()


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p99_ms": round(p99 * 1000, 3),
            "n": len(ordered)}


def _query_latencies(database: Any, samples: dict[str, Any], repeats: int = 300) -> dict[str, Any]:
    from cloudcip.access.queries import account_ips, accounts_from

    year = (END - timedelta(days=366), END)
    half = (END - timedelta(days=270), END - timedelta(days=90))
    accounts: list[str] = samples["sample_accounts"]
    ips: list[str] = samples["sample_ips"]
    networks: list[str] = samples["sample_networks"]

    def pick(items: list[str], k: int) -> str:
        return items[k % len(items)]

    plans: dict[str, Callable[[int], Sized]] = {
        "account_ips_year": lambda k: account_ips(database, pick(accounts, k), *year),
        "account_ips_six_months": lambda k: account_ips(database, pick(accounts, k), *half),
        "accounts_from_ip_year": lambda k: accounts_from(database, pick(ips, k), *year),
        "accounts_from_slash24_year": lambda k: accounts_from(database, pick(networks, k), *year),
        "accounts_from_slash24_six_months": lambda k: accounts_from(database, pick(networks, k), *half),
    }
    report: dict[str, Any] = {}
    for name, query in plans.items():
        for k in range(20):
            query(k)
        timings = []
        found = 0
        for k in range(repeats):
            started = time.perf_counter()
            answer = query(k)
            timings.append(time.perf_counter() - started)
            found += len(answer)
        report[name] = {**_percentiles(timings), "mean_rows": round(found / repeats, 1)}
    return report


def run(
    database_url: str | None,
    events: int,
    *,
    batch_size: int | None = None,
    workdir: str | None = None,
    postgres_url: str | None = None,
    skip_floor: bool = False,
    keep_file: bool = False,
    http_events: int = 1_000_000,
    http_batch: int = 5000,
    http_clients: int = 3,
    skip_import: bool = False,
    http_workers: int = 2,
    skip_sqlite: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; ``database_url`` None means a fresh SQLite file in ``workdir``."""
    from sqlalchemy import create_engine, text

    from cloudcip.access.schema import create_access_schema

    base = Path(workdir or tempfile.mkdtemp(prefix="cloudcip-bench-access-"))
    base.mkdir(parents=True, exist_ok=True)
    source = base / f"events-{events}.jsonl"
    started = time.perf_counter()
    samples = generate(source, events)
    report: dict[str, Any] = {
        "events": events,
        "accounts": samples["accounts"],
        "file_mib": round(source.stat().st_size / 2**20, 1),
        "generate_s": round(time.perf_counter() - started, 1),
        "batch_size": batch_size,
        "cpus": os.cpu_count(),
        "load_1min_start": os.getloadavg()[0],
        "engines": {},
    }
    targets: list[tuple[str, str, str | None]] = []
    sqlite_url = database_url if database_url and database_url.startswith("sqlite") else None
    targets.append(("sqlite", sqlite_url or f"sqlite:///{base}/access-bench.db", None))
    pg = postgres_url or (database_url if database_url and database_url.startswith("postgresql") else None)
    if pg:
        targets.append(("postgresql", pg, f"bench_{uuid.uuid4().hex[:10]}"))
    if http_events > 0:
        report["http"] = http_intake(source, min(events, http_events), per_request=http_batch, clients=http_clients,
                                     workdir=base, workers=http_workers)
        report["http"]["load_1min"] = os.getloadavg()[0]
    if skip_sqlite:
        targets = [target for target in targets if target[0] != "sqlite"]
    if skip_import:
        targets = []
    for name, url, schema in targets:
        admin = None
        if schema:
            admin = create_engine(url)
            with admin.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            database = _open(url, schema)
            create_access_schema(database)
            database.dispose()
            imported = _in_child(_import_child, url, schema, str(source), batch_size)
            result: dict[str, Any] = {
                "import_events_per_s": round(imported["accepted"] / imported["elapsed_s"]),
                "import_s": round(imported["elapsed_s"], 1),
                "import_peak_rss_mib": imported["peak_rss_mib"],
                "stored_events": imported["accepted"],
            }
            if not skip_floor:
                floor = _in_child(_floor_child, url, schema, str(source), batch_size)
                result["floor_events_per_s"] = round(floor["rows"] / floor["elapsed_s"])
                result["ratio_import_to_floor"] = round(result["import_events_per_s"] / result["floor_events_per_s"], 3)
            database = _open(url, schema)
            result["queries"] = _query_latencies(database, samples)
            database.dispose()
            result["load_1min_after"] = os.getloadavg()[0]
            report["engines"][name] = result
        finally:
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    if not keep_file:
        source.unlink()
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="lines per transaction (default: the importer's, per engine)")
    parser.add_argument("--database-url", default=None, help="SQLite URL (default: a fresh file)")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None,
                        help=f"also run on PostgreSQL (default URL {DEFAULT_POSTGRES})")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--http-events", type=int, default=1_000_000, help="events to POST (0: skip)")
    parser.add_argument("--http-batch", type=int, default=5000)
    parser.add_argument("--http-clients", type=int, default=3)
    parser.add_argument("--skip-import", action="store_true", help="only the HTTP phase")
    parser.add_argument("--http-workers", type=int, default=2, help="API worker processes of the server")
    parser.add_argument("--skip-sqlite", action="store_true", help="import and query on PostgreSQL only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.database_url, args.events, batch_size=args.batch_size, workdir=args.workdir,
                 postgres_url=args.postgres, skip_floor=args.skip_floor, http_events=args.http_events,
                 http_batch=args.http_batch, http_clients=args.http_clients, skip_import=args.skip_import,
                 http_workers=args.http_workers, skip_sqlite=args.skip_sqlite)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
