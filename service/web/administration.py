"""The administration pages: organizations (national admins create, rename, deactivate and onboard
them from the national list), each organization's page with its plans, users and settings, a
user's page (roles, deactivation, unlock, a one-time password-reset link), the admin log, and
the page the reset link opens. Every page calls commands/administration.py, as the API does."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http, queries
from service.auth import AUDITOR, SYSTEM_ROLES
from service.commands import administration
from service.errors import Forbidden, Invalid
from service.http import ctx
from service.web.auth import actor

bp = Blueprint("administration", __name__)


def _field(name: str) -> str:
    """A form field as typed, without NUL (which no column can hold)."""
    return request.form.get(name, "").replace("\x00", "")


@bp.get("/admin")
@login_required
def index() -> ResponseReturnValue:
    """A national admin: the organizations; an organization's admin: theirs. :raise 403: no admin."""
    own = administration.administered(actor())
    if own is not None and len(own) == 1:
        found = administration.organizations_page(ctx(), actor(), limit=1)["organizations"]
        return redirect(url_for("administration.organization", code=found[0]["code"]))
    if own is not None and not own:
        if {AUDITOR} & {role for _, role in actor().memberships}:
            return redirect(url_for("administration.log"))
        raise Forbidden("เฉพาะผู้ดูแลระบบเท่านั้นที่ใช้หน้าดูแลระบบได้")
    return redirect(url_for("administration.organizations"))


@bp.get("/admin/organizations")
@login_required
def organizations() -> ResponseReturnValue:
    search = request.args.get("q", "")[:200]
    page = administration.organizations_page(ctx(), actor(), after=request.args.get("after") or None, search=search)
    return render_template("admin/organizations.html", page=page, search=search,
                           national=administration.is_national_admin(actor()), types=administration.TYPES,
                           national_roles=SYSTEM_ROLES, titles=queries.role_titles(ctx()))


@bp.post("/admin/organizations")
@login_required
def create_organization() -> ResponseReturnValue:
    """:raise 403: not a national admin; 409: the code is taken; 422: a field (the form again)."""
    fields = {name: _field(name) for name in ("code", "name", "type", "province", "district")}
    try:
        created = administration.create_organization(ctx(), actor(), fields)
    except Invalid as err:
        flash(f"{err.message}: {'; '.join(e['message'] for e in err.errors)}", "error")
        page = administration.organizations_page(ctx(), actor())
        return render_template("admin/organizations.html", page=page, search="", national=True,
                               types=administration.TYPES, typed=fields), 422
    flash(f"เพิ่มองค์กร {created['name']} แล้ว", "success")
    return redirect(url_for("administration.organization", code=created["code"]))


@bp.get("/admin/organizations/<code>")
@login_required
def organization(code: str) -> ResponseReturnValue:
    """:raise 404: not an organization the user sees; 403: not its admin."""
    me = actor()
    shown = administration.organization(ctx(), me, code)
    plans = queries.plans_of(ctx(), shown["id"], me, limit=20)
    return render_template("admin/organization.html", org=shown, plans=plans["plans"], more_plans=plans["next"],
                           roles=administration.assignable_roles(ctx(), me, code), titles=queries.role_titles(ctx()),
                           national=administration.is_national_admin(me), types=administration.TYPES)


@bp.post("/admin/organizations/<code>/rename")
@login_required
def rename(code: str) -> ResponseReturnValue:
    """:raise 403: not a national admin; 404:; 422: the name."""
    administration.rename_organization(ctx(), actor(), code, {"name": _field("name")})
    flash("เปลี่ยนชื่อองค์กรแล้ว", "success")
    return redirect(url_for("administration.organization", code=code))


@bp.post("/admin/organizations/<code>/active")
@login_required
def set_organization_active(code: str) -> ResponseReturnValue:
    """:raise 403: not a national admin; 404:"""
    active = _field("active") == "1"
    administration.set_organization_active(ctx(), actor(), code, active)
    flash("เปิดใช้องค์กรอีกครั้งแล้ว ผู้ใช้ขององค์กรยังถูกระงับอยู่จนกว่าจะเปิดใช้ทีละคน" if active else
          "ระงับองค์กรแล้ว ผู้ใช้ทุกคนขององค์กรถูกระงับและออกจากระบบทันที", "success")
    return redirect(url_for("administration.organization", code=code))


@bp.post("/admin/organizations/<code>/users")
@login_required
def add_user(code: str) -> ResponseReturnValue:
    """:raise 403: not its admin, or a role they may not give; 404:; 409: the name is taken; 422:"""
    body = {"username": _field("username"), "display_name": _field("display_name"),
            "roles": request.form.getlist("roles")}
    added = administration.add_user(ctx(), actor(), code, body)
    flash(f"เพิ่มผู้ใช้ {added['username']} แล้ว กรุณาออกลิงก์ตั้งรหัสผ่านเพื่อมอบให้ผู้ใช้", "success")
    return redirect(url_for("administration.user", username=added["username"]))


@bp.post("/admin/users")
@login_required
def add_unaffiliated_user() -> ResponseReturnValue:
    """A user of no organization: national roles, an oversight area, or both.
    :raise 403: not a national admin; 409: the name is taken; 422: neither a role nor an area, an unknown area"""
    body = {"username": _field("username"), "display_name": _field("display_name"),
            "roles": request.form.getlist("roles"), "province": _field("province"), "district": _field("district")}
    added = administration.add_unaffiliated_user(ctx(), actor(), body)
    flash(f"เพิ่มผู้ใช้ {added['username']} แล้ว กรุณาออกลิงก์ตั้งรหัสผ่านเพื่อมอบให้ผู้ใช้", "success")
    return redirect(url_for("administration.user", username=added["username"]))


