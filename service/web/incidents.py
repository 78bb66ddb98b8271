"""The administrators' page of incidents: plans the timer sweep could not move on (their error,
how many times in a row, when it tries again), and the notice a plan's page shows them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from service import queries
from service.http import ctx, page_window
from service.web.auth import actor

bp = Blueprint("incidents_web", __name__)

PAGE = 50  # a screenful; the next page follows a link
#: What went wrong, by the incident's kind (service/commands/incidents.py).
KINDS = {"timer_failed": "ระบบเดินกำหนดเวลาของแผนต่อไม่ได้ (สคริปต์หรือตัวจับเวลาของกระบวนงานขัดข้อง)"}


@bp.get("/incidents")
@login_required
def index() -> ResponseReturnValue:
    """Open incidents (``?all=1``: resolved ones too), newest first.
    :raise 403: the user is no administrator. :raise 422: a bad ``limit`` or ``after``."""
    limit, after = page_window(PAGE, PAGE)
    every = request.args.get("all") in ("1", "true")
    page = queries.incident_page(ctx(), actor(), not every, limit, after)
    return render_template("incidents.html", incidents=page["incidents"], next=page["next"], every=every,
                           kinds=KINDS, first_page=after is not None)


@bp.app_template_global()
def open_incident(plan_id: int) -> dict[str, Any] | None:
    """The plan's open incident, for an administrator of its organization (None for anyone else)."""
    return queries.plan_incident(ctx(), current_user.actor, plan_id)
