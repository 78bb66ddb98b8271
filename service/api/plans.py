"""Plans through the API: start one, list them (a page at a time), one plan with its open tasks and
deadlines, its history (a page at a time)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import plans, progress, progress_import
from service.errors import Invalid
from service.tracking import reads

#: A page of a list: enough for a screen, small enough that no caller makes the list expensive.
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@bp.post("/plans")
@authenticated
def start_plan() -> ResponseReturnValue:
    plan_id = plans.start_plan(http.ctx(), caller(), json_body())
    return jsonify(queries.plan(http.ctx(), caller(), plan_id)), 201


@bp.get("/plans")
@authenticated
def list_plans() -> ResponseReturnValue:
    """A page of the plans the caller may see, newest fiscal year first; ``next`` is the ``after`` of
    the next page. :raise 422: a bad ``limit`` or ``after``."""
    limit, after = http.page_window(DEFAULT_LIMIT, MAX_LIMIT)
    return jsonify(queries.plans(http.ctx(), caller(), limit, after))


@bp.get("/plans/<int:plan_id>")
@authenticated
def get_plan(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization."""
    return jsonify(queries.plan(http.ctx(), caller(), plan_id))


@bp.get("/plans/<int:plan_id>/history")
@authenticated
def plan_history(plan_id: int) -> ResponseReturnValue:
    """A page of the plan's events in order; ``next`` is the ``after`` of the next page.
    :raise 404: the plan does not exist or belongs to another organization; 422: a bad ``limit`` or ``after``."""
    limit, after = http.page_window(DEFAULT_LIMIT, MAX_LIMIT)
    return jsonify(queries.history(http.ctx(), caller(), plan_id, limit, after))


@bp.get("/plans/<int:plan_id>/progress")
@authenticated
def plan_progress(plan_id: int) -> ResponseReturnValue:
    """A page of the plan's tracked projects with their progress and the figures of the whole list;
    filters ``unit``, ``strategy``, ``status`` (or ``overdue``); ``next`` is the ``after`` of the next page.
    :raise 404: the plan does not exist or belongs to another organization; 422: a bad filter or page."""
    limit, after = http.page_window(DEFAULT_LIMIT, MAX_LIMIT)
    filters = reads.Filters(*(request.args.get(name, "")[:300] for name in ("unit", "strategy", "status")))
    return jsonify(reads.progress(http.ctx(), caller(), plan_id, filters, limit, after))


@bp.put("/plans/<int:plan_id>/progress/<number>")
@authenticated
def record_progress(plan_id: int, number: str) -> ResponseReturnValue:
    """Record one tracked project's progress (the whole of it, as the plan's progress form says).
    :raise 403: another unit's project; 404: no such plan or project; 409: not announced yet, withdrawn
    by an amendment, or saved meanwhile; 422: values the form or its rules refuse."""
    return jsonify(progress.record(http.ctx(), caller(), plan_id, number, json_body()))


@bp.post("/plans/<int:plan_id>/progress/import")
@authenticated
def import_progress(plan_id: int) -> ResponseReturnValue:
    """Progress of many projects from an .xlsx or .csv (multipart, part ``file``): with ``preview=1``
    what it would record, writing nothing; else all of it in one transaction, or none.
    :raise 403: (by row) another unit's project; 404: no such plan; 409: not announced yet, or an
    amendment; 422: the file's problems by row and column, nothing recorded."""
    request.max_content_length = progress_import.MAX_BYTES + 64 * 1024  # the file and the multipart around it
    try:
        file = request.files.get("file")
    except RequestEntityTooLarge as err:
        raise Invalid(f"ไฟล์ใหญ่เกิน {progress_import.MAX_BYTES // 1024 // 1024} MB กรุณาแบ่งเป็นหลายไฟล์") from err
    # no file reads as an empty one, after the plan is checked: a stranger learns nothing of the file
    content, name = b"", ""
    if file and file.filename:
        content, name = file.stream.read(progress_import.MAX_BYTES + 1), file.filename
    if request.args.get("preview") in ("1", "true"):
        checked = progress_import.check(http.ctx(), caller(), plan_id, content, name)
        if not checked.ok:
            raise progress_import.refused(checked)
        return jsonify(checked.as_dict())
    return jsonify(progress_import.import_file(http.ctx(), caller(), plan_id, content, name))
