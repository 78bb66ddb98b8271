"""Every read: the read models behind the API, the pages and the CLI. Lists read the read models
(inbox rows, deadlines on the plan row) only; no list deserializes a workflow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, defer, joinedload

from service import engine, eventlog, labels
from service.auth import ADMIN, Actor, actor_of, completion_refusal, require_designer, token_digest
from service.bundles import catalog
from service.bundles.catalog import Published
from service.context import Context
from service.errors import NotFound
from service.models import (
    Draft,
    Event,
    Incident,
    OpenTask,
    Organization,
    Plan,
    ProcessVersion,
    RoleMembership,
    User,
    WebSession,
)
from service.thai.legaldays import day_of


# --- Tasks -------------------------------------------------------------------------------
def inbox(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """Tasks of the actor's roles in the actor's organizations, earliest due first."""
    roles_by_org: dict[int, list[str]] = {}
    for org, role in actor.memberships:
        if org is not None:  # a national role (admin, auditor) has no tasks of its own
            roles_by_org.setdefault(org, []).append(role)
    if not roles_by_org:
        return []
    # One (organization, roles) condition per organization, so both databases use the
    # (organization_id, role) index whatever the number of plans in the country.
    scope = or_(*(and_(OpenTask.organization_id == org, OpenTask.role.in_(roles))
                  for org, roles in roles_by_org.items()))
    with ctx.db.read() as session:
        rows = session.execute(
            select(OpenTask, Plan.fiscal_year).join(Plan, Plan.id == OpenTask.plan_id).where(scope)
            .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.opened_at, OpenTask.id)
        ).all()
        return [task_summary(row, fiscal_year) for row, fiscal_year in rows]


def task_summary(row: OpenTask, fiscal_year: int) -> dict[str, Any]:
    return {
        "id": row.id, "plan_id": row.plan_id, "fiscal_year": fiscal_year, "name": row.name,
        "title": row.title, "lane": row.lane, "role": row.role,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "due_on": day_of(row.due_at).isoformat() if row.due_at else None,
        "claimed_by": row.claimed_by,
    }


def task(ctx: Context, actor: Actor, task_id: str) -> dict[str, Any]:
    """An open task with its form schema and the values to prefill. :raise NotFound:"""
    with ctx.db.read() as session:
        return _task(session, ctx, actor, task_id)[0]


def task_page(ctx: Context, actor: Actor, task_id: str) -> dict[str, Any]:
    """Everything a task's page shows, read in one transaction: the task (as ``task`` gives it),
    where its due date comes from, who holds it, whether the actor may edit it and, for an
    administrator, whom it may be given to. :raise NotFound:"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        summary, row, plan = _task(session, ctx, actor, task_id)
        is_admin = ADMIN in actor.roles_in(row.organization_id)
        return {
            "task": summary,
            "basis": _due_basis(summary, plan.deadlines or [], now),
            "holder": _display_names(session, {row.claimed_by}).get(row.claimed_by) if row.claimed_by else None,
            "roles": _role_titles(session),
            "refusal": completion_refusal(actor, row.role, row.organization_id, row.claimed_by),
            "is_admin": is_admin,
            "members": _role_members(session, row.organization_id, row.role) if is_admin else [],
        }


def _task(session: Session, ctx: Context, actor: Actor, task_id: str) -> tuple[dict[str, Any], OpenTask, Plan]:
    row = session.get(OpenTask, task_id)
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบงานนี้ หรืองานนี้ดำเนินการเสร็จไปแล้ว")
    plan = _plan(session, row.plan_id)
    published = ctx.models.published(session, plan.process_version_id)
    element = published.model.elements.get(row.name, {})
    schema = published.form_of(row.name)
    instance = engine.Instance.restore(published.model, plan.state_json)
    current = next((t for t in instance.open_tasks() if t.id == task_id), None)
    values = current.data if current else {}
    summary = {
        **task_summary(row, plan.fiscal_year),
        "instructions": element.get("documentation", ""),
        "form": {"name": element.get("properties", {}).get(engine.FORM_PROPERTY), "schema": schema},
        "data": {k: values[k] for k in schema.get("properties", {}) if k in values},
        "can_complete": row.role in actor.roles_in(row.organization_id),
    }
    return summary, row, plan


