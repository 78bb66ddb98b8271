"""Log-in and log-out for the pages (Flask-Login session cookie), and who the signed-in user is."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from service.auth import Actor, actor_of
from service.commands import admin
from service.errors import Unauthorized
from service.http import ctx
from service.models import User
from service.web import login_manager

bp = Blueprint("web_auth", __name__)
login_manager.login_view = "web_auth.login"
login_manager.login_message = "กรุณาเข้าสู่ระบบก่อนใช้งาน"
login_manager.login_message_category = "info"


class WebUser(UserMixin):
    """The signed-in user: the service layer's Actor plus what the pages show."""

    def __init__(self, user: User):
        self.actor: Actor = actor_of(user)
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.roles_in_any = {role for _, role in self.actor.memberships}
        self.organization_name = user.organization.name if user.organization else ""
        # the session names the password too, so changing a password ends the other sessions
        self._id = f"{user.id}:{_password_mark(user)}"

    def get_id(self) -> str:
        return self._id


def _password_mark(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


@login_manager.user_loader
def _load_user(session_id: str) -> WebUser | None:
    user_id, _, mark = session_id.partition(":")
    if not user_id.isdigit():
        return None
    with ctx().db.read() as db:
        user = db.get(User, int(user_id))
        if user is None or not user.is_active or _password_mark(user) != mark:
            return None
        return WebUser(user)


def actor() -> Actor:
    """The signed-in user as the service layer's Actor."""
    return current_user.actor


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    error, username = None, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user_id = admin.authenticate(ctx(), username, request.form.get("password", ""))
        except Unauthorized as err:
            error = err.message
        else:
            with ctx().db.read() as db:
                user = WebUser(db.get(User, user_id))
            session.clear()  # nothing from before the log-in carries over
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username=username), 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
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
