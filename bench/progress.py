"""Benchmark: the plan's year (issue 15).

(a) A progress update through the API (PUT /api/v1/plans/<id>/progress/<number>) against a task
    completion through the API (POST /api/v1/tasks/<id>/complete of ปิดประกาศ) on the same announced
    plans, alternating plan by plan in one run: medians and their ratio (aim <= 1: an update appends
    one event and writes one row, it never restores the workflow).
(b) The progress page (GET /plans/<id>/progress, logged in), the API list (GET
    /api/v1/plans/<id>/progress) and the dashboard (GET /plans/<id>/dashboard and its API) of one
    plan of PROJECTS projects holding EVENTS progress events: the median server time (Flask test
    client, SQLite file database; aim < 100 ms).
Usage: python bench/progress.py [PLANS] [PROJECTS] [EVENTS] [--postgres]
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from common import BANGKOK, Database  # noqa: E402

from service.app import create_app
from service.auth import actor_of
from service.clock import FixedClock
from service.commands import admin, progress
from service.commands import plans as commands
from service.models import OpenTask, TrackedProject, User
from tests.integration.procedure import SAMPLES

NUMBERS = [int(a) for a in sys.argv[1:] if a.isdigit()]
PLANS = NUMBERS[0] if NUMBERS else 10
PROJECTS = NUMBERS[1] if len(NUMBERS) > 1 else 500
EVENTS = NUMBERS[2] if len(NUMBERS) > 2 else 5000
UPDATES = 10  # progress updates measured per plan in (a)
ROUNDS = 20  # requests measured per page in (b)
STEPS = ("collect_projects", "draft_plan", "propose_draft", "consider_draft", "present_to_executive",
         "approve_plan", "announce_plan")
UNITS = ("กองช่าง", "กองคลัง", "กองการศึกษา", "สำนักปลัด")
PASSWORD = "bench password 2564"


def project(n: int) -> dict[str, Any]:
    return {"name": f"โครงการที่ {n}", "activities": "รายละเอียดกิจกรรม", "budget": 100000.0 + n,
            "place": f"หมู่ที่ {n % 12 + 1}", "responsible_unit": UNITS[n % len(UNITS)],
            "strategy": f"ยุทธศาสตร์ที่ {n % 5 + 1}", "plan_program": "อุตสาหกรรมและการโยธา", "source": "lao",
            "funding": "ordinance", "months": [10, 11, 12, 1] if n % 3 else [6, 7], "is_equipment": False}


def update(n: int, k: int) -> dict[str, Any]:
    """The k-th update of a project: in progress, a little more disbursed each time."""
    return {"status": "in_progress", "started_on": "2020-11-02", "months_worked": [11, 12], "contracted": 90000,
            "disbursed": 1000 * (k + 1) + n % 100, "note": f"รายงานครั้งที่ {k + 1}"}


def main() -> None:
    database = Database(postgres="--postgres" in sys.argv)
    try:
        run(database)
    finally:
        database.close()


def announced(ctx: Any, code: str, projects: int) -> tuple[int, Any]:
    """A plan of ``projects`` projects driven to its announcement; its id and the actor who did it."""
    admin.add_organization(ctx, code, f"เทศบาลตำบล {code}")
    admin.add_user(ctx, f"{code}-all", code, ["support_committee", "development_committee", "executive",
                                              "planning_office"])
    with ctx.db.read() as session:
        actor = actor_of(session.query(User).filter_by(username=f"{code}-all").one())
    plan_id = commands.start_plan(ctx, actor, {"organization": code, "fiscal_year": 2564,
                                               "budget_announced_on": "2020-09-20"})
    for step in STEPS:
        data = {"projects": [project(n) for n in range(projects)]} if step == "collect_projects" else SAMPLES[step]
        commands.complete_task(ctx, actor, open_task(ctx, plan_id, step), data)
    return plan_id, actor


def open_task(ctx: Any, plan_id: int, name: str) -> str:
    with ctx.db.read() as session:
        return session.query(OpenTask).filter_by(plan_id=plan_id, name=name).one().id


def run(database: Database) -> None:
    clock = FixedClock(datetime(2020, 10, 1, 9, tzinfo=BANGKOK))
    ctx = database.context(clock)
    app = create_app(context=ctx)
    client = app.test_client()

    # (a) on PLANS plans of 200 projects: a progress update and the completion of ปิดประกาศ, alternating
    ids = [announced(ctx, f"org{n}", 200)[0] for n in range(PLANS)]
    clock.set(datetime(2021, 2, 15, 10, tzinfo=BANGKOK))  # tokens are issued now: they last 90 days
    plans = [(plan_id, {"Authorization": "Bearer " + admin.add_user(ctx, f"org{n}-office", f"org{n}",
                                                                    ["planning_office"], with_token=True)})
             for n, plan_id in enumerate(ids)]
    numbers = tracked_numbers(ctx, ids[0])
    updates, completions = [], []
    for plan_id, headers in plans:
        for k in range(UPDATES):
            started = time.perf_counter()
            response = client.put(f"/api/v1/plans/{plan_id}/progress/{numbers[k]}", headers=headers, json=update(k, k))
            updates.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_json()
        task = open_task(ctx, plan_id, "post_announcement")
        started = time.perf_counter()
        response = client.post(f"/api/v1/tasks/{task}/complete", headers=headers, json=SAMPLES["post_announcement"])
        completions.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
    update_ms, complete_ms = statistics.median(updates) * 1000, statistics.median(completions) * 1000
    print(f"[{database.name}] (a) {PLANS} announced plans of 200 projects, {UPDATES} updates each")
    print(f"  progress update (PUT .../progress/<number>):        median {update_ms:.2f} ms")
    print(f"  task completion (POST .../complete, ปิดประกาศ):       median {complete_ms:.2f} ms")
    print(f"  ratio update / completion: {update_ms / complete_ms:.2f} (aim <= 1)")

    # (b) one plan of PROJECTS projects and EVENTS progress events
    clock.set(datetime(2020, 10, 1, 9, tzinfo=BANGKOK))
    big, actor = announced(ctx, "big", PROJECTS)
    clock.set(datetime(2021, 2, 15, 10, tzinfo=BANGKOK))
    listed = tracked_numbers(ctx, big)
    for k in range(EVENTS):
        n = k % len(listed)
        progress.record(ctx, actor, big, listed[n], update(n, k // len(listed)))
    admin.add_user(ctx, "big-viewer", "big", ["executive"], PASSWORD, "ผู้บริหาร")
    token = admin.add_user(ctx, "big-reader", "big", ["executive"], with_token=True)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert browser.post("/login", data={"username": "big-viewer", "password": PASSWORD,
                                        "csrf_token": csrf}).status_code == 302
    page_ms = timed(lambda: browser.get(f"/plans/{big}/progress"))
    api_ms = timed(lambda: client.get(f"/api/v1/plans/{big}/progress",
                                      headers={"Authorization": f"Bearer {token}"}))
    filtered_ms = timed(lambda: browser.get(f"/plans/{big}/progress?status=overdue&unit=กองช่าง"))
    dashboard_ms = timed(lambda: browser.get(f"/plans/{big}/dashboard"))
    dashboard_api_ms = timed(lambda: client.get(f"/api/v1/plans/{big}/dashboard",
                                                headers={"Authorization": f"Bearer {token}"}))

    print(f"[{database.name}] (b) one plan of {PROJECTS} projects with {EVENTS:,} progress events")
    print(f"  progress page (GET /plans/<id>/progress):           median {page_ms:.1f} ms (aim < 100)")
    print(f"  progress page, filtered (overdue, one unit):        median {filtered_ms:.1f} ms")
    print(f"  API list (GET /api/v1/plans/<id>/progress):         median {api_ms:.1f} ms (aim < 100)")
    print(f"  dashboard page (GET /plans/<id>/dashboard):         median {dashboard_ms:.1f} ms (aim < 100)")
    print(f"  dashboard API (GET /api/v1/plans/<id>/dashboard):   median {dashboard_api_ms:.1f} ms (aim < 100)")


def tracked_numbers(ctx: Any, plan_id: int) -> list[str]:
    with ctx.db.read() as session:
        return [row.number for row in session.query(TrackedProject).filter_by(plan_id=plan_id)
                .order_by(TrackedProject.position)]


def timed(call: Any) -> float:
    """The median milliseconds of ROUNDS calls, after one to warm the caches."""
    assert call().status_code == 200
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
