"""A tracked plan's dashboard under /api/v1: the figures the dashboard page draws
(service/tracking/dashboard.py), as JSON."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http
from service.api.blueprint import authenticated, bp, caller
from service.tracking import dashboard


@bp.get("/plans/<int:plan_id>/dashboard")
@authenticated
def plan_dashboard(plan_id: int) -> ResponseReturnValue:
    """The figures of the plan's tracked projects: money by strategy and plan-program, projects by
    status, planned and worked projects and cumulative disbursement by month, overdue ones; ``unit``
    one responsible unit ("" the whole plan; absent: the caller's own unit if they belong to one).
    :raise 404: no such plan in the caller's organizations; 409: not tracked (not announced, or an
        amendment); 422: no such unit in the plan."""
    unit = request.args.get("unit")
    return jsonify(dashboard.dashboard(http.ctx(), caller(), plan_id, unit[:300] if unit is not None else None))
