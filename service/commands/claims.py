"""Commands that say who holds an open task: claim, release, and an administrator's reassignment.
Each runs in one transaction: it updates the inbox row and appends one event to the plan's log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from service import eventlog
from service.auth import ADMIN, Actor
from service.commands import notices
from service.commands.chain import append_event
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import OpenTask, Plan, RoleMembership, User


def claim(ctx: Context, actor: Actor, task_id: str) -> None:
    """Take an open task of one's role, so that only oneself can complete it."""
    with ctx.db.write() as session:
        row = _open_task(session, actor, task_id)
        if row.role not in actor.roles_in(row.organization_id):
            raise Forbidden("งานนี้เป็นของบทบาทอื่น ท่านไม่มีสิทธิ์รับงานนี้")
        if row.claimed_by == actor.username:
            return
        if row.claimed_by:
            raise Conflict(f"งานนี้ {row.claimed_by} รับไปดำเนินการแล้ว")
        _hand_over(session, ctx, actor, row, actor.username, eventlog.TASK_CLAIMED)


def release(ctx: Context, actor: Actor, task_id: str) -> None:
    """Give a claimed task back to its role; its holder or an administrator may."""
    with ctx.db.write() as session:
        row = _open_task(session, actor, task_id)
        if row.claimed_by is None:
            return
        if row.claimed_by != actor.username and ADMIN not in actor.roles_in(row.organization_id):
            raise Forbidden(f"งานนี้ {row.claimed_by} เป็นผู้รับไว้ เฉพาะผู้รับงานหรือผู้ดูแลระบบคืนงานได้")
        _hand_over(session, ctx, actor, row, None, eventlog.TASK_RELEASED)


def reassign(ctx: Context, actor: Actor, task_id: str, username: str) -> None:
    """An administrator gives an open task to another member of its role in the organization."""
    with ctx.db.write() as session:
        row = _open_task(session, actor, task_id)
        if ADMIN not in actor.roles_in(row.organization_id):
            raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรมอบหมายงานให้ผู้อื่นได้")
        holder = session.scalars(
            select(User).join(RoleMembership, RoleMembership.user_id == User.id)
            .where(User.username == username, User.is_active.is_(True),
                   RoleMembership.organization_id == row.organization_id, RoleMembership.role == row.role)
        ).first()
        if holder is None:
            raise Invalid(f"ผู้ใช้ {username or '(ไม่ระบุ)'} ไม่ได้อยู่ในบทบาทที่รับผิดชอบงานนี้",
                          [{"field": "/username", "message": "กรุณาเลือกผู้ใช้ในบทบาทที่รับผิดชอบงานนี้"}])
        if row.claimed_by != holder.username:
            _hand_over(session, ctx, actor, row, holder.username, eventlog.TASK_REASSIGNED)


def _open_task(session: Session, actor: Actor, task_id: str) -> OpenTask:
    """The open task, read after locking its plan: every command takes the plan's row first, so a
    claim and a completion of one plan queue instead of deadlocking, and a task completed while
    this one waited is seen as gone."""
    plan_id = session.scalar(select(OpenTask.plan_id).where(OpenTask.id == task_id))
    row = None
    if plan_id is not None:
        session.scalars(select(Plan).where(Plan.id == plan_id).options(defer(Plan.state_json)).with_for_update()).one()
        row = session.scalars(select(OpenTask).where(OpenTask.id == task_id)).first()
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบงานนี้ หรืองานนี้ดำเนินการเสร็จไปแล้ว")
    return row


def _hand_over(session: Session, ctx: Context, actor: Actor, row: OpenTask, to: str | None, kind: str) -> None:
    before, row.claimed_by = row.claimed_by, to
    role = row.role if row.role in actor.roles_in(row.organization_id) else ADMIN
    plan = session.get(Plan, row.plan_id)  # locked by _open_task, so in the session: no query
    assert plan is not None
    now = ctx.clock.now()
    append_event(session, plan, now, actor.username, role, kind, {"from": before, "to": to}, task=row.name,
                 task_id=row.id)
    notices.handed_over(session, ctx.models.published(session, plan.process_version_id), plan, row,
                        plan.event_seq, now, actor.username, before, to)
