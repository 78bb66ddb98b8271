"""JSON API for claiming and releasing tasks: POST /api/v1/tasks/<id>/claim and /release."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from service import queries
from service.api import authenticated, ctx, problem
from service.commands import claims
from service.errors import ServiceError

bp = Blueprint("api_claims", __name__, url_prefix="/api/v1")


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    return problem(err.status, err.title, err.message, err.errors if err.status == 422 else None)


@bp.post("/tasks/<task_id>/claim")
@authenticated
def claim(task_id: str):
    """:raise 403: another role's task; 404: no such open task; 409: someone else holds it."""
    claims.claim(ctx(), g.actor, task_id)
    return jsonify(queries.task(ctx(), g.actor, task_id))


@bp.post("/tasks/<task_id>/release")
@authenticated
def release(task_id: str):
    """:raise 403: held by someone else and the caller is not an administrator."""
    claims.release(ctx(), g.actor, task_id)
    return jsonify(queries.task(ctx(), g.actor, task_id))
