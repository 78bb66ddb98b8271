"""The JSON API under /api/v1: authenticate, call one service function, serialise."""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from service import queries
from service.auth import actor_for_token
from service.commands import admin, holidays, plans
from service.context import Context
from service.errors import Invalid, ServiceError, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI = Path(__file__).parent / "openapi.json"


def ctx() -> Context:
    return current_app.extensions["phaen"]


def problem(status: int, title: str, detail: str, errors: list | None = None) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    return problem(err.status, err.title, err.message, err.errors if err.status == 422 else None)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    titles = {404: "ไม่พบหน้าที่ขอ", 405: "ไม่รองรับวิธีเรียกนี้", 413: "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
              400: "คำขอไม่ถูกต้อง"}
    return problem(err.code or 500, titles.get(err.code, "คำขอไม่สำเร็จ"), titles.get(err.code, err.name))


def authenticated(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        actor = None
        if scheme.lower() == "bearer" and token.strip():
            with ctx().db.read() as session:
                actor = actor_for_token(session, token.strip())
        if actor is None:
            raise Unauthorized("กรุณาส่ง Authorization: Bearer <token> ที่ถูกต้อง")
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper


def json_body():
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Invalid("ข้อมูลที่ส่งไม่ใช่ JSON ที่ถูกต้อง", [{"field": "", "message": "ไม่ใช่ JSON ที่ถูกต้อง"}]) from err


@bp.get("/openapi.json")
def openapi():
    return Response(OPENAPI.read_bytes(), mimetype="application/json")


@bp.post("/plans")
@authenticated
def start_plan():
    plan_id = plans.start_plan(ctx(), g.actor, json_body())
    return jsonify(queries.plan(ctx(), g.actor, plan_id)), 201


@bp.get("/plans")
@authenticated
def list_plans():
    return jsonify({"plans": queries.plans(ctx(), g.actor)})


@bp.get("/plans/<int:plan_id>")
@authenticated
def get_plan(plan_id: int):
    """:raise 404: the plan does not exist or belongs to another organization."""
    return jsonify(queries.plan(ctx(), g.actor, plan_id))


@bp.get("/plans/<int:plan_id>/history")
@authenticated
def plan_history(plan_id: int):
    return jsonify({"events": queries.history(ctx(), g.actor, plan_id)})


@bp.get("/tasks")
@authenticated
def inbox():
    return jsonify({"tasks": queries.inbox(ctx(), g.actor)})


@bp.get("/tasks/<task_id>")
@authenticated
def get_task(task_id: str):
    return jsonify(queries.task(ctx(), g.actor, task_id))


@bp.post("/tasks/<task_id>/complete")
@authenticated
def complete_task(task_id: str):
    return jsonify(plans.complete_task(ctx(), g.actor, task_id, json_body()))


@bp.get("/organizations")
@authenticated
def list_organizations():
    return jsonify({"organizations": admin.organizations(ctx(), g.actor)})


@bp.post("/organizations")
@authenticated
def create_organization():
    """A national admin adds an organization and its first users. :raise 403: not a national admin."""
    return jsonify(admin.create_organization(ctx(), g.actor, json_body())), 201


@bp.get("/holidays")
@authenticated
def list_holidays():
    year = request.args.get("year")
    if year is not None and not year.isdigit():
        raise Invalid("ปีไม่ถูกต้อง", [{"field": "year", "message": "ปีต้องเป็นตัวเลข (ค.ศ. หรือ พ.ศ.)"}])
    number = int(year) if year else None
    return jsonify({"holidays": holidays.listing(ctx(), number - 543 if number and number > 2400 else number)})


@bp.put("/holidays/<day>")
@authenticated
def keep_holiday(day: str):
    """:raise 403: not a national admin."""
    holidays.require_admin(g.actor)
    body = json_body()
    return jsonify(holidays.keep(ctx(), g.actor.username, holidays.parse_day(day, "day"),
                                 body.get("name") if isinstance(body, dict) else None))


@bp.delete("/holidays/<day>")
@authenticated
def remove_holiday(day: str):
    """:raise 403: not a national admin. :raise 404: no such holiday kept."""
    holidays.require_admin(g.actor)
    return jsonify(holidays.remove(ctx(), g.actor.username, holidays.parse_day(day, "day")))
