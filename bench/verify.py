"""Benchmark: verifying plans' histories (hash chain, replay, snapshot), full and from checkpoints.

One plan: drives a plan through the service layer to ~60 events (repeated send-backs, claims, a
timer), the last NEW of them after a checkpoint, and times ``audit.verify_plan`` full vs from the
checkpoint (median of REPEATS). All plans: copies a typical plan (~20 events, its chain re-hashed
for each copy) into PLANS plans, one event short of its end, and times ``audit.verify_all`` cold
(full, one process and every core), warm (checkpointed, nothing new) and warm after appending the
last event to every plan. Scaling: ``--many`` plans (30,000) checkpointed, ``--changed`` (100) of them
given a new event, vs a database of only those: the run costs what changed. SQLite file database.
Usage: python bench/verify.py [--plans N] [--repeats N] [--many N --changed N] [--scaling-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update  # noqa: E402

from service import audit
from service.auth import actor_of
from service.clock import FixedClock
from service.commands import admin, claims
from service.commands import plans as commands
from service.config import Settings
from service.context import Context
from service.eventlog import event_hash
from service.models import Event, OpenTask, Plan, User, VerifyCheckpoint

ROLES = ["support_committee", "development_committee", "executive", "planning_office"]
DATA: dict[str, dict[str, Any]] = {
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


def run_plan(ctx: Context, clock: FixedClock, code: str, year: int, send_backs: int,
             checkpoint_before: int = 0) -> int:
    """A plan driven to its end; with ``checkpoint_before``, verified (and checkpointed) that many
    steps before the end."""
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
    last = ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
            "announce_plan", "post_announcement")
    for position, name in enumerate(last):
        if len(last) - position == checkpoint_before:
            assert audit.verify_plan(ctx, plan_id, checkpoint=True).ok
        complete(name)
    clock.set(datetime(2020, 11, 2, 0, 1, tzinfo=ZoneInfo("Asia/Bangkok")))
    commands.fire_due_timers(ctx)
    complete("certify_posting", claim=True)
    return plan_id


def copy_plan(ctx: Context, plan_id: int, copies: int, upto: int) -> list[int]:
    """Insert ``copies`` plans identical to ``plan_id`` after its first ``upto`` events, each with
    its own re-hashed chain (the plan row as it stood then, from a replay)."""
    replayed = audit.replay_to(ctx, plan_id, upto)
    assert replayed.instance is not None and replayed.divergence is None
    with ctx.db.write() as session:
        plan = session.get(Plan, plan_id)
        events = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)).all()[:upto]
        columns = {c: getattr(plan, c) for c in ("organization_id", "fiscal_year", "process_version_id",
                                                  "started_at", "started_by", "next_timer_at")}
        columns |= {"status": "running", "state_json": replayed.instance.dump(), "completed_at": None,
                    "deadlines": [d.as_dict() for d in replayed.instance.deadlines()]}
        ids = []
        for n in range(copies):
            copy_id = session.execute(insert(Plan).values({**columns, "fiscal_year": 2600 - n % 100, "version": 1})
                                      .returning(Plan.id)).scalar_one()
            previous = "0" * 64
            rows = []
            for e in events:
                rows.append(_copied(e, copy_id, previous))
                previous = rows[-1].hash
            session.add_all(rows)
            session.execute(update(Plan).where(Plan.id == copy_id).values(
                event_seq=len(rows), event_hash=previous, state_digest=events[-1].state_digest))
            ids.append(copy_id)
    return ids


def _copied(e: Event, plan_id: int, previous: str, seq: int | None = None) -> Event:
    event = Event(plan_id=plan_id, seq=seq or e.seq, at=e.at, actor=e.actor, role=e.role, kind=e.kind, task=e.task,
                  task_id=e.task_id, data=e.data, state_digest=e.state_digest, prev_hash=previous)
    event.hash = event_hash(event)
    return event


def append_last_event(ctx: Context, plan_id: int, copies: list[int]) -> None:
    """Give every copy the original's last event and its plan row as it stands after it, as a
    command would have."""
    with ctx.db.write() as session:
        plan = session.get_one(Plan, plan_id)
        last = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq.desc())).first()
        assert last is not None
        for copy_id in copies:
            head = session.get_one(Plan, copy_id)
            event = _copied(last, copy_id, head.event_hash, head.event_seq + 1)
            session.add(event)
            session.execute(update(Plan).where(Plan.id == copy_id).values(
                status=plan.status, state_json=plan.state_json, deadlines=plan.deadlines,
                completed_at=plan.completed_at, event_seq=event.seq, event_hash=event.hash,
                state_digest=event.state_digest, version=Plan.version + 1))


def bulk_copies(ctx: Context, plan_id: int, copies: int, upto: int) -> list[int]:
    """As ``copy_plan``, in bulk (core inserts, ids assigned here), for tens of thousands of copies;
    each copy gets the checkpoint a verification of it would keep (one copy is verified, its
    checkpoint row cloned with each copy's own head)."""
    model = copy_plan(ctx, plan_id, 1, upto)[0]
    assert audit.verify_plan(ctx, model, checkpoint=True).replayed == upto
    with ctx.db.write() as session:
        plan = session.get_one(Plan, model)
        row = {c.name: getattr(plan, c.name) for c in Plan.__table__.columns}
        kept = session.get_one(VerifyCheckpoint, model)
        checkpoint = {c.name: getattr(kept, c.name) for c in VerifyCheckpoint.__table__.columns}
        events = session.scalars(select(Event).where(Event.plan_id == model).order_by(Event.seq)).all()
        first = (session.scalar(select(func.max(Plan.id))) or 0) + 1
        ids = list(range(first, first + copies))
        for chunk in range(0, copies, 1000):
            plans, rows, points = [], [], []
            for copy_id in ids[chunk:chunk + 1000]:
                previous = "0" * 64
                for e in events:
                    copied = _copied(e, copy_id, previous)
                    rows.append({c.name: getattr(copied, c.name) for c in Event.__table__.columns if c.name != "id"})
                    previous = copied.hash
                plans.append({**row, "id": copy_id, "fiscal_year": 2600 - copy_id % 100, "event_hash": previous})
                points.append({**checkpoint, "plan_id": copy_id, "event_hash": previous})
            session.execute(insert(Plan), plans)
            session.execute(insert(Event), rows)
            session.execute(insert(VerifyCheckpoint), points)
    return ids


def bench_database() -> tuple[Context, FixedClock]:
    """A fresh SQLite file database with the shipped processes, one organization and its user."""
    folder = Path(tempfile.mkdtemp(prefix="phaen-bench-verify-"))
    settings = Settings.from_env({}, instance_path=folder, database_url=f"sqlite:///{folder / 'bench.sqlite3'}")
    clock = FixedClock(datetime(2020, 9, 21, 9, tzinfo=ZoneInfo("Asia/Bangkok")))
    ctx = Context.create(settings, clock)
    ctx.db.migrate()
    admin.register_processes(ctx)
    admin.add_organization(ctx, "bench", "เทศบาลตำบลทดสอบ")
    admin.add_user(ctx, "bench-all", "bench", ROLES)
    return ctx, clock


def scaling(workers: int, many: int, changed: int) -> tuple[float, float]:
    """``verify --all`` from checkpoints over ``many`` plans of which ``changed`` got a new event,
    and over ``changed`` plans that all did (each in a database of its own): seconds, seconds."""
    figures = []
    for plans in (many, changed):
        ctx, clock = bench_database()
        typical = run_plan(ctx, clock, "bench", 2565, send_backs=1)
        with ctx.db.read() as session:
            upto = len(session.scalars(select(Event.id).where(Event.plan_id == typical)).all()) - 1
        started = time.perf_counter()
        copies = bulk_copies(ctx, typical, plans - 1, upto)
        assert audit.verify_plan(ctx, typical, checkpoint=True).ok
        print(f"({plans} plans of {upto} events made and checkpointed in {time.perf_counter() - started:.0f} s)")
        append_last_event(ctx, typical, copies[-changed:] if plans > changed else copies)
        seconds, _, replayed = verify_every(ctx, len(copies[-changed:]), workers=workers)
        assert replayed == min(changed, len(copies)), replayed
        figures.append(seconds)
        ctx.db.dispose()
    return figures[0], figures[1]


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def verify_every(ctx: Context, expect_replayed: int | None = None, **options) -> tuple[float, int, int]:
    """One ``verify_all`` run: seconds, plans, events replayed (every plan must verify)."""
    started = time.perf_counter()
    results = list(audit.verify_all(ctx, checkpoint=True, **options))
    elapsed = time.perf_counter() - started
    failed = [r.plan_id for r in results if not r.ok]
    assert not failed, [r.as_dict() for r in results if not r.ok][:3]
    replayed = sum(r.replayed for r in results)
    assert expect_replayed is None or replayed == expect_replayed, (replayed, expect_replayed)
    return elapsed, len(results), replayed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=200, help="plans for the --all runs (default 200)")
    parser.add_argument("--repeats", type=int, default=15, help="runs of each one-plan figure (median)")
    parser.add_argument("--new", type=int, default=4, help="steps of the long plan after its checkpoint (1-8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    parser.add_argument("--many", type=int, default=30000, help="plans of the scaling run (default 30,000)")
    parser.add_argument("--changed", type=int, default=100, help="of which changed (default 100)")
    parser.add_argument("--scaling-only", action="store_true", help="only the scaling run")
    args = parser.parse_args()
    if args.scaling_only:
        return print_scaling(args)

    ctx, clock = bench_database()
    long_plan = run_plan(ctx, clock, "bench", 2564, send_backs=16, checkpoint_before=args.new)
    typical = run_plan(ctx, clock, "bench", 2565, send_backs=1)
    with ctx.db.read() as session:
        count = {pid: len(session.scalars(select(Event.id).where(Event.plan_id == pid)).all())
                 for pid in (long_plan, typical)}
        kept = session.get(VerifyCheckpoint, long_plan)
        saved = {c: getattr(kept, c) for c in ("seq", "event_hash", "state_digest", "state", "basis")}
    new_events = count[long_plan] - saved["seq"]

    def from_the_checkpoint() -> None:
        with ctx.db.write() as session:  # back to the checkpoint before the new events (not timed)
            session.execute(update(VerifyCheckpoint).where(VerifyCheckpoint.plan_id == long_plan).values(**saved))
        started = time.perf_counter()
        result = audit.verify_plan(ctx, long_plan, checkpoint=True)
        incremental.append(time.perf_counter() - started)
        assert result.ok and result.replayed == new_events, result

    def check(result) -> None:
        assert result.ok, result.as_dict()

    full = timed(lambda: check(audit.verify_plan(ctx, long_plan, full=True)), args.repeats)
    incremental: list[float] = []
    for _ in range(args.repeats):
        from_the_checkpoint()
    nothing_new = timed(lambda: check(audit.verify_plan(ctx, long_plan, checkpoint=True)), args.repeats)

    started = time.perf_counter()
    upto = count[typical] - 1
    copies = copy_plan(ctx, typical, args.plans - 2, upto)
    print(f"(copied the first {upto} of a {count[typical]}-event plan {len(copies)} times "
          f"in {time.perf_counter() - started:.1f} s)")
    total_events = count[long_plan] + count[typical] + upto * len(copies)
    serial, plans, _ = verify_every(ctx, total_events, full=True, workers=1)
    cold, _, _ = verify_every(ctx, total_events, full=True, workers=args.workers)
    warm, _, _ = verify_every(ctx, 0, workers=args.workers)
    append_last_event(ctx, typical, copies)
    warm_new, _, replayed = verify_every(ctx, len(copies), workers=args.workers)
    warm_serial, _, _ = verify_every(ctx, 0, workers=1)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} ms"

    print(f"one plan of {count[long_plan]} events, median of {args.repeats}: full {ms(full)}; from a checkpoint "
          f"{new_events} events before the end {ms(incremental)}; nothing new {ms(nothing_new)}")
    print(f"--all over {plans} plans ({total_events} events), {args.workers} processes: "
          f"cold (--full) {cold:.1f} s (one process {serial:.1f} s); warm, nothing new {warm:.1f} s "
          f"(one process {warm_serial:.1f} s); warm, 1 new event in each of {replayed} plans {warm_new:.1f} s")
    print(f"ratios: one plan full / incremental {statistics.median(full) / statistics.median(incremental):.1f}x, "
          f"full / nothing new {statistics.median(full) / statistics.median(nothing_new):.1f}x; "
          f"--all cold one process / warm {serial / warm:.1f}x, cold / warm {cold / warm:.1f}x, "
          f"cold / warm with 1 new {cold / warm_new:.1f}x, pool speed-up on cold {serial / cold:.2f}x")
    print_scaling(args)


def print_scaling(args: argparse.Namespace) -> None:
    many, few = scaling(args.workers, args.many, args.changed)
    print(f"--all from checkpoints, {args.changed} plans with a new event: among {args.many} plans {many:.2f} s, "
          f"alone {few:.2f} s; ratio {many / few:.2f} (aim <= 1.5)")


if __name__ == "__main__":
    main()
