"""CPU of what a signup costs an API worker outside the decision itself (issue 11, B4):
``python -m bench.signup_http_cpu``.

Set up as ``bench.signup_cpu`` sets up (``bench.signup.deployment``: the real lists where present, Iran
prohibited), then the app of a worker of ``cloudcip serve`` is built on those services
(``create_app``, the screening index built and the worker's warm-up done) and an API key of the
signup service created. 20 signups warm the caches, then ``--decisions`` signups on the bodies the HTTP
part of ``bench.signup`` sends (``applications(seed=99)``, JSON-encoded up front, with the same
headers), either

* ``--mode http`` (the default): each through the whole ASGI app, as uvicorn calls it (one
  ``http.request`` message, the answer's messages collected), every middleware and the route's own
  checks included; or
* ``--mode direct``: each validated by the request model, then ``ApplicationService.submit``, the
  decision alone; or
* ``--mode layer``: through the whole ASGI app as ``http`` does, with ``ApplicationService.submit``
  answering a stored decision at once: the HTTP layer alone (many requests in a few seconds).

The CPU per signup is reported (``time.process_time``). The HTTP layer's cost is the difference of the
two modes; under ``valgrind --tool=callgrind --instr-atstart=no`` only the measured signups are
instrumented, so the instruction counts of the two modes (and of two checkouts) compare on a shared
machine:

    valgrind --tool=callgrind --instr-atstart=no python -m bench.signup_http_cpu --decisions 100 --callgrind
    valgrind --tool=callgrind --instr-atstart=no python -m bench.signup_http_cpu --mode direct --decisions 100 \
        --callgrind

``--profile FILE`` writes a cProfile (CPU clock) of the measured signups instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.signup import SIGNUP, applications, deployment
from cloudcip.api.app import create_app
from cloudcip.api.warmup import warm_up
from cloudcip.records.roles import create_api_key

WARM = 20


def _callgrind(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   check=False, capture_output=True)


def _scope(key: str, idempotency_key: str, length: int) -> dict[str, Any]:
    """The scope uvicorn (httptools) gives a ``POST /v1/applications`` of ``bench.signup``'s client."""
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000), "scheme": "http", "method": "POST",
        "root_path": "", "path": "/v1/applications", "raw_path": b"/v1/applications", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept-encoding", b"identity"),
                    (b"content-length", str(length).encode()), (b"authorization", f"Bearer {key}".encode()),
                    (b"content-type", b"application/json"), (b"idempotency-key", idempotency_key.encode())],
        "state": {},
    }


async def _post(app: Any, key: str, idempotency_key: str, body: bytes) -> int:
    """One signup through the ASGI app; its status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client is still there: never a disconnect
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(key, idempotency_key, len(body)), receive, send)
    return status


def run(decisions: int = 300, mode: str = "http", callgrind: bool = False,
        profile: Path | None = None) -> dict[str, Any]:
    with deployment("cloudcip-bench-signup-http-cpu-") as (services, _service, adapter):
        app = create_app(services)
        service = app.state.applications
        answer = service.submit(adapter.validate_python(applications(1, seed=7)[0]), SIGNUP)
        with services.database.engine.begin() as conn:
            key = create_api_key(conn, "signup-service", "bench", datetime.now(UTC))
        warm_up(app.state.screening)
        if mode == "layer":
            service.submit = lambda *_args, **_kwargs: answer  # the decision left out
        bodies = [json.dumps(body).encode() for body in applications(decisions + WARM, seed=99)]
        loop = asyncio.new_event_loop()
        statuses: dict[int, int] = {}

        def signup(number: int, body: bytes) -> None:
            if mode != "direct":
                status = loop.run_until_complete(_post(app, key, f"b{number}", body))
                statuses[status] = statuses.get(status, 0) + 1
            else:
                service.submit(adapter.validate_python(json.loads(body)), SIGNUP, idempotency_key=f"b{number}")

        for number, body in enumerate(bodies[:WARM]):
            signup(number, body)
        profiler = cProfile.Profile(time.process_time) if profile is not None else None
        if callgrind:
            _callgrind(True)
        started, times = time.process_time(), os.times()
        if profiler is not None:
            profiler.enable()
        for number, body in enumerate(bodies[WARM:], start=WARM):
            signup(number, body)
        if profiler is not None:
            profiler.disable()
        cpu, system = time.process_time() - started, os.times().system - times.system
        if callgrind:
            _callgrind(False)
        loop.close()
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
    return {"mode": mode, "decisions": decisions, "statuses": statuses,
            "cpu_ms_per_decision": round(cpu * 1000 / max(1, decisions), 3),
            "of_which_system_ms": round(system * 1000 / max(1, decisions), 3)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--mode", choices=("http", "direct", "layer"), default="http")
    parser.add_argument("--callgrind", action="store_true", help="instrument only the measured signups")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured signups here")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.decisions, arguments.mode, arguments.callgrind, arguments.profile)))
