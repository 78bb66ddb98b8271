"""Commands: each loads a plan, applies one change through the engine, and saves the new
state, its inbox rows, its next timer and one event, all in one transaction."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import delete, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import catalog, engine, formcheck, oplog
from .auth import SYSTEM, Actor
from .context import Context
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Event, OpenTask, Organization, Plan, ProcessVersion

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
                formcheck.validate(schema, start_fields)
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
            instance = engine.Instance.start(published.model, data, now, ctx.timer_helpers(session))
        except engine.ScriptFailed as err:
            raise Invalid(f"เริ่มกระบวนงานไม่ได้: {err}") from err
        plan = Plan(organization_id=org.id, fiscal_year=fiscal_year, process_version_id=version.id,
                    state_json="", deadlines=[], started_at=now, started_by=actor.username)
        session.add(plan)
        _save(session, plan, instance, published, now, actor, role=None, kind="plan_started", data=data)
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
def complete_task(ctx: Context, actor: Actor, task_id: str, data: Any) -> int:
    """Complete an open task with its form data; the plan's id."""
    started, now = time.perf_counter(), ctx.clock.now()
    try:
        with ctx.db.write() as session:
            row = session.get(OpenTask, task_id)
            if row is None:
                _raise_for_closed_task(session, actor, task_id)
            if row.role not in actor.roles_in(row.organization_id):
                raise Forbidden("งานนี้เป็นของบทบาทหรือองค์กรอื่น ท่านไม่มีสิทธิ์ดำเนินการ")
            if row.claimed_by and row.claimed_by != actor.username:
                raise Forbidden(f"งานนี้ {row.claimed_by} รับไปดำเนินการแล้ว")
            plan = session.get(Plan, row.plan_id)
            published = ctx.models.published(session, plan.process_version_id)
            formcheck.validate(published.form_of(row.name), data)
            instance = engine.Instance.restore(published.model, plan.state_json, ctx.timer_helpers(session))
            try:
                instance.complete(task_id, data, now)
            except engine.TaskNotOpen as err:
                raise Conflict("งานนี้ไม่ได้รอดำเนินการแล้ว") from err
            except engine.ScriptFailed as err:
                raise Invalid(f"กระบวนงานทำงานต่อไม่ได้ด้วยข้อมูลนี้: {err}") from err
            _save(session, plan, instance, published, now, actor, role=row.role, kind="task_completed",
                  data=data, task=row.name, task_id=task_id)
            plan_id = plan.id
    except StaleDataError as err:
        raise Conflict("มีผู้อื่นบันทึกงานนี้ไปก่อนแล้ว กรุณาเปิดดูใหม่") from err
    oplog.command("task_completed", started, plan=plan_id, user=actor.username, task=row.name)
    return plan_id


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
            instance = engine.Instance.restore(published.model, plan.state_json, ctx.timer_helpers(session))
            fired = instance.fire_due_timers(now)
            _save(session, plan, instance, published, now, SYSTEM, role=None, kind="timer_fired",
                  data={"timers": fired})
            fired_all.append((plan.id, fired))
        oplog.command("timer_fired", started, plan=plan.id, timers=fired)
        if batch is not None and len(seen) >= batch:
            return fired_all


# --- Saving --------------------------------------------------------------------------
def _save(session: Session, plan: Plan, instance: engine.Instance, version: catalog.Published, now: datetime,
          actor: Actor, role: str | None, kind: str, data: dict[str, Any], task: str | None = None,
          task_id: str | None = None) -> None:
    plan.state_json, digest = instance.snapshot()
    plan.deadlines = [d.as_dict() for d in instance.deadlines()]
    plan.next_timer_at = instance.next_timer_at()
    if instance.completed:
        plan.status, plan.completed_at = "completed", now
    session.flush()  # the version counter check: a plan saved meanwhile raises StaleDataError here

    # The inbox rows follow the open tasks: closed ones go, new ones come, the rest keep their claim.
    current = {task.id: task for task in instance.open_tasks()}
    rows = {row.id: row for row in session.scalars(select(OpenTask).where(OpenTask.plan_id == plan.id))}
    closed = [task_id for task_id in rows if task_id not in current]
    if closed:
        session.execute(delete(OpenTask).where(OpenTask.id.in_(closed)))
    for task_id, task_view in current.items():
        if task_id in rows:
            rows[task_id].due_at = task_view.due_at
            continue
        session.add(OpenTask(
            id=task_id, plan_id=plan.id, organization_id=plan.organization_id, name=task_view.spec_name,
            title=task_view.title, lane=task_view.lane, role=version.lane_roles.get(task_view.lane or ""),
            due_at=task_view.due_at, opened_at=now,
        ))
    append_event(session, plan.id, now, actor.username, role, kind, data, task, task_id, digest)


def append_event(session: Session, plan_id: int, at: datetime, actor: str, role: str | None, kind: str,
                 data: dict[str, Any], task: str | None = None, task_id: str | None = None,
                 state_digest: str | None = None) -> Event:
    """Append one event to the plan's chain; without a digest the state is unchanged (e.g. a claim)."""
    last = session.execute(select(Event.seq, Event.hash, Event.state_digest).where(Event.plan_id == plan_id)
                           .order_by(Event.seq.desc()).limit(1)).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, "0" * 64)
    if state_digest is None:
        state_digest = last.state_digest if last else ""
    event = Event(plan_id=plan_id, seq=seq, at=at, actor=actor, role=role, kind=kind, task=task,
                  task_id=task_id, data=_jsonable(data), state_digest=state_digest, prev_hash=prev_hash, hash="")
    event.hash = event_hash(event)
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
