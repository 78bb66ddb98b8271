"""Processes killed with SIGKILL at the worst moment leave nothing half-applied."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.clock import FixedClock
from service.commands import admin
from service.config import Settings
from service.context import Context
from service.models import Event, OpenTask, Plan

from ..conftest import bangkok
from ..factories import clone_plans
from ..integration.procedure import SAMPLES
from .servers import Server


@pytest.fixture
def prepared(tmp_path, env):
    """A migrated database with one organization, its support committee's token and a plan
    started on 21 Sep 2020 (so by today's clock its ข้อ 27 timer is long due)."""
    context = Context.create(Settings.from_env({}, instance_path=tmp_path / "instance",
                                               database_url=env["PHAEN_DATABASE_URL"],
                                               token_lifetime=timedelta(days=36500)),  # used on today's clock
                             FixedClock(bangkok(2020, 9, 21, 9)))
    context.db.migrate()
    admin.register_processes(context)
    admin.add_organization(context, "nongbua", "องค์การบริหารส่วนตำบลหนองบัว")
    token = admin.add_user(context, "nb-support", "nongbua", ["support_committee"], with_token=True)
    from service.auth import actor_of
    from service.commands.plans import start_plan
    from service.models import User

    with context.db.read() as session:
        actor = actor_of(session.scalars(select(User)).one())
    plan_id = start_plan(context, actor, {"organization": "nongbua", "fiscal_year": 2564,
                                          "budget_announced_on": "2020-09-20"})
    yield context, token, plan_id
    context.db.dispose()


def consistent(session, plan: Plan, started: int) -> bool:
    """The plan is as started (its row at version ``started``) or has its timer wholly fired."""
    fired = session.scalar(select(func.count()).select_from(Event).where(Event.plan_id == plan.id,
                                                                         Event.kind == "timer_fired"))
    extension = session.scalar(select(func.count()).select_from(OpenTask).where(
        OpenTask.plan_id == plan.id, OpenTask.name == "record_extension"))
    if fired == 0:
        return extension == 0 and plan.version == started and plan.next_timer_at is not None
    return fired == 1 and extension == 1 and plan.version == started + 1 and plan.next_timer_at is None


def test_a_timer_worker_killed_mid_sweep_leaves_whole_plans_and_the_next_sweep_finishes(prepared, env):
    context, _, plan_id = prepared
    plans = [plan_id, *clone_plans(context, plan_id, 399)]
    with context.db.read() as session:
        started = session.get(Plan, plan_id).version
    worker = subprocess.Popen([sys.executable, "-m", "service.cli", "timers", "tick"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fired = 0
    while fired < 20 and worker.poll() is None:
        with context.db.read() as session:
            fired = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "timer_fired"))
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    with context.db.read() as session:
        rows = session.scalars(select(Plan)).all()
        assert all(consistent(session, plan, started) for plan in rows)
        done = sum(1 for plan in rows if plan.version == started + 1)
    assert 20 <= done < len(plans), "the worker was not killed in the middle of its sweep"

    subprocess.run([sys.executable, "-m", "service.cli", "timers", "tick"], env=env, check=True,
                   capture_output=True, timeout=300)
    with context.db.read() as session:
        rows = session.scalars(select(Plan)).all()
        assert all(consistent(session, plan, started) and plan.version == started + 1 for plan in rows)


@pytest.mark.parametrize("delay", [0.0, 0.005, 0.02])
def test_a_server_killed_during_a_completion_applied_it_entirely_or_not_at_all(prepared, env, delay):
    context, token, plan_id = prepared
    # the embedded server fires due timers itself: off, so that only the completion can change the plan
    quiet = ("--timer-interval", "0")
    server = Server(env, args=quiet).start()
    with context.db.read() as session:
        started = session.get(Plan, plan_id).version
        task_id = session.scalar(select(OpenTask.id).where(OpenTask.plan_id == plan_id,
                                                            OpenTask.name == "collect_projects"))
    big = {"projects": SAMPLES["collect_projects"]["projects"] * 100}
    sender = threading.Thread(target=lambda: _ignore_errors(
        lambda: server.call("POST", f"/api/v1/tasks/{task_id}/complete", token, big)))
    sender.start()
    time.sleep(delay)
    server.stop(signal.SIGKILL)
    sender.join()

    with context.db.read() as session:
        version = session.get(Plan, plan_id).version
        completed = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "task_completed"))
        names = set(session.scalars(select(OpenTask.name).where(OpenTask.plan_id == plan_id)))
    if completed:
        assert version == started + 1 and "draft_plan" in names and "collect_projects" not in names
    else:
        assert version == started and "collect_projects" in names and "draft_plan" not in names

    server = Server(env, args=quiet).start()  # the restarted server carries on from whichever state it was
    try:
        if not completed:
            status, _ = server.call("POST", f"/api/v1/tasks/{task_id}/complete", token, big)
            assert status == 200
        status, _ = server.call("POST", f"/api/v1/tasks/{task_id}/complete", token, big)
        assert status == 409
    finally:
        server.stop()


def _ignore_errors(call):
    try:
        call()
    except Exception:  # the server died mid-request: the client sees a broken connection
        pass
