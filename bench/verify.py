"""Benchmark: verifying plans' histories (hash chain, replay of every event, snapshot).

Drives one plan through the service layer to ~60 events (repeated send-backs, claims, timers)
and times ``audit.verify_plan`` on it (median of REPEATS); then copies a typical finished plan
(~20 events, its chain re-hashed for each copy) into PLANS plans and times ``audit.verify_all``.
SQLite file database.  Usage: python bench/verify.py [PLANS] [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, update  # noqa: E402

from service import audit
from service.auth import actor_of
from service.clock import FixedClock
from service.commands import admin, claims
from service.commands import plans as commands
from service.config import Settings
from service.context import Context
from service.eventlog import event_hash
from service.models import Event, OpenTask, Plan, User

PLANS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ROLES = ["support_committee", "development_committee", "executive", "planning_office"]
DATA = {
    "collect_projects": {"projects": [{"name": "โครงการก่อสร้างถนน", "activities": "ก่อสร้างถนน คสล.", "budget": 480000.0,
                                       "place": "หมู่ที่ 3", "responsible_unit": "กองช่าง", "strategy": "โครงสร้างพื้นฐาน",
                                       "plan_program": "อุตสาหกรรมและการโยธา", "source": "lao",
                                       "funding": "ordinance", "months": [1, 2],
                                       "is_equipment": False}]},
    "draft_plan": {"draft_prepared_on": "2020-09-22"},
    "propose_draft": {"proposed_on": "2020-09-23"},
    "consider_draft": {"review_meeting_date": "2020-09-25", "review_resolution": "approve"},
    "present_to_executive": {"presented_on": "2020-09-28"},
    "approve_plan": {"approval_date": "2020-09-29", "approval_decision": "approve"},
    "announce_plan": {"announced_on": "2020-10-01", "executive_name": "นายสมชาย ใจดี", "executive_title": "นายก"},
    "post_announcement": {"posted_on": "2020-10-02", "posting_places": ["บอร์ดประชาสัมพันธ์"]},
    "certify_posting": {"certified_by": "นางสาวสมศรี ประกาศ", "certifier_title": "ปลัดเทศบาล",
                        "certified_on": "2020-11-20"},
}
REVISE = {"review_meeting_date": "2020-09-24", "review_resolution": "revise", "review_comments": "แก้ไข"}


def run_plan(ctx: Context, clock: FixedClock, code: str, year: int, send_backs: int) -> int:
    with ctx.db.read() as session:
        actor = actor_of(session.scalars(select(User).where(User.username == f"{code}-all")).one())
    clock.set(datetime(2020, 9, 21, 9, tzinfo=ZoneInfo("Asia/Bangkok")))
    plan_id = commands.start_plan(ctx, actor, {"organization": code, "fiscal_year": year,
                                               "budget_announced_on": "2020-09-20"})

    def complete(name: str, data: dict | None = None, claim: bool = False) -> None:
        clock.advance(minutes=5)
        days = [v for v in (DATA[name] if data is None else data).values() if isinstance(v, str) and v[:2] == "20"]
        if days and max(days) > clock.now().astimezone(ZoneInfo("Asia/Bangkok")).date().isoformat():
            # the forms refuse a day in the future: the clock moves on to the day recorded
            clock.set(datetime.fromisoformat(max(days)).replace(hour=9, tzinfo=ZoneInfo("Asia/Bangkok")))
        with ctx.db.read() as session:
            task_id = session.scalars(select(OpenTask.id).where(OpenTask.plan_id == plan_id,
                                                                OpenTask.name == name)).one()
        if claim:
            claims.claim(ctx, actor, task_id)
        commands.complete_task(ctx, actor, task_id, DATA[name] if data is None else data)

    complete("collect_projects", claim=True)
    for _ in range(send_backs):
        complete("draft_plan")
        complete("propose_draft")
        complete("consider_draft", REVISE)
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
                 "announce_plan", "post_announcement"):
        complete(name)
    clock.set(datetime(2020, 11, 2, 0, 1, tzinfo=ZoneInfo("Asia/Bangkok")))
    commands.fire_due_timers(ctx)
    complete("certify_posting", claim=True)
    return plan_id


def copy_plan(ctx: Context, plan_id: int, copies: int) -> None:
    """Insert ``copies`` plans identical to ``plan_id``, each with its own re-hashed chain."""
    with ctx.db.write() as session:
        plan = session.get(Plan, plan_id)
        events = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)).all()
        columns = {c: getattr(plan, c) for c in ("organization_id", "fiscal_year", "process_version_id", "status",
                                                  "state_json", "deadlines", "started_at", "started_by",
                                                  "completed_at", "next_timer_at")}
        for n in range(copies):
            copy_id = session.execute(insert(Plan).values({**columns, "fiscal_year": 2600 - n % 100, "version": 1})
                                      .returning(Plan.id)).scalar_one()
            previous, rows = "0" * 64, []
            for e in events:
                event = Event(plan_id=copy_id, seq=e.seq, at=e.at, actor=e.actor, role=e.role, kind=e.kind, task=e.task,
                              task_id=e.task_id, data=e.data, state_digest=e.state_digest, prev_hash=previous)
                event.hash = previous = event_hash(event)
                rows.append(event)
            session.add_all(rows)
            session.execute(update(Plan).where(Plan.id == copy_id).values(
                event_seq=len(rows), event_hash=previous, state_digest=plan.state_digest))


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="phaen-bench-verify-"))
    settings = Settings.from_env({}, instance_path=folder, database_url=f"sqlite:///{folder / 'bench.sqlite3'}")
    clock = FixedClock(datetime(2020, 9, 21, 9, tzinfo=ZoneInfo("Asia/Bangkok")))
    ctx = Context.create(settings, clock)
    ctx.db.migrate()
    admin.register_processes(ctx)
    admin.add_organization(ctx, "bench", "เทศบาลตำบลทดสอบ")
    admin.add_user(ctx, "bench-all", "bench", ROLES)

    long_plan = run_plan(ctx, clock, "bench", 2564, send_backs=16)
    typical = run_plan(ctx, clock, "bench", 2565, send_backs=1)
    with ctx.db.read() as session:
        count = {pid: len(session.scalars(select(Event.id).where(Event.plan_id == pid)).all())
                 for pid in (long_plan, typical)}

    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = audit.verify_plan(ctx, long_plan)
        times.append(time.perf_counter() - started)
        assert result.ok, result.as_dict()
    print(f"verify one plan of {count[long_plan]} events: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f} ms, {REPEATS} runs)")

    started = time.perf_counter()
    copy_plan(ctx, typical, PLANS - 2)
    print(f"(copied a {count[typical]}-event plan {PLANS - 2} times in {time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    results = list(audit.verify_all(ctx))
    elapsed = time.perf_counter() - started
    failed = [r.plan_id for r in results if not r.ok]
    print(f"verify --all over {len(results)} plans: {elapsed:.1f} s ({elapsed / len(results) * 1000:.0f} ms a plan), "
          f"{len(failed)} failed")
    assert not failed, failed[:5]


if __name__ == "__main__":
    main()
