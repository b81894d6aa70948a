"""More than one machine (issue 13): two real ``cloudcip serve`` processes on one PostgreSQL database.

Under a load of account openings sent to both nodes with idempotency keys, the node leading the
periodic jobs is killed with SIGKILL. What a client was told (a 201 or a 200) is all in the database,
nothing is stored twice (a request the dead node never answered is retried on the other node with
the same key and answered from what was stored), exactly one node holds the jobs' lock at any time
and the survivor takes it over, and the ledger still verifies (B1, B3).

No sleeps: every wait polls with a deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from cloudcip.jobs.leadership import JOBS_LOCK_CLASS
from cloudcip.records.roles import create_api_key
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import open_services
from cloudcip.settings import Settings

CLOUDCIP = str(Path(sys.executable).with_name("cloudcip"))
OPENINGS = 120
KILL_AFTER = 30  # acknowledged openings on the node to be killed, then SIGKILL: mid-load


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(what: str, condition: Any, seconds: float = 90.0) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        threading.Event().wait(0.05)  # a poll interval, not a wait for an outcome
    pytest.fail(f"timed out waiting for {what}")


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        assert self.process.poll() is None, f"node {self.name} exited with {self.process.returncode}"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture
def database_url(postgres_schema_url: str) -> str:
    return postgres_schema_url


@pytest.fixture
def nodes(tmp_path: Path, database_url: str) -> Iterator[tuple[list[Node], dict[str, str], str]]:
    data_a = tmp_path / "node-a"
    env = {**os.environ, "CLOUDCIP_DATA_DIR": str(data_a), "CLOUDCIP_DATABASE_URL": database_url}
    env.pop("CLOUDCIP_WEBHOOK_URL", None)
    subprocess.run([CLOUDCIP, "init"], env=env, check=True, capture_output=True, timeout=300)
    services = open_services(Settings(data_dir=data_a, database_url=database_url))
    try:
        with services.database.engine.begin() as conn:
            key = create_api_key(conn, "signup-service", "two nodes", datetime.now(UTC))
    finally:
        services.close()
    data_b = tmp_path / "node-b"
    shutil.copytree(data_a, data_b)  # a second machine: its own copy of the keyring and signing key
    started: list[Node] = []
    try:
        for name, data in (("a", data_a), ("b", data_b)):
            port = _free_port()
            log = (tmp_path / f"serve-{name}.log").open("wb")
            process = subprocess.Popen([CLOUDCIP, "serve", "--port", str(port)], stdout=log, stderr=log,
                                       env={**env, "CLOUDCIP_DATA_DIR": str(data)})
            started.append(Node(name, port, process, data))
        for node in started:
            _until(f"node {node.name} to answer", node.healthy)
        yield started, {"Authorization": f"Bearer {key}"}, database_url
    finally:
        for node in started:
            if node.process.poll() is None:
                node.process.terminate()
                try:
                    node.process.wait(30)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()


def _job_leaders(database_url: str) -> list[int]:
    """The pids of the ``serve`` processes holding the jobs' lock of this schema (from the holding
    session's ``application_name``: ``cloudcip-jobs HOST PID``)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :lock_class "
                "AND l.objid = (hashtext(current_schema()) & 4294967295)::oid"),
                {"lock_class": JOBS_LOCK_CLASS}).scalars().all()
    finally:
        engine.dispose()
    return [int(name.rsplit(" ", 1)[1]) for name in names]


@pytest.mark.postgres
@pytest.mark.requirement("B1", "B3")
def test_two_nodes_survive_a_sigkill_mid_load(nodes: tuple[list[Node], dict[str, str], str]) -> None:
    started, auth, database_url = nodes
    by_pid = {node.process.pid: node for node in started}

    # exactly one node leads the periodic jobs
    [leader_pid] = _until("one node to lead the jobs", lambda: _job_leaders(database_url) or None)
    assert leader_pid in by_pid
    victim = by_pid[leader_pid]
    survivor = next(node for node in started if node is not victim)

    generator = SyntheticCustomers(seed=20261204)
    bodies = [generator.application_json() for _ in range(OPENINGS)]
    acknowledged: dict[str, str] = {}  # idempotency key -> application id a client was given
    statuses: dict[str, list[int]] = {}
    guard = threading.Lock()
    victim_acks = 0
    kill_now = threading.Event()

    def open_account(number: int) -> None:
        nonlocal victim_acks
        key = f"two-nodes-{number}"
        order = [started[number % 2], started[(number + 1) % 2]]
        for attempt in range(40):
            node = order[attempt % 2]
            try:
                response = httpx.post(f"{node.url}/v1/applications", json=bodies[number], timeout=30.0,
                                      headers={**auth, "Idempotency-Key": key})
            except httpx.HTTPError:
                continue  # not acknowledged (the node died): retry the same key on the other node
            if response.status_code >= 500:
                continue
            assert response.status_code in (200, 201), response.text
            with guard:
                statuses.setdefault(key, []).append(response.status_code)
                previous = acknowledged.setdefault(key, response.json()["id"])
                assert previous == response.json()["id"], "one key, two applications"
                if node is victim:
                    victim_acks += 1
                    if victim_acks >= KILL_AFTER:
                        kill_now.set()
            return
        pytest.fail(f"{key} never acknowledged")

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(open_account, number) for number in range(OPENINGS)]
        assert kill_now.wait(180), "the load never reached the node to kill"
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait(30)
        for future in futures:
            future.result(timeout=300)

    assert victim.process.returncode == -signal.SIGKILL
    assert len(acknowledged) == OPENINGS

    # the survivor takes the jobs over: PostgreSQL ended the dead node's session and its lock
    _until("the survivor to lead the jobs", lambda: _job_leaders(database_url) == [survivor.process.pid])

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(text(
                "SELECT idempotency_key, id FROM application WHERE idempotency_key LIKE 'two-nodes-%'")).all())
            doubled = conn.execute(text(
                "SELECT count(*) FROM application WHERE idempotency_key LIKE 'two-nodes-%' "
                "GROUP BY idempotency_key HAVING count(*) > 1")).all()
    finally:
        engine.dispose()
    assert not doubled
    assert stored == acknowledged  # every acknowledged opening is stored, as the id the client was given

    # a retry of an acknowledged key, on the survivor, is answered from what was stored
    some_key = next(iter(acknowledged))
    again = httpx.post(f"{survivor.url}/v1/applications", json=bodies[int(some_key.rsplit("-", 1)[1])],
                       headers={**auth, "Idempotency-Key": some_key}, timeout=30.0)
    assert again.status_code == 200 and again.json()["id"] == acknowledged[some_key]

    # and the ledger, written by both nodes and cut short by the kill, verifies whole
    verified = subprocess.run([CLOUDCIP, "ledger", "verify"], capture_output=True, timeout=300,
                              env={**os.environ, "CLOUDCIP_DATA_DIR": str(survivor.data_dir),
                                   "CLOUDCIP_DATABASE_URL": database_url})
    assert verified.returncode == 0, verified.stdout.decode()[-2000:] + verified.stderr.decode()[-2000:]
