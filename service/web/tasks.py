"""A task page: the step's instructions and its form, rendered from the task's JSON Schema and
completed through the same service call as the API; claim, release and reassign."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from service import queries
from service.commands import claims, plans
from service.commands.plans import ADMIN
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.taskforms import fields, spreadsheet, validation
from service.thai.dates import short_datetime
from service.web import lookups
from service.web.auth import actor, ctx

bp = Blueprint("tasks", __name__)


@bp.record_once
def _allow_long_lists(state) -> None:
    """A list of 2,000 projects in Thai is several MB as a submitted form; Flask allows 500 kB."""
    config = state.app.config
    if config.get("MAX_FORM_MEMORY_SIZE") is not None and config.get("MAX_CONTENT_LENGTH"):
        config["MAX_FORM_MEMORY_SIZE"] = max(config["MAX_FORM_MEMORY_SIZE"], config["MAX_CONTENT_LENGTH"])


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str):
    """:raise 404: no such open task in the user's organizations."""
    task = open_task(task_id)
    if isinstance(task, str):
        return redirect(task)
    return page(task, task["data"])


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str):
    """Complete the task, or add/remove/move a table row and show the form again.
    :raise 403: the task belongs to another role or is held by someone else."""
    task = open_task(task_id)
    if isinstance(task, str):
        return redirect(task)
    require_can_complete(task)
    schema = task["form"]["schema"]
    data, problems = fields.parse(schema, request.form)
    action = request.form.get(fields.ROW_ACTION)
    if action:
        return page(task, fields.apply_row_action(data, action))
    message = "ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ"
    if problems:  # values that are not even of the right type never reach the service
        errors = merged(problems, schema_errors(schema, data))
    else:
        try:
            plan = plans.complete_task(ctx(), actor(), task_id, data)
        except Invalid as err:
            errors, message = err.errors, err.message
        except Conflict:
            return redirect(_closed(task_id) or url_for("inbox.index"))
        else:
            flash(f"บันทึก “{task['title']}” เรียบร้อยแล้ว", "success")
            return redirect(url_for("plans.show", plan_id=plan["id"]))
    return page(task, data, errors, message), 422


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    return _hand_over(task_id, lambda: claims.claim(ctx(), actor(), task_id), "รับงานนี้แล้ว ผู้อื่นจะบันทึกงานนี้ไม่ได้จนกว่าท่านจะคืนงาน")


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str):
    return _hand_over(task_id, lambda: claims.release(ctx(), actor(), task_id), "คืนงานแล้ว สมาชิกในบทบาทเดียวกันรับงานนี้ต่อได้")


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str):
    username = request.form.get("username", "")
    return _hand_over(task_id, lambda: claims.reassign(ctx(), actor(), task_id, username), "มอบหมายงานแล้ว")


def _hand_over(task_id: str, command, done: str):
    try:
        command()
    except (Conflict, Invalid) as err:
        flash(err.message, "error")
    except NotFound:
        return redirect(_closed(task_id) or url_for("inbox.index"))
    else:
        flash(done, "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("tasks.show", task_id=task_id))


def open_task(task_id: str):
    """The task as queries.task gives it, or where to go when it is no longer open."""
    try:
        return queries.task(ctx(), actor(), task_id)
    except NotFound:
        where = _closed(task_id)
        if where is None:
            raise
        return where


def _closed(task_id: str) -> str | None:
    done = lookups.completed_by(ctx(), actor(), task_id)
    if done is None:
        return None
    who, at = done
    flash(f"งานนี้ {who} บันทึกเสร็จไปแล้วเมื่อ {short_datetime(at)}", "info")
    return url_for("inbox.index")


def require_can_complete(task) -> None:
    if not task["can_complete"]:
        raise Forbidden("งานนี้เป็นของบทบาทอื่น ท่านไม่มีสิทธิ์บันทึกงานนี้")
    if task["claimed_by"] and task["claimed_by"] != actor().username:
        raise Forbidden(f"งานนี้ {task['claimed_by']} รับไปดำเนินการแล้ว ท่านบันทึกได้เมื่อผู้รับงานคืนงาน")


def schema_errors(schema, data) -> list[dict]:
    try:
        validation.validate(schema, data)
    except Invalid as err:
        return err.errors
    return []


def merged(problems: list[dict], errors: list[dict]) -> list[dict]:
    """Our message replaces the validator's for a value we could not read."""
    unreadable = {p["field"] for p in problems}
    return problems + [e for e in errors if e["field"] not in unreadable]


def page(task, data, errors=(), message=""):
    me = actor()
    organization_id = lookups.plan_organization(ctx(), task["plan_id"])
    is_admin = ADMIN in me.roles_in(organization_id)
    return render_template(
        "task.html", task=task, form=fields.build(task["form"]["schema"], data, list(errors)),
        message=message if errors or message else "", months=fields.month_options(),
        row_action=fields.ROW_ACTION, new_row=fields.NEW_ROW, tables=spreadsheet.tables(task["form"]["schema"]),
        max_rows=spreadsheet.MAX_ROWS, max_megabytes=spreadsheet.MAX_BYTES // 1024 // 1024,
        basis=lookups.due_bases(ctx(), [task], ctx().clock.now()).get(task["id"]),
        holder=lookups.display_names(ctx(), {task["claimed_by"]}).get(task["claimed_by"]),
        roles=lookups.role_titles(ctx()),
        can_edit=task["can_complete"] and task["claimed_by"] in (None, me.username),
        is_admin=is_admin, members=lookups.role_members(ctx(), organization_id, task["role"]) if is_admin else [],
    )


from service.web import spreadsheets

bp.register_blueprint(spreadsheets.bp)
