"""Plans through the API: start one, list them (a page at a time), one plan with its open tasks and
deadlines, its history (a page at a time)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import plans

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
