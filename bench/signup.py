"""Benchmark of the signup decision (A1-A8, D1-D3): ``cloudcip bench signup --json``.

Every decision validates every field, decides U.S./foreign status, locates and screens the customer
and beneficial owners against all lists loaded (the real lists of ../shared/data/lists where present,
else the demo list) and the measures in force, applies the policy and stores the sealed record, the
case, the ledger entries and the webhook. Figures: decision latency in process (p50/p99), and over
HTTP against ``cloudcip serve`` (p50/p99 and decisions per second with concurrent clients).

The applications mix what a provider sees: the generated customers of 20 countries (most open
restricted pending evidence, some go to review), customers located in Iran while a prohibition of Iran
is in force (refused), customers named and born as persons on the loaded lists (their hits go to the
register: review or refused), and U.S. residents who then confirm their e-mail code (approved: the
confirmation is a decision too, timed with the others). ``decisions`` reports the mix.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter
from sqlalchemy import select

from cloudcip.api.warmup import warm_up
from cloudcip.domain.application import ApplicationRequest
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.roles import Actor, create_api_key
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import (
    Services,
    application_service,
    gate_applications,
    initialise,
    open_services,
    screening_service,
)
from cloudcip.runtime_access import signup_ip_lookup
from cloudcip.screening.loaders import load_publication
from cloudcip.screening.measures import add_measure
from cloudcip.screening.snapshots import generate_demo_list, import_publication
from cloudcip.settings import Settings
from cloudcip.storage.database import WalCheckpointer
from cloudcip.verification.applications import ApplicationService

LISTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "lists"
ADMIN = Actor("bench:admin", "admin")
OFFICER = Actor("bench:officer", "compliance-officer")
SIGNUP = Actor("bench:signup", "signup-service")
WARM_UP_PER_WORKER = 10  # signups sent over HTTP before the measured window, per API worker


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def reference_cpu_ms(rounds: int = 5) -> float:
    """The machine's speed at the moment, to read the other figures by: the least CPU time (ms) of
    ``rounds`` runs of one fixed pure-Python workload (the sum of the squares of the first 2,000,000
    integers). The same checkout gives figures that differ by a third from one lent machine to the
    next; a figure set beside this one can be compared across runs and sessions."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        sum(number * number for number in range(2_000_000))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def load_lists(services: Services) -> dict[str, int]:
    """Every real list when the shared folder is there, else the demo list; returns parties per source."""
    loaded: dict[str, int] = {}
    publications = []
    if LISTS.is_dir():
        publications = [
            load_publication("ofac-csv", [LISTS / "ofac_sdn_2021.csv", LISTS / "ofac_alt_2021.csv",
                                          LISTS / "ofac_add_2021.csv", LISTS / "ofac_sdn_comments_2021.csv"],
                             source="ofac-sdn"),
            load_publication("ofac-csv", [LISTS / "ofac_cons_prim.csv", LISTS / "ofac_cons_alt.csv"],
                             source="ofac-cons"),
            load_publication("un-xml", [LISTS / "un_consolidated_2026-02-27.xml"], source="un-sc"),
            load_publication("bis-dpl", [LISTS / "bis_dpl.txt"], source="bis-dpl"),
        ]
    else:
        publications = [generate_demo_list()]
    for publication in publications:
        # the shared folder holds the consolidated list's primary and alias files only: partial on purpose
        result = import_publication(services, publication, ADMIN, partial=publication.source == "ofac-cons")
        loaded[publication.source] = result.parties
    return loaded


@contextmanager
def checkpointing(services: Services) -> Iterator[WalCheckpointer]:
    """The write-ahead log copied into the database by a thread every 0.1 s, as ``cloudcip serve`` does
    beside its API (``storage.database.WalCheckpointer``). Without it, the signup whose commit takes
    the log past SQLite's auto-checkpoint bound (~130 signups) copies 10,000 pages and syncs the file
    inside its own decision (15-28 ms CPU, 40-75 ms wall): a cost of a process left without the
    service's checkpointer, not of a decision."""
    checkpointer = WalCheckpointer(services.database)
    checkpointer.start()
    try:
        yield checkpointer
    finally:
        checkpointer.stop()


