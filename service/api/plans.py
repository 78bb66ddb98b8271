"""Plans through the API: start one, list them, one plan with its open tasks and deadlines, its history."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import plans


@bp.post("/plans")
@authenticated
def start_plan() -> ResponseReturnValue:
    plan_id = plans.start_plan(http.ctx(), caller(), json_body())
    return jsonify(queries.plan(http.ctx(), caller(), plan_id)), 201


@bp.get("/plans")
@authenticated
def list_plans() -> ResponseReturnValue:
    return jsonify({"plans": queries.plans(http.ctx(), caller())})


@bp.get("/plans/<int:plan_id>")
@authenticated
def get_plan(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization."""
    return jsonify(queries.plan(http.ctx(), caller(), plan_id))


@bp.get("/plans/<int:plan_id>/history")
@authenticated
def plan_history(plan_id: int) -> ResponseReturnValue:
    return jsonify({"events": queries.history(http.ctx(), caller(), plan_id)})
