"""Read-only look-ups the pages need beyond service.queries: people's names, Thai role and step
names, the legal basis behind a task's due date, who completed a task, whether one may start a
plan, a plan's diagram. Read models only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.auth import Actor
from service.bundles import catalog
from service.commands.plans import ADMIN, START_FORM_KEY, STARTER_ROLES_KEY
from service.context import Context
from service.models import Event, Organization, Plan, ProcessVersion, RoleMembership, User

SYSTEM_ROLES = {"admin": "ผู้ดูแลระบบ", "auditor": "ผู้ตรวจสอบ", "designer": "ผู้ออกแบบกระบวนงาน"}


def display_names(ctx: Context, usernames: set[str]) -> dict[str, str]:
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    with ctx.db.read() as session:
        rows = session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
        names = {username: display or username for username, display in rows}
    return {u: names.get(u, u) for u in usernames}


def role_titles(ctx: Context) -> dict[str, str]:
    """Role -> its Thai name: the lane it works in, as the published processes name it."""
    titles = dict(SYSTEM_ROLES)
    with ctx.db.read() as session:
        for lane_roles in session.scalars(select(ProcessVersion.lane_roles)):
            titles.update({role: lane for lane, role in lane_roles.items()})
    return titles


def due_bases(ctx: Context, tasks: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """Task id -> the deadline its due date comes from (name, basis) and whether it has passed."""
    plan_ids = {t["plan_id"] for t in tasks if t.get("due_at")}
    if not plan_ids:
        return {}
    with ctx.db.read() as session:
        deadlines = dict(session.execute(select(Plan.id, Plan.deadlines).where(Plan.id.in_(plan_ids))).all())
    found = {}
    for task in tasks:
        if not task.get("due_at"):
            continue
        due_at = datetime.fromisoformat(task["due_at"])
        match = next((d for d in deadlines.get(task["plan_id"], [])
                      if datetime.fromisoformat(d["due_at"]) == due_at), None)
        found[task["id"]] = {"name": match["name"] if match else "", "basis": match["basis"] if match else "",
                             "overdue": now > due_at}
    return found


def step_titles(ctx: Context, plan_id: int) -> dict[str, str]:
    """BPMN id -> Thai name of every element of the plan's process version."""
    with ctx.db.read() as session:
        version = session.get(Plan, plan_id).process_version
        return {key: element.get("name") or key for key, element in version.elements.items()}


def completed_by(ctx: Context, actor: Actor, task_id: str) -> tuple[str, datetime] | None:
    """Who completed a task that is no longer open, and when (for tasks of the actor's organizations)."""
    with ctx.db.read() as session:
        event = session.scalars(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed")).first()
        if event is None or not actor.can_see(session.get(Plan, event.plan_id).organization_id):
            return None
        return display_names(ctx, {event.actor}).get(event.actor, event.actor), event.at


def role_members(ctx: Context, organization_id: int, role: str) -> list[tuple[str, str]]:
    """(username, display name) of the active users holding a role in an organization."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(User.username, User.display_name).join(RoleMembership, RoleMembership.user_id == User.id)
            .where(RoleMembership.organization_id == organization_id, RoleMembership.role == role,
                   User.is_active.is_(True)).order_by(User.username)).all()
    return [(username, display or username) for username, display in rows]


def plan_organization(ctx: Context, plan_id: int) -> int:
    with ctx.db.read() as session:
        return session.get(Plan, plan_id).organization_id


@dataclass(frozen=True)
class Start:
    """What the start page needs: the actor's own organization and the default process's start form."""

    organization_code: str
    organization_name: str
    process: str
    process_title: str
    schema: dict[str, Any]


def startable(ctx: Context, actor: Actor) -> Start | None:
    """The plan the actor may start in their own organization (commands.start_plan's rule), or None."""
    if actor.organization_id is None:
        return None
    with ctx.db.read() as session:
        defaults = [v for name in session.scalars(select(ProcessVersion.name).distinct())
                    if (v := catalog.latest(session, name)) is not None and v.meta.get("default")]
        if len(defaults) != 1:
            return None
        version = defaults[0]
        allowed = set(version.meta.get(STARTER_ROLES_KEY, [])) | {ADMIN}
        if not actor.roles_in(actor.organization_id) & allowed:
            return None
        organization = session.get(Organization, actor.organization_id)
        schema = version.forms.get(version.meta.get(START_FORM_KEY, ""), {"type": "object", "properties": {}})
        return Start(organization.code, organization.name, version.name, version.title, schema)


def process_files(ctx: Context, plan_id: int) -> tuple[str, dict[str, str]]:
    """The digest and the BPMN files of the process version the plan is pinned to."""
    with ctx.db.read() as session:
        version = session.get(Plan, plan_id).process_version
        return version.digest, dict(version.bpmn_files)
