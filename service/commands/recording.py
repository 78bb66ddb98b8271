"""Recording a change: the instance's new state on the plan row with its read models (deadlines,
next timer, inbox rows) and one hash-chained event, inside the command's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import engine, oversight
from service.auth import Actor
from service.bundles.catalog import Published
from service.commands import notices, progress, taskdrafts
from service.commands.chain import append_event
from service.context import Context
from service.eventlog import VERSION_MIGRATED
from service.models import OpenTask, Plan


def record(session: Session, plan: Plan, instance: engine.Instance, version: Published, now: datetime,
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
    oversight.note(session, plan, version.meta)

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
    drafts_of_closed = [row.id for row in closed]  # before a closed row is reused for a new task
    opened = []
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
        opened.append(row)
    for row in closed:
        session.delete(row)
    taskdrafts.forget(session, drafts_of_closed)
    progress.listed(session, plan, version, data, now, actor)  # the plan's year starts at its announcement
    if (opened or instance.completed) and kind != VERSION_MIGRATED:
        notices.recorded(session, plan, version, plan.event_seq, now, actor.username, task, data, opened,
                         instance.completed)
    return kept


def refresh_read_models(ctx: Context, batch: int = 200) -> int:
    """Recompute every plan's deadlines and the due dates of its open steps from its stored state,
    when the code that derives them changed (an upgrade): they are derived, not recorded, so the
    event log is untouched and an auditor's replay gives the refreshed values. How many plans changed."""
    changed, after = 0, 0
    while True:
        with ctx.db.write() as session:
            plans = session.scalars(select(Plan).where(Plan.id > after).order_by(Plan.id).limit(batch)).all()
            if not plans:
                return changed
            for plan in plans:
                after = plan.id
                if not plan.state_json:
                    continue
                published = ctx.models.published(session, plan.process_version_id)
                try:
                    instance = engine.Instance.restore(published.model, plan.state_json)
                except Exception:  # noqa: BLE001 - a damaged plan is verify's to report, not an upgrade's to stop
                    continue
                deadlines = [d.as_dict() for d in instance.deadlines()]
                due = {task.id: task.due_at for task in instance.open_tasks()}
                rows = list(session.scalars(select(OpenTask).where(OpenTask.plan_id == plan.id)))
                if deadlines == plan.deadlines and all(row.due_at == due.get(row.id) for row in rows):
                    continue
                plan.deadlines = deadlines
                oversight.note(session, plan, published.meta)
                for row in rows:
                    row.due_at = due.get(row.id)
                changed += 1
