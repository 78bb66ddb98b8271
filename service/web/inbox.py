"""The inbox: open tasks of the user's roles in the user's organizations, and their plans."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import queries
from service.http import ctx
from service.web.auth import actor

bp = Blueprint("inbox", __name__)
PAGE = 50  # rows an official scrolls through on an old PC before asking for more
PLANS = 10  # the organization's latest plans beside the tasks


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The user's open tasks, a page at a time (filters and order in the query, so a page costs
    the same whatever the number of tasks). :raise 422: a bad page cursor."""
    plan_filter = request.args.get("plan", type=int)
    step_filter = request.args.get("step", "")
    newest_first = request.args.get("sort") == "due_desc"
    page = queries.inbox_page(ctx(), actor(), PAGE, request.args.get("after") or None, plan_filter,
                              step_filter or None, newest_first)
    shown, choices = page["tasks"], queries.inbox_choices(ctx(), actor())
    plans = queries.plans(ctx(), actor(), PLANS)  # the latest; all of them are on the plans page
    following = url_for("inbox.index", after=page["next"], plan=plan_filter, step=step_filter or None,
                        sort="due_desc" if newest_first else None) if page["next"] else None
    return render_template(
        "inbox.html", tasks=shown, total=choices["total"], plan_choices=choices["plans"],
        step_choices=choices["steps"], plan_filter=plan_filter, step_filter=step_filter, newest_first=newest_first,
        next_page=following, first_page=bool(request.args.get("after")),
        bases=queries.due_bases(shown),
        holders=queries.display_names(ctx(), {t["claimed_by"] for t in shown}),
        returned=queries.returned_steps(ctx(), shown),  # steps a deciding step sent back: "ส่งกลับแก้ไข"
        roles=queries.role_titles(ctx()), plans=plans["plans"], more_plans=plans["next"] is not None,
        can_start=queries.startable(ctx(), actor()) is not None,
    )
