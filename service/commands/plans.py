"""Commands: each loads a plan, applies one change through the engine, and saves the new
state, its inbox rows, its next timer and one event, all in one transaction."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.exc import StaleDataError

from service import engine, oplog, queries
from service.auth import SYSTEM, Actor
from service.bundles import catalog
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Event, OpenTask, Organization, Plan, ProcessVersion
from service.taskforms import validation

FISCAL_YEARS = range(2500, 2701)
STARTER_ROLES_KEY = "starter_roles"  # process.json: roles that may start a plan
START_FORM_KEY = "start_form"  # process.json: the JSON Schema of the data a plan starts with
ONE_PER_YEAR_KEY = "one_per_fiscal_year"  # process.json: false lets an organization run several a year
ADMIN = "admin"


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
            schema = version.forms.get(version.meta.get(START_FORM_KEY, ""), {"type": "object", "properties": {}})
            try:
                validation.validate(schema, start_fields)
            except Invalid as err:
                errors.extend(err.errors)
        if errors:
            raise Invalid("ข้อมูลสำหรับเริ่มแผนไม่ถูกต้อง", errors)
        allowed = set(version.meta.get(STARTER_ROLES_KEY, [])) | {ADMIN}
        if not actor.roles_in(org.id) & allowed:
            raise Forbidden("ท่านไม่มีสิทธิ์เริ่มจัดทำแผนขององค์กรนี้")
        earlier = session.scalars(select(Plan.id).where(
            Plan.organization_id == org.id, Plan.fiscal_year == fiscal_year,
            Plan.process_version_id.in_(select(ProcessVersion.id).where(ProcessVersion.name == version.name)),
        ).order_by(Plan.id)).all()
        if earlier and version.meta.get(ONE_PER_YEAR_KEY, True):
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
        record(session, plan, instance, published, now, actor, role=None, kind="plan_started", data=data)
    oplog.command("plan_started", started, plan=plan.id, user=actor.username, organization=org.code)
    return plan.id


def _process_for(session: Session, name: Any, errors: list) -> ProcessVersion | None:
    if name is not None:
        version = catalog.latest(session, name) if isinstance(name, str) else None
        if version is None:
            errors.append({"field": "/process", "message": f"ไม่พบกระบวนงานชื่อ {name}"})
        return version
    defaults = [v for v in _latest_versions(session) if v.meta.get("default")]
    if len(defaults) != 1:
        errors.append({"field": "/process", "message": "กรุณาระบุกระบวนงาน (process)"})
        return None
    return defaults[0]


def _latest_versions(session: Session) -> list[ProcessVersion]:
    names = session.scalars(select(ProcessVersion.name).distinct())
    return [catalog.latest(session, name) for name in names]


# --- Completing a task ---------------------------------------------------------------
def complete_task(ctx: Context, actor: Actor, task_id: str, data: Any) -> dict[str, Any]:
    """Complete an open task with its form data; the plan as it now stands (queries.plan_view)."""
    started, now = time.perf_counter(), ctx.clock.now()
    try:
        with ctx.db.write() as session:
            plan, rows = _plan_of_open_task(session, task_id)
            row = rows.get(task_id)
            if row is None:
                _raise_for_closed_task(session, actor, task_id)
            if row.role not in actor.roles_in(row.organization_id):
                raise Forbidden("งานนี้เป็นของบทบาทหรือองค์กรอื่น ท่านไม่มีสิทธิ์ดำเนินการ")
            if row.claimed_by and row.claimed_by != actor.username:
                raise Forbidden(f"งานนี้ {row.claimed_by} รับไปดำเนินการแล้ว")
            published = ctx.models.published(session, plan.process_version_id)
            validation.validate(published.form_of(row.name), data)
            instance = engine.Instance.restore(published.model, plan.state_json, ctx.timer_helpers(session, now))
            try:
                instance.complete(task_id, data, now)
            except engine.TaskNotOpen as err:
                raise Conflict("งานนี้ไม่ได้รอดำเนินการแล้ว") from err
            except engine.ScriptFailed as err:
                raise Invalid(f"กระบวนงานทำงานต่อไม่ได้ด้วยข้อมูลนี้: {err}") from err
            open_rows = record(session, plan, instance, published, now, actor, role=row.role, kind="task_completed",
                               data=data, task=row.name, task_id=task_id, rows=list(rows.values()))
            view = queries.plan_view(plan, open_rows, published, now)
    except StaleDataError as err:
        raise Conflict("มีผู้อื่นบันทึกงานนี้ไปก่อนแล้ว กรุณาเปิดดูใหม่") from err
    oplog.command("task_completed", started, plan=plan.id, user=actor.username, task=row.name)
    return view


def _plan_of_open_task(session: Session, task_id: str) -> tuple[Plan | None, dict[str, OpenTask]]:
    """The plan an open task belongs to, its organization and all its open tasks, in one query."""
    found = session.execute(
        select(Plan, OpenTask).join(OpenTask, OpenTask.plan_id == Plan.id).join(Plan.organization)
        .options(contains_eager(Plan.organization))
        .where(Plan.id == select(OpenTask.plan_id).where(OpenTask.id == task_id).scalar_subquery())
    ).all()
    return (found[0][0] if found else None), {task.id: task for _, task in found}


def _raise_for_closed_task(session: Session, actor: Actor, task_id: str) -> None:
    event = session.scalars(select(Event).where(Event.task_id == task_id)).first()
    if event is not None:
        plan = session.get(Plan, event.plan_id)
        if actor.can_see(plan.organization_id):
            raise Conflict("งานนี้ดำเนินการเสร็จไปแล้ว")
    raise NotFound("ไม่พบงานนี้")


# --- Timers ------------------------------------------------------------------------------
def fire_due_timers(ctx: Context, batch: int | None = None) -> list[tuple[int, list[str]]]:
    """Fire every timer due now, one plan per transaction; which plans fired what."""
    now = ctx.clock.now()
    fired_all: list[tuple[int, list[str]]] = []
    seen: set[int] = set()
    while True:
        started = time.perf_counter()
        with ctx.db.write() as session:
            plan = session.scalars(
                select(Plan).where(Plan.next_timer_at <= now, Plan.id.not_in(seen) if seen else true())
                .order_by(Plan.next_timer_at).limit(1).with_for_update(skip_locked=True)
            ).first()
            if plan is None:
                return fired_all
            seen.add(plan.id)
            published = ctx.models.published(session, plan.process_version_id)
            instance = engine.Instance.restore(published.model, plan.state_json, ctx.timer_helpers(session, now))
            fired = instance.fire_due_timers(now)
            record(session, plan, instance, published, now, SYSTEM, role=None, kind="timer_fired",
                   data={"timers": fired})
            fired_all.append((plan.id, fired))
        oplog.command("timer_fired", started, plan=plan.id, timers=fired)
        if batch is not None and len(seen) >= batch:
            return fired_all


# --- Recording a change ------------------------------------------------------------------
def record(session: Session, plan: Plan, instance: engine.Instance, version: catalog.Published, now: datetime,
           actor: Actor, role: str | None, kind: str, data: dict[str, Any], task: str | None = None,
           task_id: str | None = None, rows: list[OpenTask] | None = None) -> list[OpenTask]:
    """Store the instance's new state on the plan with its deadlines, next timer, one event and
    its inbox rows; the plan's open inbox rows afterwards. ``rows``: its open rows, if loaded.
    :raise StaleDataError: the plan was saved meanwhile (by another command)."""
    if rows is None:
        rows = list(session.scalars(select(OpenTask).where(OpenTask.plan_id == plan.id))) if plan.id else []
    plan.state_json, digest = instance.snapshot()
    plan.deadlines = [d.as_dict() for d in instance.deadlines()]
    plan.next_timer_at = instance.next_timer_at()
    if instance.completed:
        plan.status, plan.completed_at = "completed", now
    append_event(session, plan, now, actor.username, role, kind, data, task, task_id, digest)

    # The inbox rows follow the open tasks: closed ones go, new ones come, the rest keep their
    # claim. A closed row is reused for a new task (one UPDATE instead of a DELETE and an INSERT:
    # a step usually closes one task and opens the next).
    current = {task.id: task for task in instance.open_tasks()}
    kept, closed = [], []
    for row in rows:
        if row.id in current:
            row.due_at = current.pop(row.id).due_at
            kept.append(row)
        else:
            closed.append(row)
    for task_view in current.values():
        if closed:
            row = closed.pop()
        else:
            row = OpenTask(plan_id=plan.id, organization_id=plan.organization_id)
            session.add(row)
        row.id, row.name, row.title, row.lane = task_view.id, task_view.spec_name, task_view.title, task_view.lane
        row.role, row.due_at, row.opened_at, row.claimed_by = (
            version.lane_roles.get(task_view.lane or ""), task_view.due_at, now, None)
        kept.append(row)
    for row in closed:
        session.delete(row)
    return kept


def append_event(session: Session, plan: Plan, at: datetime, actor: str, role: str | None, kind: str,
                 data: dict[str, Any], task: str | None = None, task_id: str | None = None,
                 state_digest: str | None = None) -> Event:
    """Append one event to the plan's chain from the head its row keeps, and move the head on;
    without a digest the state is unchanged (a claim).
    :raise StaleDataError: the plan was saved meanwhile; two commands never append the same number."""
    if plan.id is None:
        session.flush()  # a new plan: its event names its id
    event = Event(plan_id=plan.id, seq=plan.event_seq + 1, at=at, actor=actor, role=role, kind=kind, task=task,
                  task_id=task_id, data=_jsonable(data), state_digest=state_digest or plan.state_digest,
                  prev_hash=plan.event_hash, hash="")
    event.hash = event_hash(event)
    plan.event_seq, plan.event_hash, plan.state_digest = event.seq, event.hash, event.state_digest
    # The plan's row is written first, on its own: its version check fails a command that lost a
    # race before that command's event could clash with the winner's.
    session.flush()
    session.add(event)
    return event


def event_hash(event: Event) -> str:
    canonical = json.dumps(
        [event.plan_id, event.seq, event.at.astimezone(timezone.utc).isoformat(), event.actor, event.role, event.kind, event.task,
         event.task_id, event.data, event.state_digest, event.prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, date) else str(v)))