@contextmanager
def deployment(prefix: str, checkpointer: bool = True,
               ) -> Iterator[tuple[Services, ApplicationService, TypeAdapter[ApplicationRequest]]]:
    """A fresh data directory, the lists ``load_lists`` loads, Iran prohibited, and the signup service
    wired as the API wires it (certification gate, exemptions, linkage, the signup IP's facts), with
    the request model's adapter and the log's checkpointer running as ``serve`` runs it (unless
    ``checkpointer`` is false: its thread's instructions would vary the count of a callgrind run); the
    index is built by the caller's first signup. Closed on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/data/cloudcip.db")
        initialise(settings)
        services = open_services(settings)
        try:
            load_lists(services)
            add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                        determination_date=datetime.now(UTC).date().replace(year=2025))
            service = gate_applications(services, application_service(
                services, ip_lookup=signup_ip_lookup(services.database)))
            with checkpointing(services) if checkpointer else nullcontext():
                yield services, service, TypeAdapter(ApplicationRequest)
        finally:
            services.close()


def applications(count: int, seed: int = 2024) -> list[dict[str, Any]]:
    generator = SyntheticCustomers(seed=seed)
    return [generator.application_json() for _ in range(count)]


def _individual(generator: SyntheticCustomers) -> dict[str, Any]:
    body = generator.application_json()
    while body["kind"] != "individual":
        body = generator.application_json()
    return body


def _listed_persons(services: Services, count: int) -> list[tuple[str, str, str]]:
    """(given, family, birth date) of listed persons with a two-part name and a full birth date."""
    found: list[tuple[str, str, str]] = []
    for party in screening_service(services).state().index.parties:
        if party.schema != "Person" or not party.birth_dates or len(party.birth_dates[0]) != 10:
            continue
        parts = party.names[0].full.split()
        if len(parts) == 2 and all(p.isascii() and p.isalpha() for p in parts):
            found.append((parts[0].title(), parts[1].title(), party.birth_dates[0]))
        if len(found) >= count:
            break
    return found


def mixed_applications(services: Services, count: int, seed: int = 2024) -> list[tuple[str, dict[str, Any]]]:
    """``count`` applications, each with its kind: generated, located in Iran, a listed person, a U.S.
    resident who confirms the e-mail code."""
    generator = SyntheticCustomers(seed=seed)
    listed = _listed_persons(services, max(1, count // 25))
    mixed: list[tuple[str, dict[str, Any]]] = []
    for number in range(count):
        if number % 20 == 7:
            body = _individual(generator)
            body.update({"address": {"line1": "12 Vali Asr Ave", "city": "Tehran", "country": "IR"},
                         "phone": f"+98212345{number % 10000:04d}", "nationality": "IR"})
            body.pop("national_id", None)
            body["payment_means"] = []
            mixed.append(("located_in_ir", body))
        elif number % 25 == 11 and listed:
            body = _individual(generator)
            given, family, birth = listed[number % len(listed)]
            body.update({"name": {"given": given, "family": family}, "birth_date": birth})
            mixed.append(("listed_person", body))
        elif number % 10 == 3:
            body = SyntheticCustomers(seed=seed * 100_000 + number, entity_share=0.0).application_json()
            while body.get("address", {}).get("country") != "US":
                body = generator.application_json()
            mixed.append(("us_resident_confirms", body))
        else:
            mixed.append(("generated", generator.application_json()))
    return mixed


def _delivered_code(services: Services, application_id: str) -> str:
    """The code the provider's webhook delivers (the bench stands in for the customer's inbox)."""
    import json as _json

    with services.database.engine.connect() as conn:
        for payload in conn.execute(select(webhook_outbox.c.payload_json).where(
                webhook_outbox.c.event_type == "otp.deliver").order_by(webhook_outbox.c.created_at.desc())).scalars():
            data = _json.loads(payload)
            data = data.get("data", data)
            if data.get("application_id") == application_id:
                return str(data["code"])
    raise LookupError("no code delivered")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds_by_process(root: int, *, descendants_only: bool = False) -> dict[int, float]:
    """CPU seconds (user + system) used so far by process ``root`` and each of its descendants, by pid
    (Linux /proc); with ``descendants_only``, by the descendants alone (the API workers of
    ``serve --workers N``)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def descends(pid: int) -> bool:
        if descendants_only and pid == root:
            return False
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return {pid: seconds for pid, seconds in times.items() if descends(pid)}


def _tree_cpu_seconds(root: int, *, descendants_only: bool = False) -> float:
    """CPU seconds used so far by process ``root`` and its descendants (see ``_cpu_seconds_by_process``)."""
    return sum(_cpu_seconds_by_process(root, descendants_only=descendants_only).values())


