"""Benchmark: the oversight dashboard's first page for a province of 500 organizations and for the
whole country of 8,000 (each with a plan of the year, in every standing), as the server answers
GET /api/v1/oversight and GET /oversight (the page, rendered): median server time of each, measured
alternately so machine load hits both alike, and the ratio country/province (aim: < 200 ms, <= 3).
Usage: python bench/oversight.py [--postgres] [--province 500] [--country 8000] [--rounds 15] [--explain]
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

from common import BANGKOK, Database, arguments, organization_with_plan
from sqlalchemy import insert, select, text

from service import oversight
from service.app import create_app
from service.auth import ADMIN, Actor, hash_password
from service.commands import admin, administration
from service.models import OpenTask, Organization, Plan, PlanStanding, User

PASSWORD = "bench password 2563"
PROVINCE = "จังหวัดที่ 0"


def _deadline(due, state):
    return {"key": "plan", "name": "จัดทำแผนภายใน 30 วัน", "basis": "ข้อ 27", "kind": "limit",
            "due_at": due.isoformat(), "state": state, "actual_at": None}


def setup(db: Database, province: int, country: int):
    """``country`` organizations in 16 provinces (the first holds ``province``), 8 districts each,
    every one with a plan of 2564 in one of five standings, with its open step and its standing."""
    ctx = db.context()
    source, _ = organization_with_plan(ctx, "source")
    ctx.clock.set(datetime(2020, 11, 10, 9, tzinfo=BANGKOK))  # fiscal year 2564, the dashboard's default
    now = ctx.clock.now()
    with ctx.db.read() as session:
        version_id = session.get(Plan, source).process_version_id
    others = country - province
    places = [(PROVINCE, n) for n in range(province)] + [(f"จังหวัดที่ {1 + n % 15}", n) for n in range(others)]
    with ctx.db.write() as session:
        session.execute(insert(Organization), [
            {"code": f"o{i:05d}", "name": f"องค์การบริหารส่วนตำบลที่ {i:05d}", "province": where,
             "district": f"อำเภอที่ {n % 8}", "type": "sao", "created_at": now, "active": True}
            for i, (where, n) in enumerate(places)])
        ids = list(session.scalars(select(Organization.id).where(Organization.code.like("o%"))
                                   .order_by(Organization.id)))
        plans = []
        for i, org_id in enumerate(ids):
            status = "completed" if i % 5 == 4 else "running"
            due = now + timedelta(days=(i % 40) - 20)
            listed = [_deadline(due, "missed" if i % 5 == 3 else "met" if status == "completed" else "pending")]
            plans.append({"organization_id": org_id, "fiscal_year": 2564, "process_version_id": version_id,
                          "status": status, "state_json": "{}", "deadlines": listed, "started_at": now,
                          "started_by": "bench", "version": 1})
        session.execute(insert(Plan), plans)
        rows = session.execute(select(Plan.id, Plan.organization_id, Plan.status, Plan.deadlines)
                               .where(Plan.organization_id.in_(select(Organization.id).where(
                                   Organization.code.like("o%"))))).all()
        standings, steps = [], []
        for plan_id, org_id, status, listed in rows:
            missed, due_at = oversight.standing(listed)
            standings.append({"plan_id": plan_id, "organization_id": org_id, "fiscal_year": 2564, "status": status,
                              "missed": missed, "due_at": due_at})
            if status == "running":
                steps.append({"id": f"t{plan_id}", "plan_id": plan_id, "organization_id": org_id,
                              "name": "draft_plan", "title": "จัดทำร่างแผนการดำเนินงาน", "role": "support_committee",
                              "opened_at": now})
        session.execute(insert(PlanStanding), standings)
        session.execute(insert(OpenTask), steps)
        session.add(User(username="overseer", display_name="สถ.จังหวัด", password_hash=hash_password(PASSWORD),
                         created_at=now))
    administration.set_oversight(ctx, Actor(None, "bench", None, frozenset({(None, ADMIN)})), "overseer", PROVINCE)
    admin.add_user(ctx, "auditor", None, ["auditor"], PASSWORD)
    with ctx.db.engine.begin() as connection:  # fresh statistics, as a database in use has them
        connection.execute(text("ANALYZE"))
    return ctx, {scope: admin.issue_token(ctx, name, None) for scope, name in (("province", "overseer"),
                                                                                ("country", "auditor"))}


def explain(ctx, actor) -> None:
    from sqlalchemy import event

    def show(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            prefix = "EXPLAIN QUERY PLAN " if ctx.db.engine.dialect.name == "sqlite" else "EXPLAIN "
            print(statement[:160].replace("\n", " "))
            for row in conn.exec_driver_sql(prefix + statement, parameters).all():
                print("   ", row)

    event.listen(ctx.db.engine, "before_cursor_execute", show)
    oversight.dashboard(ctx, actor, oversight.Filters(2564))
    event.remove(ctx.db.engine, "before_cursor_execute", show)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--province", type=int, default=500)
    parser.add_argument("--country", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--explain", action="store_true")
    options = parser.parse_args()
    db = Database(options.postgres)
    try:
        started = time.perf_counter()
        ctx, tokens = setup(db, options.province, options.country)
        print(f"{db.name}: {options.country:,} organizations with plans, {options.province:,} in one province "
              f"(set up in {time.perf_counter() - started:.1f} s)")
        app = create_app(context=ctx, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
        clients = {}
        for scope, username in (("province", "overseer"), ("country", "auditor")):
            clients[scope] = app.test_client()
            clients[scope].post("/login", data={"username": username, "password": PASSWORD})
        if options.explain:
            with ctx.db.read() as session:
                from service.auth import actor_of
                explain(ctx, actor_of(session.query(User).filter_by(username="auditor").one()))
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(options.rounds + 2):  # the first two warm caches and are not counted
            for scope in ("province", "country"):
                for kind, call in (("api", lambda s=scope: clients[s].get(
                        "/api/v1/oversight", headers={"Authorization": f"Bearer {tokens[s]}"})),
                                   ("page", lambda s=scope: clients[s].get("/oversight"))):
                    begun = time.perf_counter()
                    answer = call()
                    elapsed = (time.perf_counter() - begun) * 1000
                    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
                    times.setdefault((scope, kind), []).append(elapsed)
        counted = {key: statistics.median(values[2:]) for key, values in times.items()}
        body = clients["country"].get("/api/v1/oversight", headers={"Authorization": f"Bearer {tokens['country']}"})
        print(f"country counts: {body.get_json()['counts']}")
        for kind, title in (("api", "GET /api/v1/oversight"), ("page", "GET /oversight (rendered)")):
            small, large = counted[("province", kind)], counted[("country", kind)]
            print(f"{title:28} province ({options.province:,}): {small:6.1f} ms   country ({options.country:,}): "
                  f"{large:6.1f} ms   ratio {large / small:.2f}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
