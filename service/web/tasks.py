"""A task page: the step's instructions and its form, rendered from the task's JSON Schema and
completed through the same service call as the API; claim, release and reassign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service.commands import claims, plans
from service.errors import Conflict, Invalid, NotFound
from service.http import ctx, local_path
from service.taskforms import fields, validation
from service.web import spreadsheets
from service.web.auth import actor
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
    return render(page, page["task"]["data"])


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str) -> ResponseReturnValue:
    """Complete the task, or add/remove/move a table row and show the form again.
    :raise 403: the task belongs to another role or is held by someone else."""
    page = open_task(task_id)
    if isinstance(page, str):
        return redirect(page)
    require_can_complete(page)
    task = page["task"]
    schema = task["form"]["schema"]
    data, problems = fields.parse(schema, request.form)
    action = request.form.get(fields.ROW_ACTION)
    if action:
        return render(page, fields.apply_row_action(data, action))
    message = "ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ"
    if problems:  # values that are not even of the right type never reach the service
        errors = merged(problems, schema_errors(schema, data))
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
    return render(page, data, errors, message), 422


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
