"""Administration through the API: organizations, and the official holidays national admins keep."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import admin, holidays
from service.errors import Invalid


@bp.get("/organizations")
@authenticated
def list_organizations() -> ResponseReturnValue:
    return jsonify({"organizations": queries.organizations(http.ctx(), caller())})


@bp.post("/organizations")
@authenticated
def create_organization() -> ResponseReturnValue:
    """A national admin adds an organization and its first users. :raise 403: not a national admin."""
    return jsonify(admin.create_organization(http.ctx(), caller(), json_body())), 201


@bp.get("/holidays")
@authenticated
def list_holidays() -> ResponseReturnValue:
    year = request.args.get("year")
    if year is not None and not year.isdigit():
        raise Invalid("ปีไม่ถูกต้อง", [{"field": "year", "message": "ปีต้องเป็นตัวเลข (ค.ศ. หรือ พ.ศ.)"}])
    number = int(year) if year else None
    return jsonify({"holidays": holidays.listing(http.ctx(), number - 543 if number and number > 2400 else number)})


@bp.put("/holidays/<day>")
@authenticated
def keep_holiday(day: str) -> ResponseReturnValue:
    """:raise 403: not a national admin."""
    holidays.require_admin(caller())
    body = json_body()
    return jsonify(holidays.keep(http.ctx(), caller().username, holidays.parse_day(day, "day"),
                                 body.get("name") if isinstance(body, dict) else None))


@bp.delete("/holidays/<day>")
@authenticated
def remove_holiday(day: str) -> ResponseReturnValue:
    """:raise 403: not a national admin. :raise 404: no such holiday kept."""
    holidays.require_admin(caller())
    return jsonify(holidays.remove(http.ctx(), caller().username, holidays.parse_day(day, "day")))
