"""Attachments on the pages: the upload of a step's evidence (a section of the task page) and of a
tracked project's progress evidence (a section of its progress form), the list on the plan page,
and the download of one file for the plan's organization and its auditors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from service.commands import attachments, progress_evidence
from service.errors import Conflict, Invalid, ServiceError
from service.evidence import listing
from service.http import attachment, ctx
from service.taskforms import fields
from service.taskforms.attachments import MAX_BYTES, Declared, TooLarge
from service.tracking import reads
from service.web import keeping, progress
from service.web.auth import actor, login_manager
from service.web.taskpage import closed, keep_typed_first, open_task, render

bp = Blueprint("attachments", __name__)
UPLOAD = "attachments.upload"
PROGRESS_UPLOAD = "attachments.progress_upload"


@bp.url_value_preprocessor
def _allow_one_file(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The upload may carry one file of up to the limit. Raised here, before the CSRF check reads
    the form (it runs before any view), and only for the upload: every other page keeps the app's."""
    if endpoint in (UPLOAD, PROGRESS_UPLOAD):
        request.max_content_length = attachments.REQUEST_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err: RequestEntityTooLarge) -> ResponseReturnValue:
    """A file beyond the limit, refused from its Content-Length: the task page with the reason."""
    if not current_user.is_authenticated:  # the check ran before login_required could
        return login_manager.unauthorized()
    if request.endpoint == PROGRESS_UPLOAD:
        args = request.view_args or {}
        found = reads.project(ctx(), actor(), int(args.get("plan_id", 0)), str(args.get("number", "")))
        g.attachment_error = attachments.too_large().message  # what was typed is in the body it did not read
        return progress.form_page(found, found["project"]["progress"]), 413
    task_id = (request.view_args or {}).get("task_id", "")
    return _task_page_with(task_id, attachments.too_large())


@bp.post("/tasks/<task_id>/attachments")
@login_required
def upload(task_id: str) -> ResponseReturnValue:
    """Attach the chosen file to the open step; back to its page.
    :raise 403: the user may not complete the step; 404: no such step."""
    page = open_task(task_id)
    if isinstance(page, str):
        return redirect(page)
    if page["refusal"] is None:  # (attach refuses anyone else, with its own message)
        refused = keep_typed_first(page)  # posted with the task form: what was typed stays as the draft
        if refused:
            return refused
    file = request.files.get("file")
    try:
        added = attachments.attach(ctx(), actor(), page["task"]["plan_id"], task_id, file.filename if file else None,
                                   file.stream if file and file.filename else None)
    except (Invalid, TooLarge) as err:
        typed = keeping.typed_fields(request.form)
        return _task_page_with(task_id, err, page,
                               fields.parse(page["task"]["form"]["schema"], request.form)[0] if typed else None)
    except Conflict:
        return redirect(closed(task_id) or url_for("inbox.index"))
    flash(f"แนบไฟล์ “{added['filename']}” แล้ว (SHA-256 {added['sha256'][:16]}…)", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


def _task_page_with(task_id: str, err: ServiceError, page: dict[str, Any] | str | None = None,
                    data: dict[str, Any] | None = None) -> ResponseReturnValue:
    """The task page again, the refusal shown beside the file field; nothing was stored. ``data``: what
    the form carried (kept as the draft), shown again; else the step's data."""
    page = page or open_task(task_id)
    if isinstance(page, str):
        return redirect(page)
    g.attachment_error = err.message
    return render(page, page["task"]["data"] if data is None else data), err.status


@bp.post("/plans/<int:plan_id>/progress/<number>/evidence")
@login_required
def progress_upload(plan_id: int, number: str) -> ResponseReturnValue:
    """Attach the chosen file to the project's progress; its form again, with what was typed still
    in it (posted with the form, not recorded until saved). :raise 403: another unit's project, or a
    role that records no progress; 404: no such project; 409: not announced yet, or withdrawn."""
    found = reads.project(ctx(), actor(), plan_id, number)
    recorded = found["project"]["progress"]
    data = fields.parse(found["form"], request.form)[0] if keeping.typed_fields(request.form) else recorded
    file = request.files.get("file")
    try:
        added = progress_evidence.attach(ctx(), actor(), plan_id, number, file.filename if file else None,
                                         file.stream if file and file.filename else None)
    except (Invalid, TooLarge) as err:
        g.attachment_error = err.message
        return progress.form_page(found, data), err.status
    flash(f"แนบไฟล์ “{added['filename']}” แล้ว (SHA-256 {added['sha256'][:16]}…)", "success")
    if data == recorded:
        return redirect(url_for("progress.edit", plan_id=plan_id, number=number))
    flash("ค่าที่กรอกไว้ในแบบฟอร์มยังไม่ได้บันทึก กรุณากด “บันทึกผลการดำเนินงาน”", "info")
    return progress.form_page(reads.project(ctx(), actor(), plan_id, number), data)


@bp.app_template_global()
def evidence_upload(accepts: dict[str, Any]) -> dict[str, Any]:
    """A project's evidence upload, as a step's: the kinds it takes (``accepts``, reads.project's) in
    words and as the file input's hint, and the refusal of this request's upload, if any."""
    declared = Declared(tuple(accepts["kinds"]), accepts["label"])
    return {"titles": declared.titles, "accept": declared.accept, "max_megabytes": MAX_BYTES // 1024 // 1024,
            "error": g.get("attachment_error")}


@bp.get("/plans/<int:plan_id>/attachments/<int:attachment_id>")
@login_required
def download(plan_id: int, attachment_id: int) -> ResponseReturnValue:
    """The file as kept, checked against its SHA-256. :raise 404: no such plan or file for the user;
    503: the kept file is missing or altered."""
    found, body = listing.content(ctx(), actor(), plan_id, attachment_id)
    response = attachment(body, found["mimetype"], found["filename"])
    response.set_etag(found["sha256"])
    return response


@bp.app_template_global()
def task_attachments(task: dict[str, Any]) -> dict[str, Any]:
    """The attachments section of a task page: what the step takes, its files, and the refusal of
    the last upload, if any."""
    found = listing.of_task(ctx(), actor(), task["plan_id"], task["id"])
    accepts = found["accepts"]
    declared = Declared(tuple(accepts["kinds"]), accepts["label"]) if accepts else None
    return {**found, "error": g.get("attachment_error"), "max_megabytes": MAX_BYTES // 1024 // 1024,
            "accept": declared.accept if declared else "", "titles": declared.titles if declared else ""}


@bp.app_template_global()
def plan_attachments(plan_id: int) -> list[dict[str, Any]]:
    return listing.of_plan(ctx(), actor(), plan_id)
