"""A task page: the step's instructions and its form, rendered from the task's JSON Schema and
completed through the same service call as the API; claim, release and reassign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from service import http
from service.commands import claims, forwarding, plans, taskdrafts
from service.errors import Conflict, Invalid, NotFound
from service.http import ctx, local_path
from service.taskforms import fields, validation
from service.thai.dates import short, short_datetime
from service.web import keeping, spreadsheets
from service.web.auth import actor, csrf
from service.web.taskpage import closed, open_task, render, require_can_complete

bp = Blueprint("tasks", __name__)
bp.register_blueprint(spreadsheets.bp)


@bp.record_once
def _allow_long_lists(state: BlueprintSetupState) -> None:
    """A list of 2,000 projects in Thai is several MB as a submitted form; Flask allows 500 kB."""
    config = state.app.config
    if config.get("MAX_FORM_MEMORY_SIZE") is not None and config.get("MAX_CONTENT_LENGTH"):
        config["MAX_FORM_MEMORY_SIZE"] = max(config["MAX_FORM_MEMORY_SIZE"], config["MAX_CONTENT_LENGTH"])


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str) -> ResponseReturnValue:
    """:raise 404: no such open task in the user's organizations."""
    page = open_task(task_id)
    if isinstance(page, str):
        return redirect(page)
    saved = taskdrafts.load(ctx(), actor(), task_id)  # the user's own draft, shown instead of the task's data
    if saved is None:
        return render(page, page["task"]["data"])
    return render(page, fields.parse(page["task"]["form"]["schema"], keeping.as_form(saved["fields"]))[0], saved=saved)


@bp.post("/tasks/<task_id>")
@csrf.exempt  # checked below, once the post of an expired log-in has been kept (keeping.py)
def submit(task_id: str) -> ResponseReturnValue:
    """Save the draft (the form's default button: Enter in a field), ask to confirm the completion,
    complete after the confirmation, drop the draft, or add/remove/move a table row and show the
    form again. A post without a button (a program, or a page of an earlier release) completes.
    :raise 400: no valid CSRF token from a signed-in user; 403: the task belongs to another role or
    is held by someone else."""
    if not current_user.is_authenticated:
        return _keep_for_log_in(task_id)
    csrf.protect()
    page = open_task(task_id)
    if isinstance(page, str):
        return redirect(page)
    require_can_complete(page)
    intent = request.form.get(INTENT, "")
    if intent == "confirm":
        return _confirm(page)
    if intent == "discard":
        taskdrafts.discard(ctx(), actor(), task_id)
        flash("ลบร่างแล้ว แบบฟอร์มแสดงข้อมูลที่บันทึกไว้ในงานนี้", "info")
        return redirect(url_for("tasks.show", task_id=task_id))
    task = page["task"]
    schema = task["form"]["schema"]
    data, problems = fields.parse(schema, request.form)
    seen = _seen_revision()
    action = request.form.get(fields.ROW_ACTION)
    if action:
        return render(page, fields.apply_row_action(data, action), saved=seen)
    if intent == "draft":
        return _save_draft(page, data, seen)
    message = "ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ"
    if problems:  # values that are not even of the right type never reach the service
        errors = merged(problems, schema_errors(schema, data))
    elif intent == "complete":
        return _ask_to_confirm(page, data, seen)
    else:
        try:
            plan = plans.complete_task(ctx(), actor(), task_id, data)
        except Invalid as err:
            errors, message = err.errors, err.message
        except Conflict:
            return redirect(closed(task_id) or url_for("inbox.index"))
        else:
            flash(f"บันทึก “{task['title']}” เรียบร้อยแล้ว", "success")
            return redirect(url_for("plans.show", plan_id=plan["id"]))
    return render(page, data, errors, message, saved=seen), 422


# --- Drafts and the confirmation (commands/taskdrafts.py, commands/forwarding.py) ----------------
INTENT = "_intent"  # which button sent the form: draft (the default, Enter's), complete, confirm, discard
REVISION = "_draft"  # the revision of the draft the page was showing (0: none)
PLAN_VERSION = "_version"  # the plan's version the confirmation was computed on


