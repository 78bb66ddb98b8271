"""Benchmark: task completions through the JSON API against the engine's own floor.

In one run, on the same plans, two steps each with a project list of PROJECTS records: the
collecting step (รวบรวมโครงการ/กิจกรรม: the whole list is the body, ~105 KB for 200 projects,
validated against the form's schema) and the step after it (จัดทำร่างแผนการดำเนินงาน: a small body
on a plan that holds the list). For each: the median time of POST /api/v1/tasks/<id>/complete
(Flask test client, SQLite file database, everything the service does: token check, load,
validate, rules, restore, complete, deadlines, inbox rows, digest, event, render jobs, commit,
plan view), and the median of the engine floor on the same plan and data (restore the snapshot,
complete the task, serialize). The body is encoded once, as a client sends bytes it holds.
Prints both and their ratio per step.  Usage: python bench/complete_task.py [PLANS] [PROJECTS] [--postgres]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime, timedelta
from typing import Any
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
COLLECT, DRAFT = "collect_projects", "draft_plan"
DRAFT_DATA = {"draft_prepared_on": "2020-09-21", "draft_notes": "ร่างตามบัญชีโครงการที่รวบรวม"}


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
        commands.start_plan(ctx, actor, {"organization": code, "fiscal_year": 2564,
                                         "budget_announced_on": "2020-09-20"})
    collect_data = {"projects": [project(n) for n in range(PROJECTS)]}
    body = json.dumps(collect_data, ensure_ascii=False).encode()
    collect = measure(ctx, client, headers, COLLECT, collect_data, body, clock.advance(minutes=30))
    draft = measure(ctx, client, headers, DRAFT, DRAFT_DATA, json.dumps(DRAFT_DATA).encode(), clock.advance(hours=1))

    print(f"[{database.name}] plans: {PLANS}, projects per plan: {PROJECTS}")
    for title, (floor_ms, api_ms, _) in ((f"collecting step ({len(body) / 1024:.0f} KB body)", collect),
                                         (f"next step ({size_kb(draft)} KB snapshot)", draft)):
        print(f"{title}:")
        print(f"  engine floor (restore, complete, serialize): median {floor_ms:.2f} ms")
        print(f"  API completion (POST .../complete):           median {api_ms:.2f} ms")
        print(f"  ratio API / engine floor: {api_ms / floor_ms:.2f}")


def size_kb(figures: tuple[float, float, int]) -> str:
    return f"{figures[2] / 1024:.0f}"


def measure(ctx: Any, client: Any, headers: dict[str, dict[str, str]], step: str, data: dict[str, Any],
            body: bytes, now: datetime) -> tuple[float, float, int]:
    """Median floor and API milliseconds of completing ``step`` on every plan, and the snapshot size."""
    with ctx.db.read() as session:
        plans = session.query(Plan).order_by(Plan.id).all()
        snapshots = [(p.id, p.organization.code, p.state_json, ctx.models.get(p.process_version)) for p in plans]
        tasks = {t.plan_id: t.id for t in session.query(OpenTask).filter_by(name=step)}
        helpers = ctx.timer_helpers(session, now)

    # Floor and API alternate plan by plan, so that a change in machine load hits both alike.
    floor, api = [], []
    for plan_id, code, state_json, model in snapshots:
        started = time.perf_counter()
        instance = engine.Instance.restore(model, state_json, helpers)
        task = next(t for t in instance.open_tasks() if t.spec_name == step)
        instance.complete(task.id, data, now + timedelta(seconds=1))
        instance.dump()
        floor.append(time.perf_counter() - started)

        started = time.perf_counter()
        response = client.post(f"/api/v1/tasks/{tasks[plan_id]}/complete", headers=headers[code], data=body,
                               content_type="application/json")
        api.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
    return statistics.median(floor) * 1000, statistics.median(api) * 1000, len(snapshots[0][2])


if __name__ == "__main__":
    main()
