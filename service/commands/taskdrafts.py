"""Drafts of a task's form: what one user typed and saved without completing the step, kept in the
database (across sessions and restarts) for that user alone, bounded in size, and gone once the
task closes. A save names the revision it started from, so a second tab cannot silently
overwrite what the first one saved."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.auth import Actor, completion_refusal
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import OpenTask, TaskDraft

#: The largest draft kept: a form of the longest list a spreadsheet may bring (2,000 rows of
#: Thai text) is about 2 MB as stored; twice that leaves room and still bounds what one user keeps.
MAX_BYTES = 4 * 1024 * 1024
MAX_FIELDS = 100_000  # inputs of one form: 2,000 rows of a dozen columns, with room
TOO_LARGE = f"ร่างนี้มีขนาดใหญ่เกิน {MAX_BYTES // 1024 // 1024} MB จึงยังไม่ได้บันทึก กรุณาลดจำนวนรายการหรือความยาวของข้อความ"
SAVED_ELSEWHERE = ("ร่างของงานนี้ถูกบันทึกจากหน้าต่างหรือแท็บอื่นหลังจากที่ท่านเปิดหน้านี้ ร่างที่บันทึกไว้จึงยังไม่ถูกแทนที่ "
                   "ข้อมูลที่ท่านกรอกในหน้านี้ยังอยู่ครบ หากต้องการใช้ข้อมูลในหน้านี้แทน กดบันทึกร่างอีกครั้ง")
TASK_CLOSED = "งานนี้ไม่ได้รอดำเนินการแล้ว จึงบันทึกร่างไม่ได้"


def load(ctx: Context, actor: Actor, task_id: str) -> dict[str, Any] | None:
    """The actor's own draft of an open task (never another user's): its fields, revision and
    when it was saved; None when there is none."""
    if actor.user_id is None:
        return None
    with ctx.db.read() as session:
        draft = session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id,
                                                        TaskDraft.user_id == actor.user_id)).first()
        return _view(draft) if draft is not None else None


def save(ctx: Context, actor: Actor, task_id: str, fields: list[list[str]], seen: int | None) -> dict[str, Any]:
    """Keep ``fields`` as the actor's draft of the open task; ``seen``: the revision the page showed
    (0: none), None to replace whatever is there (what was kept over an expired log-in).
    :raise Invalid: too large or not pairs of text; NotFound, Forbidden: as for completing;
    Conflict: the task closed, or another tab saved since ``seen``."""
    size = _checked_size(fields)
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            row = _completable(session, actor, task_id)
            draft = session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id,
                                                            TaskDraft.user_id == actor.user_id)).first()
            if seen is not None and (draft.revision if draft else 0) != seen:
                raise Conflict(SAVED_ELSEWHERE)
            if draft is None:
                draft = TaskDraft(task_id=task_id, plan_id=row.plan_id, user_id=actor.user_id)
                session.add(draft)
            draft.fields, draft.size, draft.saved_at = fields, size, now
            session.flush()
            return _view(draft)
    except (StaleDataError, IntegrityError) as err:  # two tabs saving at the same instant: one wins
        raise Conflict(SAVED_ELSEWHERE) from err


def discard(ctx: Context, actor: Actor, task_id: str) -> bool:
    """Drop the actor's draft of a task; whether there was one."""
    with ctx.db.write() as session:
        draft = session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id,
                                                        TaskDraft.user_id == actor.user_id)).first()
        if draft is not None:
            session.delete(draft)
        return draft is not None


def forget(session: Session, task_ids: Iterable[str]) -> None:
    """Drop every draft of tasks that closed (completed, cancelled by a timer, moved by a migration),
    in the transaction that closed them."""
    closed = list(task_ids)
    if closed:
        session.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(closed)))


def _completable(session: Session, actor: Actor, task_id: str) -> OpenTask:
    row = session.get(OpenTask, task_id)
    if row is None:
        raise Conflict(TASK_CLOSED)
    if not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบงานนี้")
    refusal = completion_refusal(actor, row.role, row.organization_id, row.claimed_by)
    if refusal or actor.user_id is None:
        raise Forbidden(refusal or "บันทึกร่างได้เฉพาะผู้ใช้ที่เข้าสู่ระบบ")
    return row


def _checked_size(fields: Any) -> int:
    if not isinstance(fields, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
            for pair in fields):
        raise Invalid("ร่างต้องเป็นรายการชื่อช่องและข้อความที่กรอก")
    if len(fields) > MAX_FIELDS:
        raise Invalid(TOO_LARGE)
    size = len(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_BYTES:
        raise Invalid(TOO_LARGE)
    return size


def _view(draft: TaskDraft) -> dict[str, Any]:
    saved_at: datetime = draft.saved_at
    return {"fields": draft.fields, "revision": draft.revision, "saved_at": saved_at, "size": draft.size}
