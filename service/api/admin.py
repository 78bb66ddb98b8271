"""Administration through the API: organizations, their people and roles, the admin log, the
official holidays national admins keep, and the caller's own API tokens."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import admin, administration, holidays, strategies
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


# --- Administration: organizations, their people and roles, the admin log (commands/administration.py)
@bp.patch("/organizations/<code>")
@authenticated
def rename_organization(code: str) -> ResponseReturnValue:
    """{name}. :raise 403: not a national admin; 404: no such organization; 422: the name."""
    return jsonify(administration.rename_organization(http.ctx(), caller(), code, json_body()))


@bp.post("/organizations/<code>/deactivate")
@authenticated
def deactivate_organization(code: str) -> ResponseReturnValue:
    """Its users are deactivated with it. :raise 403: not a national admin; 404: no such organization."""
    return jsonify(administration.set_organization_active(http.ctx(), caller(), code, False))


@bp.post("/organizations/<code>/activate")
@authenticated
def activate_organization(code: str) -> ResponseReturnValue:
    """:raise 403: not a national admin; 404: no such organization."""
    return jsonify(administration.set_organization_active(http.ctx(), caller(), code, True))


@bp.post("/organizations/onboarding")
@authenticated
def onboard_organizations() -> ResponseReturnValue:
    """A CSV of the national list (code,name,type,province,district), all or none; ``?preview=1``
    checks it and writes nothing. :raise 403: not a national admin; 422: every fault, by line."""
    data = request.get_data(cache=False)
    if request.args.get("preview") == "1":
        checked = administration.check_onboarding(http.ctx(), caller(), data)
        return jsonify({"count": len(checked.rows), "sha256": checked.digest, "organizations": checked.rows})
    return jsonify(administration.onboard(http.ctx(), caller(), data)), 201


@bp.get("/organizations/<code>/users")
@authenticated
def organization_users(code: str) -> ResponseReturnValue:
    """The organization and the users whose home it is. :raise 403: not its admin; 404: not one the caller sees."""
    return jsonify(administration.organization(http.ctx(), caller(), code))


@bp.post("/organizations/<code>/users")
@authenticated
def add_organization_user(code: str) -> ResponseReturnValue:
    """{username, display_name, roles}. :raise 403: not its admin, or a role the caller may not give;
    404: not an organization the caller sees; 409: the username is taken; 422:"""
    return jsonify(administration.add_user(http.ctx(), caller(), code, json_body())), 201


@bp.post("/users")
@authenticated
def add_unaffiliated_user() -> ResponseReturnValue:
    """{username, display_name, roles, province, district}: a user of no organization (national roles,
    an oversight area, or both). :raise 403: not a national admin; 409: the username is taken; 422:"""
    return jsonify(administration.add_unaffiliated_user(http.ctx(), caller(), json_body())), 201


@bp.get("/users/<username>")
@authenticated
def show_user(username: str) -> ResponseReturnValue:
    """:raise 403: not their admin; 404: no such user, or one of an organization the caller does not see."""
    return jsonify(administration.user(http.ctx(), caller(), username))


@bp.put("/users/<username>/roles")
@authenticated
def set_user_roles(username: str) -> ResponseReturnValue:
    """{organization: code or null (national roles), roles: [...]}, exactly. :raise 403, 404, 422:"""
    body = json_body()
    code = body.get("organization") if isinstance(body, dict) else None
    if code is not None and not isinstance(code, str):
        raise Invalid("organization ต้องเป็นรหัสองค์กรหรือ null", [{"field": "/organization", "message": "รหัสองค์กร"}])
    return jsonify(administration.set_roles(http.ctx(), caller(), username, code, body))


@bp.post("/users/<username>/deactivate")
@authenticated
def deactivate_user(username: str) -> ResponseReturnValue:
    """Their sessions and tokens end at once. :raise 403, 404: as for the user."""
    return jsonify(administration.set_user_active(http.ctx(), caller(), username, False))


@bp.post("/users/<username>/activate")
@authenticated
def activate_user(username: str) -> ResponseReturnValue:
    """:raise 403, 404: as for the user; 409: their organization is deactivated."""
    return jsonify(administration.set_user_active(http.ctx(), caller(), username, True))


@bp.post("/users/<username>/unlock")
@authenticated
def unlock_user(username: str) -> ResponseReturnValue:
    """:raise 403, 404: as for the user."""
    return jsonify(administration.unlock(http.ctx(), caller(), username))


@bp.post("/users/<username>/reset-link")
@authenticated
def issue_reset_link(username: str) -> ResponseReturnValue:
    """A one-time link to set a password, valid 24 hours, shown this once. :raise 403, 404; 409: deactivated."""
    issued = administration.issue_reset_link(http.ctx(), caller(), username)
    issued["url"] = url_for("administration.reset_password", token=issued["token"], _external=True)
    return jsonify(issued), 201


@bp.get("/admin-log")
@authenticated
def admin_log() -> ResponseReturnValue:
    """Newest first; ``after``: the ``next`` of the page before; ``organization``: one organization's.
    :raise 403: not an admin or auditor; 404: an organization the caller does not see."""
    limit = http.query_integer("limit", 1, 200, "limit ต้องเป็นจำนวนเต็ม 1–200") or administration.LOG_PAGE
    after = http.query_integer("after", 1, http.MAX_INTEGER, "after ต้องเป็นค่า next ของหน้าก่อนหน้า")
    return jsonify(administration.log_page(http.ctx(), caller(), limit, after, request.args.get("organization")))