def _seen_revision() -> dict[str, Any]:
    """The draft the page stood on, as render() takes it: its revision as posted."""
    return {"revision": http.integer(request.form.get(REVISION, "0")) or 0, "saved_at": None}


def _save_draft(page: dict[str, Any], data: dict[str, Any], seen: dict[str, Any]) -> ResponseReturnValue:
    task_id = page["task"]["id"]
    try:
        saved = taskdrafts.save(ctx(), actor(), task_id, keeping.typed_fields(request.form), seen["revision"])
    except Conflict as err:
        if err.message == taskdrafts.TASK_CLOSED:
            return redirect(closed(task_id) or url_for("inbox.index"))
        # another tab saved first: this page keeps what it shows, and may save over it knowingly
        return render(page, data, message=err.message, saved=keeping.standing_on_latest(actor(), task_id)), 409
    except Invalid as err:
        return render(page, data, message=err.message, saved=seen), 422
    flash(f"บันทึกร่างแล้วเมื่อ {short_datetime(saved['saved_at'])} ยังไม่ได้ส่งต่อขั้นตอนถัดไป", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


def _ask_to_confirm(page: dict[str, Any], data: dict[str, Any], seen: dict[str, Any]) -> ResponseReturnValue:
    """Check the data, keep it as the draft, and show what completing would send on and to whom."""
    task_id = page["task"]["id"]
    try:
        forward = forwarding.preview(ctx(), actor(), task_id, data)
        saved = taskdrafts.save(ctx(), actor(), task_id, keeping.typed_fields(request.form), seen["revision"])
    except Invalid as err:
        return render(page, data, err.errors, err.message, saved=seen), 422
    except Conflict as err:
        if err.message == taskdrafts.SAVED_ELSEWHERE:
            return render(page, data, message=err.message, saved=keeping.standing_on_latest(actor(), task_id)), 409
        return redirect(closed(task_id) or url_for("inbox.index"))
    return _confirmation(page, data, forward, saved)


def _confirm(page: dict[str, Any]) -> ResponseReturnValue:
    """Complete with the draft the confirmation showed, if it and the plan are still as shown."""
    task = page["task"]
    task_id = task["id"]
    saved = taskdrafts.load(ctx(), actor(), task_id)
    if saved is None:
        flash("ไม่พบข้อมูลที่จะส่งต่อ (อาจส่งต่อหรือลบร่างไปแล้วจากหน้าต่างอื่น) กรุณาตรวจสอบแบบฟอร์มอีกครั้ง", "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    data, problems = fields.parse(task["form"]["schema"], keeping.as_form(saved["fields"]))
    if problems:
        return render(page, data, problems, saved=saved), 422
    try:
        forward = forwarding.preview(ctx(), actor(), task_id, data)
    except Invalid as err:
        return render(page, data, err.errors, err.message, saved=saved), 422
    except Conflict:
        return redirect(closed(task_id) or url_for("inbox.index"))
    seen_revision = http.integer(request.form.get(REVISION, ""))
    seen_version = http.integer(request.form.get(PLAN_VERSION, ""))
    if seen_revision != saved["revision"]:
        return _confirmation(page, data, forward, saved, CHANGED_ELSEWHERE), 409
    if seen_version != forward["plan_version"]:
        return _confirmation(page, data, forward, saved, PLAN_MOVED), 409
    try:
        plan = plans.complete_task(ctx(), actor(), task_id, data)
    except Invalid as err:
        return render(page, data, err.errors, err.message, saved=saved), 422
    except Conflict:  # the other tab (or person) was first: it completed once, this one says so
        return redirect(closed(task_id) or url_for("inbox.index"))
    flash(f"บันทึก “{task['title']}” และส่งต่อเรียบร้อยแล้ว", "success")
    return redirect(url_for("plans.show", plan_id=plan["id"]))


CHANGED_ELSEWHERE = ("ข้อมูลร่างของงานนี้ถูกแก้ไขจากหน้าต่างหรือแท็บอื่นหลังจากที่ท่านเปิดหน้ายืนยัน จึงยังไม่ได้ส่งต่อ "
                     "กรุณาตรวจสอบข้อมูลล่าสุดด้านล่างแล้วยืนยันอีกครั้ง")
PLAN_MOVED = ("แผนนี้มีการเปลี่ยนแปลงหลังจากที่ท่านเปิดหน้ายืนยัน จึงยังไม่ได้ส่งต่อ "
              "กรุณาตรวจสอบขั้นตอนถัดไปด้านล่างแล้วยืนยันอีกครั้ง")


def _confirmation(page: dict[str, Any], data: dict[str, Any], forward: dict[str, Any], saved: dict[str, Any],
                  message: str = "") -> str:
    task = page["task"]
    return render_template("task_confirm.html", task=task, forward=forward, saved=saved, message=message,
                           summary=recorded(task["form"]["schema"], data), intent=INTENT, revision=REVISION,
                           plan_version=PLAN_VERSION)


def recorded(schema: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value as shown) of what the completion records: scalars as typed, lists by count."""
    shown = []
    for name, sub in schema.get("properties", {}).items():
        value = data.get(name)
        if value is None or value == "" or value == [] or not isinstance(sub, dict):
            continue
        label = sub.get("title", name)
        if isinstance(value, list):
            shown.append((label, f"{len(value):,} รายการ"))
        elif isinstance(value, bool):
            shown.append((label, "ใช่" if value else "ไม่ใช่"))
        elif sub.get("format") == "date" and isinstance(value, str):
            shown.append((label, short(value)))
        elif isinstance(value, dict):
            shown.append((label, f"{len(value):,} ช่อง"))
        else:
            titles = dict(zip(sub.get("enum", []), sub.get("x-enumTitles", []), strict=False))
            shown.append((label, str(titles.get(value, value))))
    return shown


def _keep_for_log_in(task_id: str) -> ResponseReturnValue:
    """A post after the log-in expired: answer with the log-in page, carrying what was typed."""
    sealed = keeping.keep(task_id, request.form)
    if sealed is None:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    return render_template("login.html", error=None, username="", kept=sealed, notice=keeping.KEPT_NOTICE,
                           action=url_for("web_auth.login", next=url_for("tasks.show", task_id=task_id))), 401


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    return _hand_over(task_id, lambda: claims.claim(ctx(), actor(), task_id),
                      "รับงานนี้แล้ว ผู้อื่นจะบันทึกงานนี้ไม่ได้จนกว่าท่านจะคืนงาน")


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> ResponseReturnValue:
    return _hand_over(task_id, lambda: claims.release(ctx(), actor(), task_id),
                      "คืนงานแล้ว สมาชิกในบทบาทเดียวกันรับงานนี้ต่อได้")


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str) -> ResponseReturnValue:
    username = request.form.get("username", "")
    return _hand_over(task_id, lambda: claims.reassign(ctx(), actor(), task_id, username), "มอบหมายงานแล้ว")


def _hand_over(task_id: str, command: Callable[[], None], done: str) -> ResponseReturnValue:
    try:
        command()
    except (Conflict, Invalid) as err:
        flash(err.message, "error")
    except NotFound:
        return redirect(closed(task_id) or url_for("inbox.index"))
    else:
        flash(done, "success")
    # back where the button was (the inbox, the plan page), never to another site
    return redirect(local_path(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


def schema_errors(schema: dict[str, Any], data: Any) -> list[dict]:
    try:
        validation.validate(schema, data)
    except Invalid as err:
        return err.errors
    return []


def merged(problems: list[dict], errors: list[dict]) -> list[dict]:
    """Our message replaces the validator's for a value we could not read."""
    unreadable = {p["field"] for p in problems}
    return problems + [e for e in errors if e["field"] not in unreadable]
