"""Benchmark: what running designer code in the sandbox's child process costs per call.

In one run, µs per call (median of rounds of CALLS calls) of a gateway condition, a timer expression
that calls a helper back (legal_deadline) and a script over a list of PROJECTS projects, through the
child (Sandbox.evaluate / execute) and in this process (the same restricted code, builtins and time
limit, as the sandbox ran before it had a child). The task data holds the projects every time; only
the script reads them.  Usage: python bench/sandbox.py [CALLS] [PROJECTS]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import common  # noqa: F401 - puts the repository root on sys.path

from service.engine import restricted, sandbox
from service.thai import legaldays

NUMBERS = [int(a) for a in sys.argv[1:] if a.isdigit()]
CALLS = NUMBERS[0] if NUMBERS else 500
PROJECTS = NUMBERS[1] if len(NUMBERS) > 1 else 200
ROUNDS = 5
CASES = [
    ("condition", "eval", 'review_resolution == "revise"'),
    ("timer (one helper call)", "eval", "legal_deadline(budget_announced_on, 30)"),
    (f"script over {PROJECTS} projects", "exec", "total_budget = sum(p['budget'] for p in projects)"),
]


def in_process(mode: str, source: str, time_limit: float, helpers: dict[str, Any], data: dict[str, Any]) -> Any:
    """The sandbox before it had a child: the same restricted code, run here."""
    env = restricted.environment({**helpers, **data})
    if mode == "eval":
        return restricted.evaluate(source, env, time_limit)
    restricted.execute(source, env, time_limit)
    return {name: value for name, value in env.items()
            if name not in helpers and not name.startswith("_") and not callable(value)
            and restricted.storable(value)}


def per_call_us(box: sandbox.Sandbox, mode: str, source: str, data: dict[str, Any]) -> float:
    run = box.evaluate if mode == "eval" else box.execute
    run(source, dict(data))  # the child started, the code compiled
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            run(source, dict(data))
        rounds.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(rounds)


def main() -> None:
    data = {"review_resolution": "revise", "budget_announced_on": "2020-09-20",
            "projects": [{"name": f"โครงการที่ {n}", "budget": 10000.0 + n, "months": [10, 11]} for n in range(PROJECTS)]}
    box = sandbox.Sandbox(legaldays.timer_helpers(()))
    print(f"{CALLS} calls x {ROUNDS} rounds, median µs per call; task data: {PROJECTS} projects")
    print(f"{'':32}{'in this process':>16}{'child process':>16}{'difference':>12}")
    for label, mode, source in CASES:
        child = per_call_us(box, mode, source, data)
        here_run = sandbox.CHILD.run
        sandbox.CHILD.run = in_process  # type: ignore[method-assign]
        try:
            here = per_call_us(box, mode, source, data)
        finally:
            sandbox.CHILD.run = here_run  # type: ignore[method-assign]
        print(f"{label:32}{here:16.1f}{child:16.1f}{child - here:12.1f}")


if __name__ == "__main__":
    main()
