"""Log-in and log-out for the pages (Flask-Login session cookie naming a session the server keeps,
CSRF on every form), who the signed-in user is, and the user's own account page (their API
tokens, revoked from there, a new password, their sign-in history, and logging out of every browser)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from service import http, queries
from service.auth import Actor
from service.commands import admin
from service.errors import Invalid, Unauthorized
from service.http import ctx
from service.web import keeping

bp = Blueprint("web_auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
login_manager.login_view = "web_auth.login"
login_manager.login_message = "กรุณาเข้าสู่ระบบก่อนใช้งาน"
login_manager.login_message_category = "info"


class WebUser(UserMixin):
    """The signed-in user: the service layer's Actor plus what the pages show."""

    def __init__(self, person: queries.SignedIn, session_key: str):
        self.actor: Actor = person.actor
        self.username = person.actor.username
        self.display_name = person.display_name
        self.roles_in_any = {role for _, role in self.actor.memberships}
        self.organization_name = person.organization_name
        # The cookie names the server's session record by a random key: logging out, a new
        # password or a deactivation ends the record, and the cookie, replayed, signs no one in.
        self.session_key = session_key
        self._id = f"{person.actor.user_id}:{session_key}"

    def get_id(self) -> str:
        return self._id


@login_manager.user_loader
def _load_user(session_id: str) -> WebUser | None:
    user_id, _, key = session_id.partition(":")
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 18 or not key:
        return None
    person = queries.signed_in(ctx(), int(user_id), key)
    return WebUser(person, key) if person is not None else None


def actor() -> Actor:
    """The signed-in user as the service layer's Actor."""
    return current_user.actor


def client_address() -> str:
    """The client's address: the peer's, or, behind ``trusted_proxies`` reverse proxies, the one
    the outermost of them saw (X-Forwarded-For entries further left can be forged by the client)."""
    hops = ctx().settings.trusted_proxies
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or ""


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    kept = request.form.get(keeping.KEPT, "") if request.method == "POST" else ""
    if current_user.is_authenticated:  # logged in again in another tab meanwhile: what was typed still returns
        return redirect((keeping.restore(actor(), kept) if kept else None) or url_for("inbox.index"))
    error, status, username = None, 200, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user_id, key = admin.sign_in(ctx(), username, request.form.get("password", ""), client_address(),
                                         request.headers.get("User-Agent", ""))
            person = queries.signed_in(ctx(), user_id, key)
            if person is None:  # deactivated between the two transactions
                raise Unauthorized(admin.WRONG_PASSWORD)
        except Unauthorized as err:  # TooManyAttempts too: 429
            error, status = err.message, err.status
        else:
            session.clear()  # nothing from before the log-in carries over
            login_user(WebUser(person, key))
            session.permanent = True
            # back to the form with what was typed before the log-in expired, if this user typed it
            return redirect(keeping.restore(actor(), kept) or _safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username=username, kept=kept,
                           notice=keeping.KEPT_NOTICE if kept else ""), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    admin.sign_out(ctx(), actor().user_id or 0, current_user.session_key)
    logout_user()
    session.clear()
    flash("ออกจากระบบแล้ว", "info")
    return redirect(url_for("web_auth.login"))


#: sign-in history rows a page of the account shows; older ones follow a link
HISTORY_PAGE = 20
#: (action, outcome) of a sign-in history row (commands/admin.py) -> what it says, and its badge
OUTCOMES = {
    ("sign_in", "ok"): ("เข้าสู่ระบบสำเร็จ", "met"),
    ("sign_in", "wrong_password"): ("เข้าสู่ระบบไม่สำเร็จ: รหัสผ่านไม่ถูกต้อง", "missed"),
    ("sign_in", "locked"): ("เข้าสู่ระบบไม่สำเร็จ: บัญชีถูกระงับชั่วคราว", "missed"),
    ("sign_in", "throttled"): ("เข้าสู่ระบบไม่สำเร็จ: เครื่องนั้นลองผิดหลายครั้งเกินไป", "missed"),
    ("sign_in", "deactivated"): ("เข้าสู่ระบบไม่สำเร็จ: บัญชีถูกปิดการใช้งาน", "missed"),
    ("sign_in", "no_password"): ("เข้าสู่ระบบไม่สำเร็จ: บัญชียังไม่มีรหัสผ่าน", "missed"),
    ("password", "ok"): ("เปลี่ยนรหัสผ่าน", "met"),
    ("password", "wrong_password"): ("เปลี่ยนรหัสผ่านไม่สำเร็จ: รหัสผ่านปัจจุบันไม่ถูกต้อง", "missed"),
    ("password", "locked"): ("เปลี่ยนรหัสผ่านไม่สำเร็จ: บัญชีถูกระงับชั่วคราว", "missed"),
}
#: (pattern in the User-Agent, the name people know it by), first match wins: Edge and Opera say Chrome too
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    """บัญชีของฉัน: the user's API tokens (without their secret) and how to end them, a new password,
    and their sign-in history a page at a time (``after``: the older page's cursor).
    :raise 422: a bad page cursor."""
    return _account_page()


