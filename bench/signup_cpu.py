"""CPU of one API worker's signup decisions, in process (issue 11): ``python -m bench.signup_cpu``.

Set up as ``bench.signup`` sets up (the real lists of ../shared/data/lists where present, else the demo
list; Iran prohibited; the service wired as the API wires it; the screening index built and the worker's
warm-up done), 20 decisions to warm the caches, then ``--decisions`` decisions on the bodies the HTTP
part of ``bench.signup`` sends (``applications(seed=99)``), timed with ``time.process_time``.

Under ``valgrind --tool=callgrind --instr-atstart=no`` the decisions alone are instrumented (the
set-up is not), so the instruction count of two checkouts can be compared on a shared machine:

    valgrind --tool=callgrind --instr-atstart=no python -m bench.signup_cpu --decisions 150 --callgrind

``--profile FILE`` writes a cProfile (CPU clock) of the decisions instead.

``--owners N`` decides entity applications with ``N`` beneficial owners instead (``owned_entities``:
the heaviest decisions of ``bench.signup``'s mix, which set its in-process p99: ``N + 1`` names
screened), and reports the median and p90 of the decisions' CPU besides the mean. (The mean is the process's CPU,
the checkpointer's thread included, as in ``bench.signup``; the median and p90 are of each decision's
own thread.)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.signup import SIGNUP, applications, deployment, reference_cpu_ms
from cloudcip.api.warmup import warm_up
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import screening_service


def _callgrind(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   check=False, capture_output=True)


def owned_entities(count: int, owners: int, seed: int = 31) -> list[dict[str, Any]]:
    """``count`` generated applications of entities with ``owners`` beneficial owners (1 to 3: what
    ``SyntheticCustomers`` generates)."""
    if not 1 <= owners <= 3:
        raise ValueError("owners must be 1, 2 or 3")
    generator = SyntheticCustomers(seed=seed)
    found: list[dict[str, Any]] = []
    while len(found) < count:
        body = generator.application_json()
        if body["kind"] == "entity" and len(body.get("beneficial_owners") or []) == owners:
            found.append(body)
    return found


def run(decisions: int = 300, callgrind: bool = False, profile: Path | None = None,
        owners: int | None = None) -> dict[str, Any]:
    # under callgrind without the log's checkpointer thread, whose instructions vary from run to run
    with deployment("cloudcip-bench-signup-cpu-", checkpointer=not callgrind) as (services, service, adapter):
        service.submit(adapter.validate_python(applications(1, seed=7)[0]), SIGNUP)
        warm_up(screening_service(services))
        bodies = applications(decisions + 20, seed=99) if owners is None else owned_entities(decisions + 20, owners)
        for body in bodies[:20]:
            service.submit(adapter.validate_python(body), SIGNUP)
        requests = [adapter.validate_python(body) for body in bodies[20:]]
        profiler = cProfile.Profile(time.process_time) if profile is not None else None
        if callgrind:
            _callgrind(True)
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        each: list[float] = []
        for request in requests:
            began = time.thread_time()  # the decision's own thread: not the checkpointer's passes
            service.submit(request, SIGNUP)
            each.append(time.thread_time() - began)
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - started
        if callgrind:
            _callgrind(False)
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
    each.sort()
    return {"decisions": decisions, "owners": owners if owners is not None else "mix",
            "cpu_ms_per_decision": round(cpu * 1000 / max(1, decisions), 3),
            "cpu_ms_median": round(statistics.median(each) * 1000, 3) if each else 0.0,
            "cpu_ms_p90": round(each[int(0.9 * (len(each) - 1))] * 1000, 3) if each else 0.0,
            "reference_cpu_ms": reference_cpu_ms()}  # the machine's speed now (see there)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--callgrind", action="store_true", help="instrument only the decisions (under callgrind)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the decisions here")
    parser.add_argument("--owners", type=int, choices=(1, 2, 3),
                        help="decide entities with this many beneficial owners instead of the HTTP bench's bodies")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.decisions, arguments.callgrind, arguments.profile, arguments.owners)))
