"""Administration through the API: organizations, the official holidays national admins keep, and
the caller's own API tokens."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import admin, holidays, strategies


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
    number = http.query_integer("year", 2000, 2200 + 543, "ปีต้องเป็นปี ค.ศ. 2000–2200 หรือ พ.ศ. 2543–2743")
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


@bp.get("/tokens")
@authenticated
def list_tokens() -> ResponseReturnValue:
    """The caller's own tokens, without their secret."""
    return jsonify({"tokens": admin.tokens(http.ctx(), caller())})


@bp.delete("/tokens/<token_id>")
@authenticated
def revoke_token(token_id: str) -> ResponseReturnValue:
    """Revoke one of the caller's tokens (a national admin: anyone's). :raise 404: no such token,
    not a token id, or another user's."""
    return jsonify(admin.revoke_token(http.ctx(), caller(), token_id))


@bp.get("/organizations/<code>/strategies")
@authenticated
def list_strategies(code: str) -> ResponseReturnValue:
    """The organization's development strategies in order. :raise 404: not an organization the caller sees."""
    return jsonify(strategies.listing(http.ctx(), caller(), code))


@bp.put("/organizations/<code>/strategies")
@authenticated
def keep_strategies(code: str) -> ResponseReturnValue:
    """Replace the list (recorded plans keep theirs). :raise 403: not its admin nor a national admin;
    422: not a list of distinct, non-empty names."""
    return jsonify(strategies.keep(http.ctx(), caller(), code, json_body()))