@bp.post("/account/password")
@login_required
def change_password() -> ResponseReturnValue:
    """A new password, knowing the current one: every other browser and every API token of the user
    ends; this browser stays signed in, on a new session. :raise 422: the page again, the errors
    beside the fields (a wrong current password counts toward the lock-out)."""
    try:
        key = admin.change_password(ctx(), actor(), request.form.get("current_password", ""),
                                    request.form.get("new_password", ""), request.form.get("confirm_password", ""),
                                    client_address(), request.headers.get("User-Agent", ""))
    except Invalid as err:
        return _account_page(err), 422
    person = queries.signed_in(ctx(), actor().user_id or 0, key)
    logout_user()
    session.clear()  # the old session's key ended with the old password
    if person is None:  # deactivated meanwhile
        return redirect(url_for("web_auth.login"))
    login_user(WebUser(person, key))
    session.permanent = True
    flash("เปลี่ยนรหัสผ่านแล้ว ระบบออกจากระบบให้ทุกเครื่องยกเว้นเครื่องนี้ และยกเลิกโทเค็นสำหรับโปรแกรม (API) "
          "ทั้งหมดของท่านแล้ว หากยังต้องใช้โทเค็น ขอโทเค็นใหม่จากผู้ดูแลระบบ", "success")
    return redirect(url_for("web_auth.account"))


def _account_page(refused: Invalid | None = None) -> str:
    after = request.args.get("after") or None
    history = queries.sign_in_page(ctx(), actor(), HISTORY_PAGE, after)
    errors = {e["field"].lstrip("/"): e["message"] for e in refused.errors} if refused else {}
    return render_template("account.html", tokens=admin.tokens(ctx(), actor()), history=history["sign_ins"],
                           older=history["next"], newest_page=after is not None, outcomes=OUTCOMES,
                           refused=refused.message if refused else "", errors=errors,
                           min_length=admin.MIN_PASSWORD_LENGTH)


@bp.app_template_filter("browser_name")
def browser_name(user_agent: str) -> str:
    """"Chrome บน Windows" from a User-Agent: what a person recognises of their own browsers."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return " บน ".join(part for part in (browser, system) if part) or "ไม่ทราบ"


@bp.post("/account/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str) -> ResponseReturnValue:
    """:raise 404: not one of the user's tokens (or no such token)."""
    revoked = admin.revoke_token(ctx(), actor(), token_id)
    flash(f"ยกเลิกโทเค็นที่ลงท้ายด้วย {revoked['hint'] or '—'} (หมายเลข {revoked['id']}) แล้ว "
          f"โปรแกรมที่ใช้โทเค็นนี้จะเรียกใช้ระบบไม่ได้อีก", "info")
    return redirect(url_for("web_auth.account"))


@bp.post("/account/sessions/end")
@login_required
def end_sessions() -> ResponseReturnValue:
    """Log out of every browser, this one too (a lost or shared computer)."""
    admin.sign_out_everywhere(ctx(), actor())
    logout_user()
    session.clear()
    flash("ออกจากระบบทุกเครื่องแล้ว กรุณาเข้าสู่ระบบอีกครั้ง", "info")
    return redirect(url_for("web_auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (an open redirect): http.local_path's rule."""
    return http.local_path(target) or url_for("inbox.index")
