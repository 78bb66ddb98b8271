"""The inbox: open tasks of the user's roles in the user's organizations, and their plans."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import queries
from service.http import ctx
from service.web.auth import actor

bp = Blueprint("inbox", __name__)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    tasks = queries.inbox(ctx(), actor())
    plan_choices = sorted({(t["plan_id"], t["fiscal_year"]) for t in tasks}, key=lambda p: (-p[1], p[0]))
    step_choices = sorted({(t["name"], t["title"]) for t in tasks}, key=lambda s: s[1])
    plan_filter = request.args.get("plan", type=int)
    step_filter = request.args.get("step", "")
    newest_first = request.args.get("sort") == "due_desc"
    shown = [t for t in tasks if (plan_filter is None or t["plan_id"] == plan_filter)
             and (not step_filter or t["name"] == step_filter)]
    if newest_first:  # queries.inbox gives earliest due first, undated last
        shown = [t for t in reversed(shown) if t["due_at"]] + [t for t in shown if not t["due_at"]]
    return render_template(
        "inbox.html", tasks=shown, total=len(tasks), plan_choices=plan_choices, step_choices=step_choices,
        plan_filter=plan_filter, step_filter=step_filter, newest_first=newest_first,
        bases=queries.due_bases(ctx(), shown, ctx().clock.now()),
        holders=queries.display_names(ctx(), {t["claimed_by"] for t in shown}),
        roles=queries.role_titles(ctx()), plans=queries.plans(ctx(), actor()),
        can_start=queries.startable(ctx(), actor()) is not None,
    )
