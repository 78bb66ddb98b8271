"""The bell's pages: a person's notifications, newest first, marked read when they say so; how they
want to be told (their e-mail address, their LINE link, immediate or a daily digest, the events they
turned off); the administrators' list of deliveries; and the webhook by which LINE tells us who sent
a link code (commands/notices.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from service import http
from service.commands import notices
from service.errors import Invalid, Unauthorized
from service.http import ctx
from service.web.auth import actor, csrf

bp = Blueprint("notices", __name__)
PAGE = 50
#: LINE's webhook bodies are a few KB (events come in small batches); anything far larger is not LINE's
WEBHOOK_MAX_BYTES = 64 * 1024
HOURS = range(24)


def unread_count() -> int:
    """For the bell in every page's header (0 for no one signed in)."""
    return notices.unread(ctx(), actor()) if current_user.is_authenticated else 0


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    """A page of 50; ``before``: the id the page before ended on (anything else: the first page)."""
    page = notices.listing(ctx(), actor(), PAGE, http.integer(request.args.get("before")))
    return render_template("notifications.html", page=page, first_page=request.args.get("before") is not None)


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


def _settings_page(kept: dict[str, Any], errors: dict[str, str] | None = None, code: dict[str, Any] | None = None,
                   status: int = 200) -> ResponseReturnValue:
    return render_template("notice_settings.html", kept=kept, errors=errors or {}, code=code, hours=HOURS), status


@bp.get("/account/notifications")
@login_required
def settings() -> ResponseReturnValue:
    return _settings_page(notices.settings_of(ctx(), actor()))


@bp.post("/account/notifications")
@login_required
def keep() -> ResponseReturnValue:
    """:raise 422: a malformed e-mail address or digest hour (nothing kept)."""
    wanted = set(request.form.getlist("on"))
    kept = notices.settings_of(ctx(), actor())
    muted = [e["event"] for e in kept["events"] if e["event"] not in wanted]
    digest = request.form.get("timing") == "digest"
    hour = http.integer(request.form.get("digest_hour"), 0, 23) if digest else None
    try:
        if digest and hour is None:
            raise Invalid("เวลาส่งสรุปประจำวันไม่ถูกต้อง",
                          [{"field": "/digest_hour", "message": "เลือกเวลาส่งสรุประหว่าง 0 ถึง 23 นาฬิกา"}])
        notices.keep_settings(ctx(), actor(), request.form.get("email", ""), muted, hour)
    except Invalid as err:
        shown = {**kept, "email": request.form.get("email", "")}
        return _settings_page(shown, {e["field"]: e["message"] for e in err.errors}, status=422)
    flash("บันทึกการตั้งค่าการแจ้งเตือนแล้ว", "success")
    return redirect(url_for("notices.settings"))


@bp.post("/account/notifications/line-code")
@login_required
def line_code() -> ResponseReturnValue:
    """A new one-time LINE link code, shown once on the settings page (the one before stops working)."""
    code = notices.new_line_code(ctx(), actor())
    return _settings_page(notices.settings_of(ctx(), actor()), code=code)


@bp.post("/account/notifications/line-unlink")
@login_required
def line_unlink() -> ResponseReturnValue:
    notices.unlink_line(ctx(), actor())
    flash("ยกเลิกการเชื่อมบัญชี LINE แล้ว", "success")
    return redirect(url_for("notices.settings"))


@bp.post("/line/webhook")
@csrf.exempt  # LINE signs its calls (X-Line-Signature) instead: no session, no CSRF token
def line_webhook() -> ResponseReturnValue:
    """LINE's Messaging API webhook: a signed batch of events; a link code sent by a person links
    their LINE account. Always the same answer to a signed call, whether or not a code matched.
    :raise 401: a missing or wrong signature (nothing read); 413: a body far larger than LINE's;
    400: a signed body that is not LINE's JSON."""
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        return {"message": "ข้อมูลใหญ่เกินกำหนด"}, 413
    body = request.stream.read(WEBHOOK_MAX_BYTES + 1)
    if len(body) > WEBHOOK_MAX_BYTES:
        return {"message": "ข้อมูลใหญ่เกินกำหนด"}, 413
    try:
        notices.line_webhook(ctx(), body, request.headers.get("X-Line-Signature"))
    except Unauthorized as err:
        return {"message": err.message}, 401
    except Invalid as err:
        return {"message": err.message}, 400
    return {}, 200


@bp.get("/admin/deliveries")
@login_required
def deliveries() -> ResponseReturnValue:
    """Deliveries of the organizations one administers (a national administrator: all), newest
    first, 50 a page; ``state``: queued, sent or failed. :raise 403: no administrator."""
    state = request.args.get("state") or None
    if state not in (None, notices.QUEUED, notices.SENT, notices.FAILED):
        state = None
    page = notices.deliveries_page(ctx(), actor(), state, PAGE, http.integer(request.args.get("before")))
    return render_template("deliveries.html", page=page, state=state,
                           first_page=request.args.get("before") is not None)


@bp.post("/admin/deliveries/<int:delivery_id>/retry")
@login_required
def retry_delivery(delivery_id: int) -> ResponseReturnValue:
    """:raise 403: no administrator; 404: no such delivery of theirs; 409: it has not failed."""
    notices.retry_delivery(ctx(), actor(), delivery_id)
    flash(f"สั่งส่งการแจ้งเตือนเลขที่ {delivery_id} ใหม่แล้ว", "success")
    return redirect(url_for("notices.deliveries", state=notices.FAILED))
