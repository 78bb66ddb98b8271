"""Concurrency: many completions of one task, several timer workers over many plans."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.commands import plans as commands
from service.eventlog import event_hash
from service.models import Event, OpenTask, Plan

from ..conftest import bangkok
from ..factories import clone_plans
from .procedure import SAMPLES, Procedure, complete_at_once


def chain_is_valid(ctx, plan_id) -> bool:
    with ctx.db.read() as session:
        events = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)).all()
        previous = "0" * 64
        for seq, event in enumerate(events, start=1):
            if event.seq != seq or event.prev_hash != previous or event.hash != event_hash(event):
                return False
            previous = event.hash
        return True


def test_fifty_concurrent_completions_of_one_task_exactly_one_succeeds(ctx, app, org):
    run = Procedure(app.test_client(), org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    statuses = complete_at_once(app, org, task["id"], 50)
    assert sorted(statuses) == [200] + [409] * 49
    assert chain_is_valid(ctx, pid)
    with ctx.db.read() as session:
        completions = session.scalar(select(func.count()).select_from(Event)
                                     .where(Event.plan_id == pid, Event.kind == "task_completed"))
    assert completions == 1 and run.open_names(pid) == ["draft_plan"]


def test_claims_racing_completions_of_one_task_never_fail_and_keep_one_chain(ctx, app, org):
    """A claim and a completion both append to the plan's log; the plan's version counter orders
    them, so the loser gets 409 (or 403/404 once the other has won), never a 500."""
    run = Procedure(app.test_client(), org)
    pid = run.start()["id"]
    task_id = run.open_task(pid, "collect_projects")["id"]
    barrier = threading.Barrier(20)
    statuses: list[tuple[str, int]] = []

    def attempt(action: str) -> None:
        client = app.test_client()
        barrier.wait()
        path = f"/api/v1/tasks/{task_id}/{action}"
        body = SAMPLES["collect_projects"] if action == "complete" else None
        statuses.append((action, client.post(path, headers=org.headers("support_committee"), json=body).status_code))

    threads = [threading.Thread(target=attempt, args=("claim" if n % 2 else "complete",)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for _, status in statuses} <= {200, 403, 404, 409}, statuses
    assert [status for action, status in statuses if action == "complete"].count(200) == 1
    assert chain_is_valid(ctx, pid)
    with ctx.db.read() as session:
        head = session.execute(select(Plan.event_seq, Plan.event_hash).where(Plan.id == pid)).one()
        last = session.execute(select(Event.seq, Event.hash).where(Event.plan_id == pid)
                               .order_by(Event.seq.desc())).first()
    assert tuple(head) == tuple(last)


def test_a_claim_and_a_completion_of_two_tasks_of_one_plan_never_take_the_same_event_number(ctx, app, org, clock):
    """Two open tasks of one plan (the executive's extension beside the committee's step): claims
    of one and completions of the other share no inbox row, only the plan's log."""
    run = Procedure(app.test_client(), org)
    pid = run.start()["id"]
    clock.set(bangkok(2020, 10, 21, 0, 0, 1))  # ข้อ 27's 30 days (to 20 Oct) are over
    commands.fire_due_timers(ctx)
    extension = run.open_task(pid, "record_extension")["id"]
    collect = run.open_task(pid, "collect_projects")["id"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def claim_and_release() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(10):
            for action in ("claim", "release"):
                statuses.append(client.post(f"/api/v1/tasks/{extension}/{action}",
                                            headers=org.headers("executive")).status_code)

    def complete() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/v1/tasks/{collect}/complete", headers=org.headers("support_committee"),
                                    json=SAMPLES["collect_projects"]).status_code)

    threads = [threading.Thread(target=claim_and_release), threading.Thread(target=complete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {200, 409}, statuses
    assert chain_is_valid(ctx, pid)


def test_three_timer_workers_over_a_thousand_plans_fire_each_timer_once(ctx, client, org, clock):
    first = Procedure(client, org).start()["id"]
    plans = [first, *clone_plans(ctx, first, 999)]
    clock.set(bangkok(2020, 10, 21, 0, 0, 1))  # every plan's ข้อ 27 deadline (20 Oct) has passed
    results: list[list[tuple[int, list[str]]]] = []
    workers = [threading.Thread(target=lambda: results.append(commands.fire_due_timers(ctx)))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    fired = [plan_id for result in results for plan_id, names in result if names]
    assert sorted(fired) == sorted(plans)  # each plan by exactly one worker
    with ctx.db.read() as session:
        per_plan = dict(session.execute(select(Event.plan_id, func.count()).where(Event.kind == "timer_fired")
                                        .group_by(Event.plan_id)).all())
        extension_tasks = session.scalar(select(func.count()).select_from(OpenTask)
                                         .where(OpenTask.name == "record_extension"))
        still_due = session.scalar(select(func.count()).select_from(Plan).where(Plan.next_timer_at <= clock.now()))
    assert set(per_plan.values()) == {1} and len(per_plan) == 1000
    assert extension_tasks == 1000 and still_due == 0
    assert commands.fire_due_timers(ctx) == []
