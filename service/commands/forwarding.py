"""What completing a task would forward, and to whom: the completion run on a copy of the plan in
a read transaction, nothing stored, so the confirmation an official sees before sending names
exactly the steps (and their lanes) the real completion will open."""

from __future__ import annotations

from typing import Any

from service import engine
from service.auth import Actor, completion_refusal
from service.commands import plans
from service.context import Context
from service.errors import Forbidden, NotFound
from service.models import OpenTask, Plan


def preview(ctx: Context, actor: Actor, task_id: str, data: Any) -> dict[str, Any]:
    """The steps completing the task with ``data`` would open (title, lane, role, due), the timers it
    would start waiting on (name, when), whether the procedure would end there, and the plan's
    version it was computed on. :raise Invalid: the data fails the form; NotFound, Forbidden,
    Conflict: as for completing."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = session.get(OpenTask, task_id)
        if row is None or not actor.can_see(row.organization_id):
            raise NotFound("ไม่พบงานนี้ หรืองานนี้ดำเนินการเสร็จไปแล้ว")
        refusal = completion_refusal(actor, row.role, row.organization_id, row.claimed_by)
        if refusal:
            raise Forbidden(refusal)
        plan = session.get(Plan, row.plan_id)
        assert plan is not None  # an open task's plan exists (a foreign key)
        published = ctx.models.published(session, plan.process_version_id)
        open_before: set[str] = set()
        waiting_before: set[str] = set()

        def remember(instance: engine.Instance) -> None:
            open_before.update(task.id for task in instance.open_tasks())
            waiting_before.update(bpmn_id for bpmn_id, _, _ in instance.waiting_timers())

        instance = plans.completed(ctx, session, published, plan, row.name, task_id, data, now, remember)
        steps = [{"title": task.title, "lane": task.lane, "role": published.lane_roles.get(task.lane or ""),
                  "due_at": task.due_at}
                 for task in instance.open_tasks() if task.id not in open_before]
        waits = [{"name": name, "at": at} for bpmn_id, name, at in instance.waiting_timers()
                 if bpmn_id not in waiting_before]
        return {"plan_id": plan.id, "plan_version": plan.version, "steps": steps, "waits": waits,
                "ends": instance.completed}
