"""Log-in and log-out for the pages (Flask-Login session cookie, CSRF on every form), and who the
signed-in user is."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from service import queries
from service.auth import Actor
from service.commands import admin
from service.errors import Unauthorized
from service.http import ctx

bp = Blueprint("web_auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
login_manager.login_view = "web_auth.login"
login_manager.login_message = "กรุณาเข้าสู่ระบบก่อนใช้งาน"
login_manager.login_message_category = "info"


class WebUser(UserMixin):
    """The signed-in user: the service layer's Actor plus what the pages show."""

    def __init__(self, person: queries.SignedIn):
        self.actor: Actor = person.actor
        self.username = person.actor.username
        self.display_name = person.display_name
        self.roles_in_any = {role for _, role in self.actor.memberships}
        self.organization_name = person.organization_name
        # the session names the password too, so changing a password ends the other sessions
        self._id = f"{person.actor.user_id}:{person.password_mark}"

    def get_id(self) -> str:
        return self._id


@login_manager.user_loader
def _load_user(session_id: str) -> WebUser | None:
    user_id, _, mark = session_id.partition(":")
    if not user_id.isdigit():
        return None
    person = queries.signed_in(ctx(), int(user_id))
    return WebUser(person) if person is not None and person.password_mark == mark else None


def actor() -> Actor:
    """The signed-in user as the service layer's Actor."""
    return current_user.actor


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    error, username = None, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user_id = admin.authenticate(ctx(), username, request.form.get("password", ""))
            person = queries.signed_in(ctx(), user_id)
            if person is None:  # deactivated between the two reads
                raise Unauthorized(admin.WRONG_PASSWORD)
        except Unauthorized as err:
            error = err.message
        else:
            session.clear()  # nothing from before the log-in carries over
            login_user(WebUser(person))
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username=username), 401 if error else 200


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash("ออกจากระบบแล้ว", "info")
    return redirect(url_for("web_auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("inbox.index")
