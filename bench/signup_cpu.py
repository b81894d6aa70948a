"""CPU of one API worker's signup decisions, in process (issue 11): ``python -m bench.signup_cpu``.

Set up as ``bench.signup`` sets up (the real lists of ../shared/data/lists where present, else the demo
list; Iran prohibited; the service wired as the API wires it; the screening index built and the worker's
warm-up done), 20 decisions to warm the caches, then ``--decisions`` decisions on the bodies the HTTP
part of ``bench.signup`` sends (``applications(seed=99)``), timed with ``time.process_time``.

Under ``valgrind --tool=callgrind --instr-atstart=no`` the decisions alone are instrumented (the
set-up is not), so the instruction count of two checkouts can be compared on a shared machine:

    valgrind --tool=callgrind --instr-atstart=no python -m bench.signup_cpu --decisions 150 --callgrind

``--profile FILE`` writes a cProfile (CPU clock) of the decisions instead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import subprocess
import time
from pathlib import Path

from bench.signup import SIGNUP, applications, deployment, reference_cpu_ms
from cloudcip.api.warmup import warm_up
from cloudcip.runtime import screening_service


def _callgrind(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   check=False, capture_output=True)


def run(decisions: int = 300, callgrind: bool = False, profile: Path | None = None) -> dict[str, float]:
    # under callgrind without the log's checkpointer thread, whose instructions vary from run to run
    with deployment("cloudcip-bench-signup-cpu-", checkpointer=not callgrind) as (services, service, adapter):
        service.submit(adapter.validate_python(applications(1, seed=7)[0]), SIGNUP)
        warm_up(screening_service(services))
        bodies = applications(decisions + 20, seed=99)
        for body in bodies[:20]:
            service.submit(adapter.validate_python(body), SIGNUP)
        requests = [adapter.validate_python(body) for body in bodies[20:]]
        profiler = cProfile.Profile(time.process_time) if profile is not None else None
        if callgrind:
            _callgrind(True)
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        for request in requests:
            service.submit(request, SIGNUP)
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - started
        if callgrind:
            _callgrind(False)
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
    return {"decisions": decisions, "cpu_ms_per_decision": round(cpu * 1000 / max(1, decisions), 3),
            "reference_cpu_ms": reference_cpu_ms()}  # the machine's speed now (see there)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--callgrind", action="store_true", help="instrument only the decisions (under callgrind)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the decisions here")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.decisions, arguments.callgrind, arguments.profile)))
