"""Benchmark: the first page of a paged inbox costs the same whatever the number of open tasks.

One user whose organization holds N_LARGE open steps vs one whose organization holds N_SMALL: the
median server time of the first page (50 rows) and of a page deep inside, measured alternately so
machine load hits both alike. Prints the figures and the ratio (aim: large/small <= 1.5, < 10 ms).
Usage: python bench/inbox_pages.py [--postgres] [--large 10000] [--small 100]
"""

from __future__ import annotations

import statistics
import time

from common import Database, actor, arguments, organization_with_plan

from service import queries
from service.models import Organization
from tests.factories import clone_plans

PAGE = 50


def setup(db: Database, tasks: int):
    ctx = db.context()
    plan_id, _ = organization_with_plan(ctx, "me")
    with ctx.db.read() as session:
        org_id = session.query(Organization).filter(Organization.code == "me").one().id
    for start in range(1, tasks, 2000):  # the user's own organization: every copy is in the inbox
        clone_plans(ctx, plan_id, min(2000, tasks - start), [org_id])
    return ctx


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    databases = {n: Database(args.postgres) for n in (args.small, args.large)}
    try:
        contexts = {n: setup(db, n) for n, db in databases.items()}
        actors = {n: actor(ctx, "me-support") for n, ctx in contexts.items()}
        # a cursor into the middle of each inbox: "page 40" must cost what page 1 costs
        deep = {}
        for n, ctx in contexts.items():
            after = None
            for _ in range(min(40, n // PAGE - 1)):
                after = queries.inbox_page(ctx, actors[n], PAGE, after)["next"]
            deep[n] = after
        first: dict[int, list[float]] = {n: [] for n in contexts}
        inside: dict[int, list[float]] = {n: [] for n in contexts}
        for _ in range(args.repeat):
            for n, ctx in contexts.items():
                started = time.perf_counter()
                page = queries.inbox_page(ctx, actors[n], PAGE)
                first[n].append(time.perf_counter() - started)
                assert len(page["tasks"]) == min(PAGE, n)
                started = time.perf_counter()
                queries.inbox_page(ctx, actors[n], PAGE, deep[n])
                inside[n].append(time.perf_counter() - started)
        for ctx in contexts.values():
            ctx.db.dispose()
    finally:
        for db in databases.values():
            db.close()
    med = {n: statistics.median(v) * 1000 for n, v in first.items()}
    deep_med = {n: statistics.median(v) * 1000 for n, v in inside.items()}
    name = databases[args.small].name
    print(f"[{name}] inbox first page ({PAGE} rows): {args.small} open steps {med[args.small]:.2f} ms, "
          f"{args.large} open steps {med[args.large]:.2f} ms")
    print(f"[{name}] a page deep inside: {args.small} {deep_med[args.small]:.2f} ms, "
          f"{args.large} {deep_med[args.large]:.2f} ms")
    print(f"ratio first page {args.large}/{args.small}: {med[args.large] / med[args.small]:.2f}")


if __name__ == "__main__":
    main()