def completed_by(ctx: Context, actor: Actor, task_id: str) -> tuple[str, datetime] | None:
    """Who completed a task that is no longer open, and when (for tasks of the actor's organizations)."""
    with ctx.db.read() as session:
        event = session.scalars(select(Event).where(Event.task_id == task_id,
                                                    Event.kind == eventlog.TASK_COMPLETED)).first()
        if event is None or not actor.can_see(_plan(session, event.plan_id).organization_id):
            return None
        return _display_names(session, {event.actor}).get(event.actor, event.actor), event.at


def due_bases(ctx: Context, tasks: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """Task id -> the deadline its due date comes from (name, basis) and whether it has passed."""
    plan_ids = {t["plan_id"] for t in tasks if t.get("due_at")}
    if not plan_ids:
        return {}
    with ctx.db.read() as session:
        deadlines: dict[int, list[dict[str, Any]]] = {
            plan_id: listed for plan_id, listed in session.execute(select(Plan.id, Plan.deadlines)
                                                                   .where(Plan.id.in_(plan_ids)))}
    found = {}
    for task in tasks:
        basis = _due_basis(task, deadlines.get(task["plan_id"]) or [], now)
        if basis is not None:
            found[task["id"]] = basis
    return found


def _due_basis(task: dict[str, Any], deadlines: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    if not task.get("due_at"):
        return None
    due_at = datetime.fromisoformat(task["due_at"])
    match = next((d for d in deadlines if datetime.fromisoformat(d["due_at"]) == due_at), None)
    return {"name": match["name"] if match else "", "basis": match["basis"] if match else "", "overdue": now > due_at}


# --- Plans -------------------------------------------------------------------------------
def plan(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    """A plan with its open tasks and deadlines. :raise NotFound:"""
    with ctx.db.read() as session:
        row = _visible_plan(session, actor, plan_id)
        tasks = list(session.scalars(select(OpenTask).where(OpenTask.plan_id == row.id)))
        return plan_view(row, tasks, ctx.models.published(session, row.process_version_id), ctx.clock.now())


def plan_page(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    """Everything a plan's page shows, read in one transaction: the plan (as ``plan`` gives it), its
    history, the names of its steps, roles and people, where each due date comes from, and, for an
    administrator, whom each open task may be given to. :raise NotFound:"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = _visible_plan(session, actor, plan_id)
        version = ctx.models.published(session, row.process_version_id)
        shown = plan_view(row, list(session.scalars(select(OpenTask).where(OpenTask.plan_id == row.id))), version,
                          now)
        events = _history(session, plan_id)
        people = {e["actor"] for e in events} | {t["claimed_by"] for t in shown["tasks"]} | \
            {(e["data"] or {}).get("to") for e in events if e["kind"] == eventlog.TASK_REASSIGNED}
        is_admin = ADMIN in actor.roles_in(row.organization_id)
        return {
            "plan": shown, "events": events, "is_admin": is_admin,
            "steps": {key: element.get("name") or key for key, element in version.model.elements.items()},
            "roles": _role_titles(session), "names": _display_names(session, people),
            "bases": {t["id"]: basis for t in shown["tasks"]
                      if (basis := _due_basis(t, row.deadlines or [], now)) is not None},
            "members": {t["role"]: _role_members(session, row.organization_id, t["role"]) for t in shown["tasks"]}
            if is_admin else {},
        }


def plan_view(row: Plan, tasks: Sequence[OpenTask], version: Published, now: datetime) -> dict[str, Any]:
    """The plan as the API shows it, from its row (with its organization) and its open inbox rows."""
    return {
        "id": row.id,
        "organization": {"code": row.organization.code, "name": row.organization.name,
                         "province": row.organization.province},
        "fiscal_year": row.fiscal_year,
        "status": row.status,
        "process": {"name": version.name, "version": version.version, "title": version.title},
        "started_at": row.started_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "tasks": [task_summary(t, row.fiscal_year) for t in sorted(tasks, key=lambda t: (t.opened_at, t.id))],
        "deadlines": [deadline_view(d, now) for d in row.deadlines],
    }


def deadline_view(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    due_at = datetime.fromisoformat(deadline["due_at"])
    state = deadline["state"]
    if state == "pending" and deadline["kind"] == "limit" and now >= due_at:
        state = "missed"  # e.g. an extended date with no timer behind it
    actual = deadline.get("actual_at")
    return {
        "key": deadline["key"], "name": deadline["name"], "basis": deadline["basis"], "kind": deadline["kind"],
        "due_on": day_of(due_at).isoformat(), "due_at": deadline["due_at"], "state": state,
        "extended_to": deadline.get("extended_to"),
        "actual_on": day_of(datetime.fromisoformat(actual)).isoformat() if actual else None,
    }


def history(ctx: Context, actor: Actor, plan_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        _visible_plan(session, actor, plan_id)
        return _history(session, plan_id)


def _history(session: Session, plan_id: int) -> list[dict[str, Any]]:
    events = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq))
    return [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "kind": e.kind,
             "task": e.task, "task_id": e.task_id, "data": e.data, "hash": e.hash} for e in events]


def plans(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    orgs = actor.visible_organizations()
    query = select(Plan).order_by(Plan.fiscal_year.desc(), Plan.id)
    if orgs is not None:
        query = query.where(Plan.organization_id.in_(orgs))
    with ctx.db.read() as session:
        rows = session.scalars(query).all()
        return [{"id": p.id, "organization": p.organization.code, "fiscal_year": p.fiscal_year,
                 "status": p.status} for p in rows]


def _plan(session: Session, plan_id: int) -> Plan:
    """A plan that a row in hand points to. :raise NotFound: it is gone (deleted meanwhile)."""
    found = session.get(Plan, plan_id)
    if found is None:
        raise NotFound("ไม่พบแผนนี้")
    return found


def _visible_plan(session: Session, actor: Actor, plan_id: int) -> Plan:
    row = session.get(Plan, plan_id, options=[defer(Plan.state_json), joinedload(Plan.organization)])
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบแผนนี้")
    return row


def step_titles(ctx: Context, plan_id: int) -> dict[str, str]:
    """BPMN id -> Thai name of every element of the plan's process version."""
    with ctx.db.read() as session:
        version = _plan(session, plan_id).process_version
        return {key: element.get("name") or key for key, element in version.elements.items()}


def process_files(ctx: Context, plan_id: int) -> tuple[str, dict[str, str]]:
    """The digest and the BPMN files of the process version the plan is pinned to."""
    with ctx.db.read() as session:
        version = _plan(session, plan_id).process_version
        return version.digest, dict(version.bpmn_files)


def plan_organization(ctx: Context, plan_id: int) -> int | None:
    """The organization a plan belongs to; None when there is no such plan."""
    with ctx.db.read() as session:
        return session.scalar(select(Plan.organization_id).where(Plan.id == plan_id))


@dataclass(frozen=True)
class Start:
    """What the start page needs: the actor's own organization and the default process's start form."""

    organization_code: str
    organization_name: str
    process: str
    process_title: str
    schema: dict[str, Any]


def startable(ctx: Context, actor: Actor) -> Start | None:
    """The plan the actor may start in their own organization (commands/plans.start_plan's rule), or None."""
    if actor.organization_id is None:
        return None
    with ctx.db.read() as session:
        defaults = catalog.default_versions(session)
        if len(defaults) != 1:
            return None
        version = defaults[0]
        if not actor.roles_in(actor.organization_id) & catalog.starter_roles(version):
            return None
        organization = session.get(Organization, actor.organization_id)
        if organization is None:  # the actor's own organization: gone only if deleted under a session
            return None
        return Start(organization.code, organization.name, version.name, version.title, catalog.start_form(version))


# --- People and roles --------------------------------------------------------------------
def display_names(ctx: Context, usernames: set[str | None]) -> dict[str, str]:
    with ctx.db.read() as session:
        return _display_names(session, usernames)


def _display_names(session: Session, usernames: set[str | None]) -> dict[str, str]:
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
    names = {username: display or username for username, display in rows}
    return {u: names.get(u, u) for u in wanted}


def role_titles(ctx: Context) -> dict[str, str]:
    """Role -> its Thai name: the lane it works in, as the published processes name it."""
    with ctx.db.read() as session:
        return _role_titles(session)


def _role_titles(session: Session) -> dict[str, str]:
    titles = dict(labels.SYSTEM_ROLES)
    for lane_roles in session.scalars(select(ProcessVersion.lane_roles)):
        titles.update({role: lane for lane, role in lane_roles.items()})
    return titles


def _role_members(session: Session, organization_id: int, role: str | None) -> list[tuple[str, str]]:
    rows = session.execute(
        select(User.username, User.display_name).join(RoleMembership, RoleMembership.user_id == User.id)
        .where(RoleMembership.organization_id == organization_id, RoleMembership.role == role,
               User.is_active.is_(True)).order_by(User.username)).all()
    return [(username, display or username) for username, display in rows]


@dataclass(frozen=True)
class SignedIn:
    """An active user as the pages know them once signed in."""

    actor: Actor
    display_name: str
    organization_name: str


def signed_in(ctx: Context, user_id: int, session_key: str) -> SignedIn | None:
    """The active user of this id, signed in by the web session of this key; None when there is
    no such user, they were deactivated, or the session has ended (logged out, a new password)."""
    with ctx.db.read() as session:
        user = session.scalars(
            select(User).join(WebSession, WebSession.user_id == User.id)
            .where(User.id == user_id, User.is_active.is_(True), WebSession.key_hash == token_digest(session_key),
                   WebSession.ended_at.is_(None))
            .options(joinedload(User.organization))).first()
        if user is None:
            return None
        return SignedIn(actor_of(user), user.display_name or user.username,
                        user.organization.name if user.organization else "")


def actor_named(ctx: Context, username: str) -> Actor:
    """The actor a command-line user acts as. :raise NotFound: no such active user."""
    with ctx.db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.is_active:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        return actor_of(user)


# --- Organizations -----------------------------------------------------------------------
def organizations(ctx: Context, actor: Actor) -> list[dict[str, str]]:
    """The organizations the actor may see, by code."""
    visible = actor.visible_organizations()
    query = select(Organization).order_by(Organization.code)
    if visible is not None:
        query = query.where(Organization.id.in_(visible))
    with ctx.db.read() as session:
        return [{"code": o.code, "name": o.name, "province": o.province} for o in session.scalars(query)]


def organization_id(ctx: Context, code: str) -> int | None:
    """The id of the organization of this code; None when there is none."""
    with ctx.db.read() as session:
        return session.scalar(select(Organization.id).where(Organization.code == code))


def plans_of(ctx: Context, organization_id: int, actor: Actor) -> list[dict[str, Any]]:
    """An organization's plans, newest fiscal year first, with the version each is pinned to.
    :raise NotFound: the actor may not see the organization."""
    if not actor.can_see(organization_id):
        raise NotFound("ไม่พบองค์กรปกครองส่วนท้องถิ่นนี้")
    with ctx.db.read() as session:
        rows = session.scalars(select(Plan).options(defer(Plan.state_json))
                               .where(Plan.organization_id == organization_id)
                               .order_by(Plan.fiscal_year.desc(), Plan.id)).all()
        found = []
        for plan in rows:
            version = ctx.models.published(session, plan.process_version_id)
            found.append({"id": plan.id, "fiscal_year": plan.fiscal_year, "status": plan.status,
                          "started_at": plan.started_at, "completed_at": plan.completed_at,
                          "process": {"title": version.title, "version": version.version}})
        return found


def incidents(ctx: Context, actor: Actor | None, open_only: bool = True) -> list[dict[str, Any]]:
    """The plans the timer sweep could not move on, newest first, in the organizations an admin sees
    (``actor`` None: the operator at the console, every organization)."""
    query = (select(Incident, Organization.code).join(Organization, Organization.id == Incident.organization_id)
             .order_by(Incident.last_at.desc(), Incident.id.desc()))
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    visible = actor.visible_organizations() if actor is not None else None
    if visible is not None:
        query = query.where(Incident.organization_id.in_(visible))
    with ctx.db.read() as session:
        return [{"plan_id": i.plan_id, "organization": code, "kind": i.kind, "message": i.message,
                 "failures": i.failures, "first_at": i.first_at.isoformat(), "last_at": i.last_at.isoformat(),
                 "retry_at": i.retry_at.isoformat(),
                 "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}
                for i, code in session.execute(query)]


# --- Processes and drafts ----------------------------------------------------------------
def processes(ctx: Context) -> list[dict[str, Any]]:
    """Every process with its versions, newest first."""
    with ctx.db.read() as session:
        rows = session.execute(select(ProcessVersion.id, ProcessVersion.name, ProcessVersion.version,
                                      ProcessVersion.title, ProcessVersion.meta, ProcessVersion.published_at,
                                      ProcessVersion.published_by)
                               .order_by(ProcessVersion.name, ProcessVersion.version.desc())).all()
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = result.setdefault(row.name, {"name": row.name, "title": row.title, "latest": row.version,
                                             "versions": []})
        entry["versions"].append({
            "version": row.version, "title": row.title, "published_at": row.published_at.isoformat(),
            "published_by": row.published_by, "regulation": row.meta.get("regulation"),
            "effective_on": row.meta.get("effective_on"), "change_note": row.meta.get("change_note"),
        })
    return list(result.values())


def version_files(ctx: Context, name: str, number: int | None = None) -> dict[str, str]:
    """The files of a published version (the latest when ``number`` is None), as text."""
    with ctx.db.read() as session:
        query = select(ProcessVersion).where(ProcessVersion.name == name)
        row = session.scalars(query.where(ProcessVersion.version == number) if number else
                              query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"ไม่พบกระบวนงาน {name}" + (f" ฉบับที่ {number}" if number else ""))
        return catalog.bundle_of(row).files()


def draft(ctx: Context, actor: Actor, draft_id: int) -> dict[str, Any]:
    """A saved draft with its files. :raise NotFound: no such draft. :raise Forbidden: no designer."""
    require_designer(actor)
    with ctx.db.read() as session:
        row = session.get(Draft, draft_id)
        if row is None:
            raise NotFound(f"ไม่พบร่างที่ {draft_id}")
        return {**draft_summary(row), "files": dict(row.files)}


def drafts(ctx: Context, per_process: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The latest drafts of each process, newest first (without their files)."""
    with ctx.db.read() as session:
        rows = session.execute(select(Draft.id, Draft.name, Draft.based_on_version, Draft.saved_by, Draft.saved_at)
                               .order_by(Draft.name, Draft.id.desc())).all()
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        listed = result.setdefault(row.name, [])
        if len(listed) < per_process:
            listed.append(draft_summary(row))
    return result


def draft_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "based_on_version": row.based_on_version, "saved_by": row.saved_by,
            "saved_at": row.saved_at.isoformat()}
