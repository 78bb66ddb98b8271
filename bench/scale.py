"""Benchmark: lists and sweeps touch only what they must, whatever the number of plans.

1. The inbox of one user among N_LARGE open plans vs among N_SMALL (median of repeated queries).
2. A timer sweep with N_LARGE plans waiting and DUE due vs N_SMALL waiting and DUE due.
Each prints its two figures and their ratio (aim: at most 1.5; the inbox under 20 ms).
Usage: python bench/scale.py [--postgres] [--large 10000] [--small 100] [--due 100]
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime

from common import BANGKOK, Database, actor, arguments, organization_with_plan

from service import queries
from service.clock import FixedClock
from service.commands import plans as commands
from tests.factories import clone_plans


def inbox_medians(contexts: dict, username: str, repeat: int = 300) -> dict:
    """Median inbox time per database, measured alternately so machine load hits all alike."""
    actors = {key: actor(ctx, username) for key, ctx in contexts.items()}
    times: dict = {key: [] for key in contexts}
    for _ in range(repeat):
        for key, ctx in contexts.items():
            started = time.perf_counter()
            rows = queries.inbox(ctx, actors[key])
            times[key].append(time.perf_counter() - started)
            assert len(rows) == 1
    return {key: statistics.median(values) * 1000 for key, values in times.items()}


def setup(db: Database, plans: int):
    """``plans`` plans over 100 organizations; the measured user's organization holds 1 of them."""
    clock = FixedClock(datetime(2020, 9, 21, 9, tzinfo=BANGKOK))
    ctx = db.context(clock)
    first, _ = organization_with_plan(ctx, "me")
    others = []
    for n in range(min(99, plans - 1)):
        plan_id, _ = organization_with_plan(ctx, f"o{n}")
        others.append(plan_id)
    from service.models import Organization

    with ctx.db.read() as session:
        org_ids = [o.id for o in session.query(Organization).filter(Organization.code != "me")]
    remaining = plans - 1 - len(others)
    if remaining > 0:
        clone_plans(ctx, others[0], remaining, org_ids)
    return ctx, clock, first


def sweep_time(db: Database, waiting: int, due: int) -> float:
    """Seconds for one sweep firing ``due`` timers while ``waiting`` others are not due yet."""
    clock = FixedClock(datetime(2020, 9, 21, 9, tzinfo=BANGKOK))
    ctx = db.context(clock)
    due_plan, _ = organization_with_plan(ctx, "due", budget_announced_on="2020-09-01")   # due 1 Oct
    later_plan, _ = organization_with_plan(ctx, "later", budget_announced_on="2020-09-21")  # due 21 Oct
    clone_plans(ctx, due_plan, due - 1)
    clone_plans(ctx, later_plan, waiting - 1)
    clock.set(datetime(2020, 10, 5, 9, tzinfo=BANGKOK))
    started = time.perf_counter()
    fired = commands.fire_due_timers(ctx)
    elapsed = time.perf_counter() - started
    assert len(fired) == due, len(fired)
    ctx.db.dispose()
    return elapsed * 1000


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()

    databases = {plans: Database(args.postgres) for plans in (args.small, args.large)}
    try:
        contexts = {plans: setup(db, plans)[0] for plans, db in databases.items()}
        results = inbox_medians(contexts, "me-support")
        for ctx in contexts.values():
            ctx.db.dispose()
    finally:
        for db in databases.values():
            db.close()
    print(f"[{db.name}] inbox of one user: {args.small} open plans {results[args.small]:.2f} ms, "
          f"{args.large} open plans {results[args.large]:.2f} ms")
    inbox_ratio = results[args.large] / results[args.small]

    sweeps = {}
    warm_up = Database(args.postgres)  # a first small sweep pays for imports and first use
    try:
        sweep_time(warm_up, 10, 10)
    finally:
        warm_up.close()
    for waiting in (args.small, args.large):
        db = Database(args.postgres)
        try:
            sweeps[waiting] = sweep_time(db, waiting, args.due)
        finally:
            db.close()
    print(f"[{db.name}] timer sweep, {args.due} due: {args.small} waiting {sweeps[args.small]:.0f} ms, "
          f"{args.large} waiting {sweeps[args.large]:.0f} ms")
    print(f"ratio inbox {args.large}/{args.small}: {inbox_ratio:.2f}")
    print(f"ratio sweep {args.large}/{args.small} waiting: {sweeps[args.large] / sweeps[args.small]:.2f}")


if __name__ == "__main__":
    main()
