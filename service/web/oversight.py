"""The oversight dashboard for the district and provincial offices (and national admins and
auditors): every organization of the area with its plan of a fiscal year, where it stands and its
deadlines, sortable, filterable, paged, and as CSV; and the national admin's form that grants an area.
Every page calls service/oversight.py (the dashboard) or commands/administration.py (the grant)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http, oversight
from service.commands import administration
from service.http import ctx
from service.web.auth import actor

bp = Blueprint("oversight_web", __name__)


def _filters() -> oversight.Filters:
    return oversight.filters_from(request.args, ctx().clock.now(), administration.TYPES)


@bp.get("/oversight")
@login_required
def index() -> ResponseReturnValue:
    """:raise 403: the user oversees no area; 422: a filter or page cursor it does not offer."""
    filters = _filters()
    after = request.args.get("after") or None
    page = oversight.dashboard(ctx(), actor(), filters, oversight.PAGE, after)
    keys = {d["key"]: d["name"] for row in page["organizations"] for d in row["deadlines"]}  # columns, in order met
    asked = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template("oversight.html", page=page, filters=filters, asked=asked, after=after,
                           deadline_columns=keys, categories=oversight.CATEGORIES, sorts=oversight.SORTS,
                           types=administration.TYPES, days_text=oversight.days_text)


@bp.get("/oversight.csv")
@login_required
def csv() -> ResponseReturnValue:
    """Every organization the dashboard's filters select, in its order. :raise 403, 422: as the page."""
    filters = _filters()
    body = oversight.dashboard_csv(ctx(), actor(), filters, administration.TYPES).encode("utf-8")
    return http.attachment(body, "text/csv", f"oversight-{filters.fiscal_year}.csv")


@bp.post("/admin/users/<username>/oversight")
@login_required
def grant(username: str) -> ResponseReturnValue:
    """A national admin sets (or, with an empty province, ends) the area the user oversees.
    :raise 403: not a national admin; 404: no such user; 422: a province or district no organization is in."""
    administration.set_oversight(ctx(), actor(), username, request.form.get("province", "").replace("\x00", ""),
                                 request.form.get("district", "").replace("\x00", ""))
    flash("บันทึกพื้นที่กำกับดูแลแล้ว", "success")
    return redirect(url_for("administration.user", username=username))
