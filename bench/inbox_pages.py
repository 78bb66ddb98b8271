"""Benchmark: the first page of a paged list costs the same whatever the length of the list.

One user whose organization holds N_LARGE open steps (and plans) vs one whose organization holds
N_SMALL: the median server time of the inbox's first page (50 rows) and of a page deep inside, and
of the first page of the plan list (50 plans), measured alternately so machine load hits both alike.
Prints the figures and the ratios (aim: large/small <= 1.5, the first page < 10 ms).
Usage: python bench/inbox_pages.py [--postgres] [--large 10000] [--small 100] [--explain]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from common import Database, actor, arguments, organization_with_plan
from sqlalchemy import text

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
    with ctx.db.engine.begin() as connection:  # fresh statistics, as a database in use has them
        connection.execute(text("ANALYZE"))
    return ctx


def explain(ctx, statement: Callable[[], object]) -> None:
    """Print the query plans of what ``statement`` runs (EXPLAIN QUERY PLAN / EXPLAIN)."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, sql, params, context, executemany):
        seen.append((sql, params))

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        statement()
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)
    prefix = "EXPLAIN QUERY PLAN " if ctx.db.engine.dialect.name == "sqlite" else "EXPLAIN "
    with ctx.db.engine.connect() as connection:
        for sql, params in seen:
            if sql.lstrip().upper().startswith("SELECT"):
                print(sql.split("\n")[0][:100], "...")
                for row in connection.exec_driver_sql(prefix + sql, params).all():
                    print("   ", row[-1] if len(row) > 1 else row[0])


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="print the query plans of the large lists")
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
        if args.explain:
            ctx, who = contexts[args.large], actors[args.large]
            explain(ctx, lambda: queries.inbox_page(ctx, who, PAGE))
            explain(ctx, lambda: queries.plans(ctx, who, PAGE))
        first: dict[int, list[float]] = {n: [] for n in contexts}
        inside: dict[int, list[float]] = {n: [] for n in contexts}
        plans: dict[int, list[float]] = {n: [] for n in contexts}
        for _ in range(args.repeat):
            for n, ctx in contexts.items():
                started = time.perf_counter()
                page = queries.inbox_page(ctx, actors[n], PAGE)
                first[n].append(time.perf_counter() - started)
                assert len(page["tasks"]) == min(PAGE, n)
                started = time.perf_counter()
                queries.inbox_page(ctx, actors[n], PAGE, deep[n])
                inside[n].append(time.perf_counter() - started)
                started = time.perf_counter()
                listed = queries.plans(ctx, actors[n], PAGE)
                plans[n].append(time.perf_counter() - started)
                assert len(listed["plans"]) == min(PAGE, n)
        for ctx in contexts.values():
            ctx.db.dispose()
    finally:
        for db in databases.values():
            db.close()
    med, deep_med, plans_med = ({n: median_ms(v) for n, v in times.items()} for times in (first, inside, plans))
    small, large = args.small, args.large
    name = databases[small].name
    print(f"[{name}] inbox first page ({PAGE} rows): {small} open steps {med[small]:.2f} ms, "
          f"{large} open steps {med[large]:.2f} ms")
    print(f"[{name}] a page deep inside: {small} {deep_med[small]:.2f} ms, {large} {deep_med[large]:.2f} ms")
    print(f"[{name}] plan list first page ({PAGE} plans): {small} plans {plans_med[small]:.2f} ms, "
          f"{large} plans {plans_med[large]:.2f} ms")
    print(f"ratio inbox first page {large}/{small}: {med[large] / med[small]:.2f}")
    print(f"ratio inbox deep page {large}/{small}: {deep_med[large] / deep_med[small]:.2f}")
    print(f"ratio plan list first page {large}/{small}: {plans_med[large] / plans_med[small]:.2f}")


if __name__ == "__main__":
    main()