@bp.get("/admin/organizations/onboarding")
@login_required
def onboarding() -> ResponseReturnValue:
    """:raise 403: not a national admin."""
    if not administration.is_national_admin(actor()):
        raise Forbidden("เฉพาะผู้ดูแลระบบระดับประเทศเท่านั้นที่นำเข้าองค์กรได้")
    return render_template("admin/onboarding.html", checked=None, errors=[], limits=_limits())


@bp.post("/admin/organizations/onboarding")
@login_required
def onboarding_check() -> ResponseReturnValue:
    """Check the uploaded file and show what it would add (writes nothing), or, with ``apply`` and
    the file's text carried by the preview, add them all. :raise 403: not a national admin; 422:"""
    if not administration.is_national_admin(actor()):
        raise Forbidden("เฉพาะผู้ดูแลระบบระดับประเทศเท่านั้นที่นำเข้าองค์กรได้")
    upload = request.files.get("file")
    data = upload.read(administration.MAX_CSV_BYTES + 1) if upload else _field("text").encode("utf-8", "replace")
    try:
        if _field("apply") == "1":
            done = administration.onboard(ctx(), actor(), data)
            flash(f"นำเข้าองค์กร {done['count']:,} แห่งแล้ว", "success")
            return redirect(url_for("administration.organizations"))
        checked = administration.check_onboarding(ctx(), actor(), data)
    except Invalid as err:
        return render_template("admin/onboarding.html", checked=None, errors=err.errors or [{"message": err.message}],
                               message=err.message, limits=_limits()), 422
    return render_template("admin/onboarding.html", checked=checked, text=data.decode("utf-8-sig"), errors=[],
                           types=administration.TYPES, limits=_limits())


def _limits() -> dict[str, Any]:
    return {"mb": administration.MAX_CSV_BYTES // (1024 * 1024), "rows": administration.MAX_CSV_ROWS,
            "types": list(administration.TYPES.values())}


@bp.get("/admin/users/<username>")
@login_required
def user(username: str) -> ResponseReturnValue:
    """:raise 404: no such user, or one of an organization the user does not see; 403: not their admin."""
    me = actor()
    shown = administration.user(ctx(), me, username)
    code = shown["organization"]
    national = administration.is_national_admin(me)
    held = {(r["organization"], r["role"]) for r in shown["roles"]}
    return render_template("admin/user.html", person=shown, held=held, national=national,
                           roles=administration.assignable_roles(ctx(), me, code) if code else [],
                           national_roles=SYSTEM_ROLES if national else (), titles=queries.role_titles(ctx()))


@bp.post("/admin/users/<username>/roles")
@login_required
def set_roles(username: str) -> ResponseReturnValue:
    """``organization`` empty: the national roles. :raise 403, 404, 422:"""
    code = _field("organization") or None
    administration.set_roles(ctx(), actor(), username, code, {"roles": request.form.getlist("roles")})
    flash("บันทึกบทบาทแล้ว", "success")
    return redirect(url_for("administration.user", username=username))


@bp.post("/admin/users/<username>/active")
@login_required
def set_user_active(username: str) -> ResponseReturnValue:
    """:raise 403, 404; 409: the organization is deactivated."""
    active = _field("active") == "1"
    administration.set_user_active(ctx(), actor(), username, active)
    flash("เปิดใช้บัญชีแล้ว" if active else "ระงับบัญชีแล้ว ผู้ใช้ออกจากระบบทุกเครื่องและโทเค็นทั้งหมดใช้ไม่ได้ทันที",
          "success")
    return redirect(url_for("administration.user", username=username))


@bp.post("/admin/users/<username>/unlock")
@login_required
def unlock(username: str) -> ResponseReturnValue:
    administration.unlock(ctx(), actor(), username)
    flash("ปลดล็อกบัญชีแล้ว ผู้ใช้เข้าสู่ระบบได้ทันที", "success")
    return redirect(url_for("administration.user", username=username))


@bp.post("/admin/users/<username>/reset-link")
@login_required
def issue_reset_link(username: str) -> ResponseReturnValue:
    """The link, shown this once on a page to print (not kept: a reload does not show it again)."""
    issued = administration.issue_reset_link(ctx(), actor(), username)
    url = url_for("administration.reset_password", token=issued["token"], _external=True)
    response = make_response(render_template("admin/reset_link.html", issued=issued, url=url))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/log")
@login_required
def log() -> ResponseReturnValue:
    """:raise 403: not an admin or auditor; 404: an organization the user does not see."""
    after = http.query_integer("after", 1, http.MAX_INTEGER, "after ต้องเป็นค่าจากลิงก์หน้าถัดไป")
    code = request.args.get("organization") or None
    page = administration.log_page(ctx(), actor(), after=after, code=code)
    return render_template("admin/log.html", page=page, code=code, titles=queries.role_titles(ctx()))


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Set a password by a one-time link (no log-in: that is what it is for; CSRF still).
    :raise 404: a used, replaced, expired or unknown link."""
    person = administration.reset_link(ctx(), token)
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = "รหัสผ่านทั้งสองช่องไม่ตรงกัน"
        else:
            try:
                administration.use_reset_link(ctx(), token, password)
            except Invalid as err:
                error = err.message
            else:
                flash("ตั้งรหัสผ่านแล้ว กรุณาเข้าสู่ระบบด้วยรหัสผ่านใหม่", "success")
                return redirect(url_for("web_auth.login"))
    response = make_response(render_template("admin/reset_password.html", person=person, error=error),
                             422 if error else 200)
    response.headers["Cache-Control"] = "no-store"
    return response

