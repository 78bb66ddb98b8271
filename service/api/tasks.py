"""Tasks through the API: the inbox, one open task with its form, completing it, and claiming and
releasing it (POST /api/v1/tasks/<id>/claim and /release)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import claims, plans

#: A page of the inbox: a screenful and then some; a program pages with ``after``.
DEFAULT_PAGE, MAX_PAGE = 100, 500


@bp.get("/tasks")
@authenticated
def inbox() -> ResponseReturnValue:
    """A page of the caller's open tasks, earliest due first; ``next`` is the ``after`` of the next page.
    :raise 422: a bad ``limit`` or ``after``."""
    limit = http.query_integer("limit", 1, MAX_PAGE, f"limit ต้องเป็นจำนวนเต็ม 1–{MAX_PAGE}") or DEFAULT_PAGE
    return jsonify(queries.inbox_page(http.ctx(), caller(), limit, request.args.get("after") or None))


@bp.get("/tasks/<task_id>")
@authenticated
def get_task(task_id: str) -> ResponseReturnValue:
    return jsonify(queries.task(http.ctx(), caller(), task_id))


@bp.post("/tasks/<task_id>/complete")
@authenticated
def complete_task(task_id: str) -> ResponseReturnValue:
    return jsonify(plans.complete_task(http.ctx(), caller(), task_id, json_body()))


@bp.post("/tasks/<task_id>/claim")
@authenticated
def claim(task_id: str) -> ResponseReturnValue:
    """:raise 403: another role's task; 404: no such open task; 409: someone else holds it."""
    claims.claim(http.ctx(), caller(), task_id)
    return jsonify(queries.task(http.ctx(), caller(), task_id))


@bp.post("/tasks/<task_id>/release")
@authenticated
def release(task_id: str) -> ResponseReturnValue:
    """:raise 403: held by someone else and the caller is not an administrator."""
    claims.release(http.ctx(), caller(), task_id)
    return jsonify(queries.task(http.ctx(), caller(), task_id))
