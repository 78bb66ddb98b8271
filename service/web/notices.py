"""The bell's pages: a person's notifications, newest first, marked read when they say so, and
how they want to be told (their e-mail address, the events they turned off) (commands/notices.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from service import http
from service.commands import notices
from service.errors import Invalid
from service.http import ctx
from service.web.auth import actor

bp = Blueprint("notices", __name__)
PAGE = 50


def unread_count() -> int:
    """For the bell in every page's header (0 for no one signed in)."""
    return notices.unread(ctx(), actor()) if current_user.is_authenticated else 0


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    """A page of 50; ``before``: the id the page before ended on (anything else: the first page)."""
    page = notices.listing(ctx(), actor(), PAGE, http.integer(request.args.get("before")))
    return render_template("notifications.html", page=page)


@bp.post("/notifications/read")
@login_required
def read() -> ResponseReturnValue:
    """Mark one notification read (``id``), or all of them; back to where the person was."""
    one = request.form.get("id")
    if one:
        number = http.integer(one)
        notices.mark_read(ctx(), actor(), [number] if number is not None else [])
    else:
        notices.mark_read(ctx(), actor())
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("notices.index"))


@bp.get("/account/notifications")
@login_required
def settings() -> ResponseReturnValue:
    return render_template("notice_settings.html", kept=notices.settings_of(ctx(), actor()), errors={})


@bp.post("/account/notifications")
@login_required
def keep() -> ResponseReturnValue:
    """:raise 422: a malformed e-mail address (nothing kept)."""
    wanted = set(request.form.getlist("on"))
    kept = notices.settings_of(ctx(), actor())
    muted = [e["event"] for e in kept["events"] if e["event"] not in wanted]
    try:
        notices.keep_settings(ctx(), actor(), request.form.get("email", ""), muted)
    except Invalid as err:
        shown = {**kept, "email": request.form.get("email", "")}
        return render_template("notice_settings.html", kept=shown,
                               errors={e["field"]: e["message"] for e in err.errors}), 422
    flash("บันทึกการตั้งค่าการแจ้งเตือนแล้ว", "success")
    return redirect(url_for("notices.settings"))