def _settle(root: int, idle_cpu_share: float = 0.05, window_s: float = 1.0,
            limit_s: float = 300.0) -> tuple[float, float]:
    """Wait until the server's start-up work is over: its processes used less than ``idle_cpu_share``
    of one core over ``window_s``. The jobs process builds its own screening index and, after a list
    or measure change, re-screens every customer; that is start-up work, not the cost of a decision.
    Returns (seconds waited, CPU seconds the server spent meanwhile)."""
    started = time.perf_counter()
    cpu_started = before = _tree_cpu_seconds(root)
    while time.perf_counter() - started < limit_s:
        time.sleep(window_s)
        after = _tree_cpu_seconds(root)
        if after - before < idle_cpu_share * window_s:
            break
        before = after
    return time.perf_counter() - started, _tree_cpu_seconds(root) - cpu_started


def _over_http(data_dir: Path, bodies: list[dict[str, Any]], key: str, clients: int,
               workers: int) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "CLOUDCIP_DATA_DIR": str(data_dir)}
    server = subprocess.Popen([sys.executable, "-m", "cloudcip.cli.main", "serve", "--port", str(port),
                               "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300  # each worker builds its screening index before it listens
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def drive(queue: list[tuple[str, bytes]], latencies: list[float], statuses: dict[int, int]) -> None:
            """One client: a kept-alive stdlib connection taking bodies from ``queue`` until it is empty."""
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                while True:
                    with lock:
                        if not queue:
                            return
                        idempotency_key, body = queue.pop()
                    started = time.perf_counter()
                    connection.request("POST", "/v1/applications", body=body,
                                       headers={**headers, "Idempotency-Key": idempotency_key})
                    response = connection.getresponse()
                    response.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(elapsed)
                        statuses[response.status] = statuses.get(response.status, 0) + 1
            finally:
                connection.close()

        def clients_threads(queue: list[tuple[str, bytes]], latencies: list[float],
                            statuses: dict[int, int]) -> list[threading.Thread]:
            return [threading.Thread(target=drive, args=(queue, latencies, statuses)) for _ in range(clients)]

        # bodies encoded up front and sent over one kept-alive stdlib connection per client, so the
        # load generator spends as little of the machine's CPU as it can (httpx costs ~1 ms a request)
        encoded = [json.dumps(body).encode() for body in bodies]
        # warm-up through as many connections as the run, so that every worker (each takes the
        # connections it accepts) has decided a few signups before the window: the lazily loaded
        # parts of a decision (a country's phone metadata, compiled statements) are start-up work
        warm = [(f"warm{number}", body) for number, body in enumerate(encoded[:WARM_UP_PER_WORKER * workers])]
        warm_threads = clients_threads(warm, [], {})
        for thread in warm_threads:
            thread.start()
        for thread in warm_threads:
            thread.join()
        queue = [(f"b{number}", body) for number, body in enumerate(encoded[WARM_UP_PER_WORKER * workers:])]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        settle_s, settle_cpu_s = _settle(server.pid)
        threads = clients_threads(queue, latencies, statuses)
        cpu_before = _tree_cpu_seconds(server.pid)
        workers_cpu_before = _cpu_seconds_by_process(server.pid, descendants_only=True)
        client_cpu_before = time.process_time()
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu_before
        server_cpu = _tree_cpu_seconds(server.pid) - cpu_before
        by_worker = {pid: seconds - workers_cpu_before.get(pid, 0.0)
                     for pid, seconds in _cpu_seconds_by_process(server.pid, descendants_only=True).items()}
        workers_cpu = sum(by_worker.values())
        # a worker that started during the window (a restart) is a pid that was not there before
        restarted = sorted(set(by_worker) - set(workers_cpu_before))
        return {
            "http_decisions": len(latencies), "http_clients": clients, "http_workers": workers,
            "http_decisions_per_s": round(len(latencies) / elapsed, 1),
            "http_p50_ms": round(_percentile(latencies, 0.5), 2), "http_p99_ms": round(_percentile(latencies, 0.99), 2),
            "http_statuses": statuses,
            # start-up work before the window: the jobs process's index and a re-screening of the
            # customers decided in process (the lists changed since the last run)
            "http_startup_settle_s": round(settle_s, 1), "http_startup_cpu_s": round(settle_cpu_s, 1),
            # what one decision costs the server's processes, whatever else the machine is doing
            "http_server_cpu_ms_per_decision": round(server_cpu * 1000 / max(1, len(latencies)), 2),
            # of which the API workers (the rest: the jobs process, its follower and checkpointer)
            "http_workers_cpu_ms_per_decision": round(workers_cpu * 1000 / max(1, len(latencies)), 2),
            # how the work fell on the workers (shares of their CPU, largest first): balanced is 0.5/0.5
            "http_workers_cpu_shares": sorted((round(seconds / max(workers_cpu, 1e-9), 2)
                                               for seconds in by_worker.values() if seconds > 0.01), reverse=True),
            "http_workers_started_during_run": len(restarted),
            # the load generator's own CPU (it shares the machine's cores with the server)
            "http_client_cpu_ms_per_decision": round(client_cpu * 1000 / max(1, len(latencies)), 2),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(decisions: int = 1000, http_decisions: int = 2000, clients: int = 4, workers: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-signup-") as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/data/cloudcip.db")
        initialise(settings)
        services = open_services(settings)
        figures: dict[str, Any] = {}
        try:
            started = time.perf_counter()
            figures["reference_cpu_ms"] = reference_cpu_ms()
            figures["lists_loaded"] = load_lists(services)
            figures["lists_load_s"] = round(time.perf_counter() - started, 1)
            add_measure(services, OFFICER, kind="jurisdiction", target="IR", measure="prohibit",
                        determination_date=datetime.now(UTC).date().replace(year=2025))
            # wired as the API wires it: certification gate, exemptions, linkage, the signup IP's facts
            service = gate_applications(services, application_service(
                services, ip_lookup=signup_ip_lookup(services.database)))
            adapter: TypeAdapter[ApplicationRequest] = TypeAdapter(ApplicationRequest)
            started = time.perf_counter()
            service.submit(adapter.validate_python(applications(1, seed=7)[0]), SIGNUP)  # builds the index
            # as a worker of ``cloudcip serve`` starts: romanisers loaded, the start's objects frozen out of
            # the garbage collector's generations (api.warmup)
            warm_up(screening_service(services))
            figures["screening_index_build_s"] = round(time.perf_counter() - started, 1)
            mixed = mixed_applications(services, decisions + 20)
            for _, body in mixed[:20]:
                service.submit(adapter.validate_python(body), SIGNUP)
            latencies = []
            outcomes: dict[str, int] = {}
            by_kind: dict[str, dict[str, int]] = {}
            with checkpointing(services):  # as ``serve`` runs beside its API (see there)
                cpu_started = time.process_time()
                for kind, body in mixed[20:]:
                    request = adapter.validate_python(body)
                    began = time.perf_counter()
                    answer = service.submit(request, SIGNUP)
                    latencies.append((time.perf_counter() - began) * 1000)
                    if kind == "us_resident_confirms" and answer["decision"] == "pending_evidence":
                        service.issue_otp(answer["id"], "email", SIGNUP)
                        code = _delivered_code(services, answer["id"])
                        began = time.perf_counter()
                        answer = service.confirm_otp(answer["id"], "email", code, SIGNUP)
                        latencies.append((time.perf_counter() - began) * 1000)
                    outcomes[answer["decision"]] = outcomes.get(answer["decision"], 0) + 1
                    kinds = by_kind.setdefault(kind, {})
                    kinds[answer["decision"]] = kinds.get(answer["decision"], 0) + 1
                in_process_cpu = time.process_time() - cpu_started  # the checkpointer's thread's CPU included
            figures.update({
                "in_process_decisions": len(latencies),
                # CPU per decision, the figure to set beside the HTTP workers' (load-independent, mostly)
                "in_process_cpu_ms_per_decision": round(in_process_cpu * 1000 / max(1, len(latencies)), 2),
                "in_process_p50_ms": round(statistics.median(latencies), 2),
                "in_process_p99_ms": round(_percentile(latencies, 0.99), 2),
                "decisions": outcomes,
                "decisions_by_application_kind": by_kind,
            })
            with services.database.engine.begin() as conn:
                key = create_api_key(conn, "signup-service", "bench", datetime.now(UTC))
        finally:
            services.close()
        if http_decisions > 0:
            bodies = applications(http_decisions + WARM_UP_PER_WORKER * workers, seed=99)
            figures.update(_over_http(settings.data_dir, bodies, key, clients, workers))
        return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--http-decisions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.decisions, arguments.http_decisions, arguments.clients, arguments.workers)))
