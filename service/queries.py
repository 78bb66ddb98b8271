"""Queries: read-only views for the API and the pages. Lists read the read models only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, defer, joinedload

from service import engine
from service.auth import Actor
from service.bundles.catalog import Published
from service.context import Context
from service.errors import NotFound
from service.models import Event, OpenTask, Plan
from service.thai.legaldays import day_of


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
        row = session.get(OpenTask, task_id)
        if row is None or not actor.can_see(row.organization_id):
            raise NotFound("ไม่พบงานนี้ หรืองานนี้ดำเนินการเสร็จไปแล้ว")
        plan = session.get(Plan, row.plan_id)
        published = ctx.models.published(session, plan.process_version_id)
        element = published.model.elements.get(row.name, {})
        schema = published.form_of(row.name)
        instance = engine.Instance.restore(published.model, plan.state_json)
        current = next((t for t in instance.open_tasks() if t.id == task_id), None)
        values = current.data if current else {}
        return {
            **task_summary(row, plan.fiscal_year),
            "instructions": element.get("documentation", ""),
            "form": {"name": element.get("properties", {}).get(engine.FORM_PROPERTY), "schema": schema},
            "data": {k: values[k] for k in schema.get("properties", {}) if k in values},
            "can_complete": row.role in actor.roles_in(row.organization_id),
        }


def plan(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    """A plan with its open tasks and deadlines. :raise NotFound:"""
    with ctx.db.read() as session:
        row = _visible_plan(session, actor, plan_id)
        tasks = session.scalars(select(OpenTask).where(OpenTask.plan_id == row.id)).all()
        return plan_view(row, tasks, ctx.models.published(session, row.process_version_id), ctx.clock.now())


def plan_view(row: Plan, tasks: list[OpenTask], version: Published, now: datetime) -> dict[str, Any]:
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
        events = session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)).all()
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


def _visible_plan(session: Session, actor: Actor, plan_id: int) -> Plan:
    row = session.get(Plan, plan_id, options=[defer(Plan.state_json), joinedload(Plan.organization)])
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบแผนนี้")
    return row
