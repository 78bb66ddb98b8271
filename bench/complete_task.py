"""Benchmark: one task completion through the JSON API against the engine's own floor.

In one run, on the same plans and the same step (จัดทำร่างแผนการดำเนินงาน, after a project list
of PROJECTS records was collected): the median time of POST /api/v1/tasks/<id>/complete
(Flask test client, SQLite file database, everything the service does: token check, load,
validate, restore, complete, deadlines, inbox rows, digest, event, commit, plan view), and the
median of the engine floor (restore the snapshot, complete the task, serialize). Prints both
and their ratio.  Usage: python bench/complete_task.py [PLANS] [PROJECTS] [--postgres]
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from common import Database  # noqa: E402

from service import engine
from service.app import create_app
from service.auth import actor_of
from service.clock import FixedClock
from service.commands import admin
from service.commands import plans as commands
from service.models import OpenTask, Plan, User

NUMBERS = [int(a) for a in sys.argv[1:] if a.isdigit()]
PLANS = NUMBERS[0] if NUMBERS else 40
PROJECTS = NUMBERS[1] if len(NUMBERS) > 1 else 200
STEP = "draft_plan"
STEP_DATA = {"draft_prepared_on": "2020-09-21", "draft_notes": "ร่างตามบัญชีโครงการที่รวบรวม"}


def project(n: int) -> dict:
    return {"name": f"โครงการที่ {n}", "activities": "รายละเอียดกิจกรรม " * 3, "budget": 10000.0 + n,
            "place": f"หมู่ที่ {n % 12 + 1}", "responsible_unit": "กองช่าง", "strategy": f"ยุทธศาสตร์ที่ {n % 5 + 1}",
            "plan_program": "อุตสาหกรรมและการโยธา", "source": "lao",
            "funding": "ordinance", "months": [10, 11, 12, 1], "is_equipment": False}


def main() -> None:
    database = Database(postgres="--postgres" in sys.argv)
    try:
        run(database)
    finally:
        database.close()


def run(database: Database) -> None:
    clock = FixedClock(datetime(2020, 9, 21, 9, tzinfo=ZoneInfo("Asia/Bangkok")))
    ctx = database.context(clock)
    client = create_app(context=ctx).test_client()
    headers = {}
    for year in range(PLANS):
        code = f"org{year}"
        admin.add_organization(ctx, code, f"เทศบาลตำบลทดสอบ {year}")
        token = admin.add_user(ctx, f"{code}-support", code, ["support_committee"], with_token=True)
        headers[code] = {"Authorization": f"Bearer {token}"}
        with ctx.db.read() as session:
            actor = actor_of(session.query(User).filter_by(username=f"{code}-support").one())
        plan_id = commands.start_plan(ctx, actor, {"organization": code, "fiscal_year": 2564,
                                                   "budget_announced_on": "2020-09-20"})
        with ctx.db.read() as session:
            task_id = session.query(OpenTask.id).filter_by(plan_id=plan_id).scalar()
        commands.complete_task(ctx, actor, task_id, {"projects": [project(n) for n in range(PROJECTS)]})

    with ctx.db.read() as session:
        plans = session.query(Plan).order_by(Plan.id).all()
        snapshots = [(p.organization.code, p.state_json, ctx.models.get(p.process_version)) for p in plans]
        tasks = {t.plan_id: t.id for t in session.query(OpenTask).filter_by(name=STEP)}
        helpers = ctx.timer_helpers(session, ctx.clock.now())
        plan_ids = [p.id for p in plans]
    size = len(snapshots[0][1])

    # Floor and API alternate plan by plan, so that a change in machine load hits both alike.
    now = clock.advance(hours=1)
    floor, api = [], []
    for (code, state_json, model), plan_id in zip(snapshots, plan_ids, strict=True):
        started = time.perf_counter()
        instance = engine.Instance.restore(model, state_json, helpers)
        task = next(t for t in instance.open_tasks() if t.spec_name == STEP)
        instance.complete(task.id, STEP_DATA, now + timedelta(seconds=1))
        instance.dump()
        floor.append(time.perf_counter() - started)

        started = time.perf_counter()
        response = client.post(f"/api/v1/tasks/{tasks[plan_id]}/complete", headers=headers[code], json=STEP_DATA)
        api.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()

    api_ms, floor_ms = statistics.median(api) * 1000, statistics.median(floor) * 1000
    print(f"[{database.name}] plans: {PLANS}, projects per plan: {PROJECTS}, snapshot: {size / 1024:.0f} KB")
    print(f"engine floor (restore, complete, serialize): median {floor_ms:.2f} ms")
    print(f"API completion (POST .../complete):           median {api_ms:.2f} ms")
    print(f"ratio API / engine floor: {api_ms / floor_ms:.2f}")


if __name__ == "__main__":
    main()
