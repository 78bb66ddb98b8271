"""Log-in and log-out for the pages (Flask-Login session cookie naming a session the server keeps,
CSRF on every form), who the signed-in user is, and the user's own account page (their API
tokens, revoked from there, and logging out of every browser)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from service import http, queries
from service.auth import Actor
from service.commands import admin
from service.errors import Unauthorized
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
            user_id, key = admin.sign_in(ctx(), username, request.form.get("password", ""), client_address())
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


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    """บัญชีของฉัน: the user's API tokens (without their secret) and how to end them."""
    return render_template("account.html", tokens=admin.tokens(ctx(), actor()))


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
