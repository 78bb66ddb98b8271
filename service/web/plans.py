"""A plan's page: status, open tasks and who holds them, deadlines with their basis, history."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from .. import queries
from ..commands import ADMIN
from . import lookups
from .auth import actor, ctx

bp = Blueprint("plans", __name__)

STATUS = {"running": "กำลังดำเนินการ", "completed": "เสร็จสิ้นกระบวนงาน"}
DEADLINE_STATES = {"pending": "ยังไม่ถึงกำหนด", "met": "ทันกำหนด", "missed": "เกินกำหนด"}
EVENT_KINDS = {"plan_started": "เริ่มจัดทำแผน", "task_completed": "บันทึกงาน", "timer_fired": "ครบกำหนดเวลา",
               "task_claimed": "รับงาน", "task_released": "คืนงาน", "task_reassigned": "มอบหมายงาน"}


@bp.get("/plans/<int:plan_id>")
@login_required
def show(plan_id: int):
    """:raise 404: no such plan in the user's organizations."""
    plan = queries.plan(ctx(), actor(), plan_id)
    events = queries.history(ctx(), actor(), plan_id)
    people = {e["actor"] for e in events} | {t["claimed_by"] for t in plan["tasks"]} | \
             {e["data"].get("to") for e in events if e["kind"] == "task_reassigned"}
    organization_id = lookups.plan_organization(ctx(), plan_id)
    is_admin = ADMIN in actor().roles_in(organization_id)
    return render_template(
        "plan.html", plan=plan, events=list(reversed(events)), status=STATUS, deadline_states=DEADLINE_STATES,
        kinds=EVENT_KINDS, steps=lookups.step_titles(ctx(), plan_id), roles=lookups.role_titles(ctx()),
        names=lookups.display_names(ctx(), people), is_admin=is_admin,
        bases=lookups.due_bases(ctx(), plan["tasks"], ctx().clock.now()),
        members={t["role"]: lookups.role_members(ctx(), organization_id, t["role"]) for t in plan["tasks"]}
        if is_admin else {},
    )
