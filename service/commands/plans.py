"""The commands of a plan's procedure: start a plan, complete one of its tasks, fire its due timers.
Each loads the plan, applies one change through the engine and records it (commands/recording.py)
in one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import select, true
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.exc import StaleDataError

from service import engine, eventlog, oplog, queries
from service.auth import SYSTEM, Actor, completion_refusal
from service.bundles import catalog, choices
from service.bundles.catalog import Published
from service.commands import incidents
from service.commands.documents import enqueue_freezing
from service.commands.recording import record
from service.context import Context
from service.documents.records import FREEZE_PROPERTY
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Event, OpenTask, Organization, Plan, ProcessVersion
from service.taskforms import rules, validation
from service.thai.legaldays import day_of

FISCAL_YEARS = range(2500, 2701)


# --- Starting a plan -------------------------------------------------------------------
def start_plan(ctx: Context, actor: Actor, body: dict[str, Any]) -> int:
    """Start a plan from ``{"organization", "fiscal_year", "process"?, ...start form fields}``."""
    if not isinstance(body, dict):
        raise Invalid("ข้อมูลที่ส่งต้องเป็นชุดข้อมูล (JSON object)")
    started = time.perf_counter()
    errors = []
    org_code = body.get("organization")
    fiscal_year = body.get("fiscal_year")
    if not isinstance(org_code, str) or not org_code:
        errors.append({"field": "/organization", "message": "กรุณาระบุรหัสองค์กรปกครองส่วนท้องถิ่น"})
    if not isinstance(fiscal_year, int) or isinstance(fiscal_year, bool) or fiscal_year not in FISCAL_YEARS:
        errors.append({"field": "/fiscal_year", "message": "ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง 2500 ถึง 2700"})
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = session.scalars(select(Organization).where(Organization.code == org_code)).first() \
            if isinstance(org_code, str) else None
        if org is None and isinstance(org_code, str) and org_code:
            errors.append({"field": "/organization", "message": f"ไม่พบองค์กรปกครองส่วนท้องถิ่นรหัส {org_code}"})
        version = _process_for(session, body.get("process"), errors)
        start_fields = {k: v for k, v in body.items() if k not in ("organization", "fiscal_year", "process")}
        if version is not None:
            try:
                validation.validate(catalog.start_form(version), start_fields)
                rules.enforce(catalog.start_form(version), start_fields, {}, day_of(now),
                              ctx.timer_helpers(session, now))
            except Invalid as err:
                errors.extend(err.errors)
        if errors:
            raise Invalid("ข้อมูลสำหรับเริ่มแผนไม่ถูกต้อง", errors)
        assert org is not None and version is not None  # each way to None said so in ``errors``
        if not actor.roles_in(org.id) & catalog.starter_roles(version):
            raise Forbidden("ท่านไม่มีสิทธิ์เริ่มจัดทำแผนขององค์กรนี้")
        earlier = session.scalars(select(Plan.id).where(
            Plan.organization_id == org.id, Plan.fiscal_year == fiscal_year,
            Plan.process_version_id.in_(select(ProcessVersion.id).where(ProcessVersion.name == version.name)),
        ).order_by(Plan.id)).all()
        if earlier and version.meta.get(catalog.ONE_PER_YEAR_KEY, True):
            raise Conflict(f"องค์กรนี้มีแผนปีงบประมาณ พ.ศ. {fiscal_year} อยู่แล้ว (แผนเลขที่ {earlier[0]})")
        # "sequence" numbers the plans of one process in one year (e.g. amendments: แก้ไขครั้งที่ 2/2568).
        data = {"organization_code": org.code, "organization_name": org.name, "province": org.province,
                "fiscal_year": fiscal_year, "sequence": len(earlier) + 1, **start_fields}
        published = ctx.models.published(session, version.id)
        try:
            instance = engine.Instance.start(published.model, data, now, ctx.timer_helpers(session, now))
        except engine.ScriptFailed as err:
            raise Invalid(f"เริ่มกระบวนงานไม่ได้: {err}") from err
        plan = Plan(organization_id=org.id, fiscal_year=fiscal_year, process_version_id=version.id,
                    state_json="", deadlines=[], started_at=now, started_by=actor.username)
        session.add(plan)
        record(session, plan, instance, published, now, actor, role=None, kind=eventlog.PLAN_STARTED, data=data)
    oplog.command("plan_started", started, plan=plan.id, user=actor.username, organization=org.code)
    return plan.id


def _process_for(session: Session, name: Any, errors: list) -> ProcessVersion | None:
    if name is not None:
        version = catalog.latest(session, name) if isinstance(name, str) else None
        if version is None:
            errors.append({"field": "/process", "message": f"ไม่พบกระบวนงานชื่อ {name}"})
        return version
    defaults = catalog.default_versions(session)
    if len(defaults) != 1:
        errors.append({"field": "/process", "message": "กรุณาระบุกระบวนงาน (process)"})
        return None
    return defaults[0]


# --- Completing a task ---------------------------------------------------------------
def complete_task(ctx: Context, actor: Actor, task_id: str, data: Any) -> dict[str, Any]:
    """Complete an open task with its form data; the plan as it now stands (queries.plan_view)."""
    started, now = time.perf_counter(), ctx.clock.now()
    try:
        with ctx.db.write() as session:
            plan, rows = _plan_of_open_task(session, task_id)
            row = rows.get(task_id)
            if plan is None or row is None:
                _raise_for_closed_task(session, actor, task_id)
            refusal = completion_refusal(actor, row.role, row.organization_id, row.claimed_by)
            if refusal:
                raise Forbidden(refusal)
            name = row.name  # record() may reuse the row for the task that opens next
            published = ctx.models.published(session, plan.process_version_id)
            instance = completed(ctx, session, published, plan, name, task_id, data, now)
            open_rows = record(session, plan, instance, published, now, actor, role=row.role,
                               kind=eventlog.TASK_COMPLETED, data=data, task=name, task_id=task_id,
                               rows=list(rows.values()))
            freezes = published.model.properties(name).get(FREEZE_PROPERTY)
            if freezes:
                enqueue_freezing(session, plan.id, freezes, now)  # saved with the completion, rendered by a worker
            view = queries.plan_view(plan, open_rows, published, now)
    except StaleDataError as err:
        raise Conflict("มีผู้อื่นบันทึกงานนี้ไปก่อนแล้ว กรุณาเปิดดูใหม่") from err
    oplog.command(eventlog.TASK_COMPLETED, started, plan=plan.id, user=actor.username, task=name)
    return view


def completed(ctx: Context, session: Session, published: Published, plan: Plan, name: str, task_id: str,
              data: Any, now: datetime, before: Callable[[engine.Instance], None] | None = None
              ) -> engine.Instance:
    """The plan's instance with the task completed, nothing saved: the form's schema and rules, then
    the engine (``before`` sees the instance first). Completing and the confirmation page share it,
    so the confirmation never shows what the completion would refuse. :raise Invalid: Conflict:"""
    helpers = ctx.timer_helpers(session, now)
    instance = engine.Instance.restore(published.model, plan.state_json, helpers)
    known = instance.open_task_data(task_id) or {}
    # choices from the organization's lists; what the plan already recorded stays valid (bundles/choices)
    form = choices.resolved(session, ctx.models, plan, published.form_of(name), known)
    validation.validate(form, data)
    rules.enforce(form, data, known, day_of(now), helpers)
    if before is not None:
        before(instance)
    try:
        instance.complete(task_id, data, now)
    except engine.TaskNotOpen as err:
        raise Conflict("งานนี้ไม่ได้รอดำเนินการแล้ว") from err
    except engine.ScriptFailed as err:
        raise Invalid(f"กระบวนงานทำงานต่อไม่ได้ด้วยข้อมูลนี้: {err}") from err
    return instance


def _plan_of_open_task(session: Session, task_id: str) -> tuple[Plan | None, dict[str, OpenTask]]:
    """The plan an open task belongs to, its organization and all its open tasks, in one query."""
    found = session.execute(
        select(Plan, OpenTask).join(OpenTask, OpenTask.plan_id == Plan.id).join(Plan.organization)
        .options(contains_eager(Plan.organization))
        .where(Plan.id == select(OpenTask.plan_id).where(OpenTask.id == task_id).scalar_subquery())
    ).all()
    return (found[0][0] if found else None), {task.id: task for _, task in found}


def _raise_for_closed_task(session: Session, actor: Actor, task_id: str) -> NoReturn:
    event = session.scalars(select(Event).where(Event.task_id == task_id)).first()
    if event is not None:
        plan = session.get(Plan, event.plan_id)
        if plan is not None and actor.can_see(plan.organization_id):
            raise Conflict("งานนี้ดำเนินการเสร็จไปแล้ว")
    raise NotFound("ไม่พบงานนี้")


# --- Timers ------------------------------------------------------------------------------
def fire_due_timers(ctx: Context, batch: int | None = None) -> list[tuple[int, list[str]]]:
    """Fire every timer due now, one plan per transaction; which plans fired what. A plan whose
    process fails is an incident on that plan (commands/incidents.py), and the sweep goes on."""
    now = ctx.clock.now()
    fired_all: list[tuple[int, list[str]]] = []
    seen: set[int] = set()
    while True:
        started = time.perf_counter()
        plan_id: int | None = None
        try:
            with ctx.db.write() as session:
                plan = session.scalars(
                    select(Plan).where(Plan.next_timer_at <= now, Plan.id.not_in(seen) if seen else true())
                    .order_by(Plan.next_timer_at).limit(1).with_for_update(skip_locked=True)
                ).first()
                if plan is None:
                    return fired_all
                plan_id = plan.id
                seen.add(plan_id)
                published = ctx.models.published(session, plan.process_version_id)
                instance = engine.Instance.restore(published.model, plan.state_json,
                                                   ctx.timer_helpers(session, now))
                fired = instance.fire_due_timers(now)
                record(session, plan, instance, published, now, SYSTEM, role=None, kind=eventlog.TIMER_FIRED,
                       data={"timers": fired})
                incidents.resolve(session, plan_id, now)
                fired_all.append((plan_id, fired))
        except StaleDataError:
            continue  # a person's command saved the plan meanwhile; the next sweep sees it as it is now
        except Exception as err:
            if plan_id is None:
                raise  # no plan in hand: the database itself failed, and the worker waits for it
            incidents.record_failure(ctx, plan_id, err, now)
            continue
        oplog.command("timer_fired", started, plan=plan_id, timers=fired)
        if batch is not None and len(seen) >= batch:
            return fired_all
