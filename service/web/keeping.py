"""What was typed into a task's form survives an expired log-in: the post that arrives after the
session ended is kept, signed, in the log-in page it is answered with, and becomes the user's draft
of the task once the same user has logged in again. Signed so that nothing but our own pages can
hand a draft to anyone: the form carries a signed note of whose form it is (a forged post from
another site cannot name the victim), and the kept values cannot be changed on the way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from service.auth import Actor
from service.commands import taskdrafts
from service.errors import ServiceError
from service.http import ctx

OWNER = "_owner"  # the signed (user, task) of the page the form came from
KEPT = "kept"  # the log-in page's field that carries the kept values
#: how long a task page still vouches for whose form it is: the longest a session lasts, and a night
OWNER_AGE = timedelta(hours=10) + timedelta(hours=12)
KEPT_AGE = timedelta(days=1)  # how long the log-in page keeps what was typed
KEPT_NOTICE = ("หมดเวลาการเข้าสู่ระบบก่อนบันทึก ข้อมูลที่ท่านกรอกยังไม่หายและยังไม่ได้ส่งต่อ "
               "กรุณาเข้าสู่ระบบอีกครั้ง ระบบจะพากลับไปยังแบบฟอร์มพร้อมข้อมูลเดิมในฐานะร่าง")
RESTORED = "นำข้อมูลที่ท่านกรอกไว้ก่อนหมดเวลาเข้าสู่ระบบกลับมาเป็นร่างแล้ว กรุณาตรวจสอบแล้วบันทึกหรือส่งต่อ"


def typed_fields(form: MultiDict[str, str]) -> list[list[str]]:
    """The form's inputs as typed, in order: those named by JSON pointer (fields.parse reads only
    these), never the token, the buttons or the bookkeeping fields."""
    return [[name, value] for name, value in form.items(multi=True) if name.startswith("/")]


def as_form(typed: list[list[str]]) -> MultiDict[str, str]:
    return MultiDict([(name, value) for name, value in typed])


def owner_token(actor: Actor, task_id: str) -> str:
    return _signer("owner").dumps([actor.user_id, task_id])


def keep(task_id: str, form: MultiDict[str, str]) -> str | None:
    """The signed value to carry through the log-in page, or None when the post does not come from
    a task page of ours for this task (or is larger than a draft may be)."""
    try:
        user_id, signed_task = _signer("owner").loads(form.get(OWNER, ""), max_age=int(OWNER_AGE.total_seconds()))
    except (BadData, TypeError, ValueError):
        return None
    typed = typed_fields(form)
    if signed_task != task_id or not isinstance(user_id, int) or not typed:
        return None
    sealed = _signer("kept").dumps({"task": task_id, "user": user_id, "fields": typed})
    return sealed if len(sealed) <= taskdrafts.MAX_BYTES else None


def restore(actor: Actor, sealed: str | None) -> str | None:
    """Make the kept values the actor's draft of their task; the task page to return to, or None
    when nothing was kept for this user (another person logging in at the same computer sees none)."""
    if not sealed:
        return None
    try:
        kept: Any = _signer("kept").loads(sealed, max_age=int(KEPT_AGE.total_seconds()))
    except BadData:
        return None
    if not isinstance(kept, dict) or kept.get("user") != actor.user_id:
        return None
    task_id = str(kept.get("task", ""))
    try:
        taskdrafts.save(ctx(), actor, task_id, kept.get("fields") or [], seen=None)
    except ServiceError as err:  # the task closed meanwhile, or is no longer the user's to do
        flash(f"ข้อมูลที่กรอกไว้ก่อนหมดเวลาเข้าสู่ระบบนำกลับมาไม่ได้: {err.message}", "error")
        return None
    flash(RESTORED, "info")
    return url_for("tasks.show", task_id=task_id)


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"phaen-task-form-{purpose}")


def page_context(actor: Actor, task_id: str, saved: dict[str, Any] | None) -> dict[str, Any]:
    """What a task page shows of drafts: the draft it stands on (``saved``, or the one stored now),
    and the signed note of whose form it is."""
    return {"saved_draft": saved if saved is not None else taskdrafts.load(ctx(), actor, task_id),
            "form_owner": owner_token(actor, task_id)}


def standing_on_latest(actor: Actor, task_id: str) -> dict[str, Any]:
    """For a page that keeps its own typed values after another tab saved: the stored draft's
    revision, so that saving again replaces it knowingly (the page does not show that draft)."""
    stored = taskdrafts.load(ctx(), actor, task_id)
    return {"revision": stored["revision"] if stored else 0, "saved_at": None}
