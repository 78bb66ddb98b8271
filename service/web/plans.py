"""A plan's page: status, its diagram with the open steps marked, open tasks and who holds them,
deadlines with their basis, history; and the page that starts a plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import eventlog, labels, queries
from service.bundles import diagram
from service.commands import plans
from service.errors import Conflict, Forbidden, Invalid
from service.http import ctx, integer
from service.taskforms import fields
from service.thai import dates
from service.thai.legaldays import BANGKOK
from service.web.auth import actor
from service.web.tasks import merged, schema_errors

bp = Blueprint("plans", __name__)

PAGE = 50  # plans or events on a screen; the next page follows a link
DIAGRAM_SCALE = 0.7  # screen pixels per diagram unit; wider diagrams scroll sideways
_drawings: dict[str, diagram.Diagram | None] = {}  # by process version digest: versions never change


@bp.get("/plans")
@login_required
def index() -> ResponseReturnValue:
    """The plans of the user's organizations, newest fiscal year first, a page at a time.
    :raise 422: a bad page cursor."""
    after = request.args.get("after") or None
    page = queries.plans(ctx(), actor(), PAGE, after)
    return render_template("plans.html", plans=page["plans"], next_page=page["next"], first_page=after is not None,
                           status=labels.PLAN_STATUS, can_start=queries.startable(ctx(), actor()) is not None)


@bp.get("/plans/<int:plan_id>")
@login_required
def show(plan_id: int) -> ResponseReturnValue:
    """The plan, and its history newest first, a page at a time (``after``: the page's cursor).
    :raise 404: no such plan in the user's organizations. :raise 422: a bad page cursor."""
    after = request.args.get("after") or None
    page = queries.plan_page(ctx(), actor(), plan_id, PAGE, after)
    plan, events, steps = page["plan"], page["events"], page["steps"]
    return render_template(
        "plan.html", plan=plan, history=page["history"]["events"], history_next=page["history"]["next"],
        history_after=after, status=labels.PLAN_STATUS,
        kinds=labels.EVENT_KINDS, steps=steps, roles=page["roles"],
        drawing=_drawing(plan_id), scale=DIAGRAM_SCALE, open_steps={t["title"] for t in plan["tasks"]},
        done_steps={steps.get(e["task"], e["task"]) for e in events if e["kind"] == eventlog.TASK_COMPLETED},
        names=page["names"], is_admin=page["is_admin"], bases=page["bases"], members=page["members"],
        offers=_offers(plan, events), tracked=any(e["kind"] == eventlog.PROJECTS_LISTED for e in events),
    )


def _offers(plan: dict[str, Any], events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Other procedures (e.g. an amendment) the user may start from an announced plan of their own
    organization: announced = its documents were frozen, or the plan is complete."""
    if plan["status"] != "completed" and not any(e["kind"] == eventlog.DOCUMENT_FROZEN for e in events):
        return []
    own = queries.startable(ctx(), actor(), plan["process"]["name"])
    if own is not None and own.organization_code != plan["organization"]["code"]:
        return []
    return [(name, title) for name, title in queries.other_startable(ctx(), actor())
            if name != plan["process"]["name"]]


def _drawing(plan_id: int) -> diagram.Diagram | None:
    """The flowchart of the plan's process version (as in the documents), or None if it has none."""
    digest, files = queries.process_files(ctx(), plan_id)
    if digest not in _drawings:
        try:
            _drawings[digest] = diagram.render(files)
        except diagram.NoDiagram:
            _drawings[digest] = None
    return _drawings[digest]


# --- Starting a plan -------------------------------------------------------------------
@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """The start form of the default process, for the user's own organization.
    :raise 403: the user holds no role that may start a plan there."""
    process = (request.values.get("process") or "").strip() or None
    start = queries.startable(ctx(), actor(), process)
    if start is None:
        raise Forbidden("ท่านไม่มีสิทธิ์เริ่มจัดทำแผนขององค์กร (เฉพาะบทบาทที่กระบวนงานกำหนดให้เริ่มแผนได้)")
    data: dict[str, Any] = {}
    asked_year = integer((request.args.get("fiscal_year") or "").strip())
    year_text, errors, message = str(asked_year if asked_year in plans.FISCAL_YEARS else _coming_fiscal_year()), [], ""
    if request.method == "POST":
        year_text = request.form.get("fiscal_year", "").strip()
        data, problems = fields.parse(start.schema, request.form)
        # Thai digits are digits here; any other script's (or a superscript ², which isdigit() accepts)
        # is not a year. Its range is the command's to check, with the message the API gives.
        year = integer(year_text.translate(fields.THAI_DIGITS))
        if year is None:
            problems.append({"field": "/fiscal_year", "message": "กรุณากรอกปีงบประมาณเป็นปี พ.ศ. เช่น 2564"})
        errors = merged(problems, schema_errors(start.schema, data))
        if not errors:
            try:
                body = {"organization": start.organization_code, "fiscal_year": year, "process": start.process,
                        **data}
                plan_id = plans.start_plan(ctx(), actor(), body)
            except Invalid as err:
                errors, message = err.errors, err.message
            except Conflict as err:
                errors = [{"field": "/fiscal_year", "message": err.message}]
            else:
                flash(f"เริ่ม{start.process_title} ปีงบประมาณ พ.ศ. {year} แล้ว", "success")
                return redirect(url_for("plans.show", plan_id=plan_id))
    year_errors = [e["message"] for e in errors if e["field"] == "/fiscal_year"]
    form = fields.build(start.schema, data, [e for e in errors if e["field"] not in ("/fiscal_year", "/organization")])
    return render_template("plan_new.html", start=start, form=form, year=year_text, year_errors=year_errors,
                           message=message, months=fields.month_options(), row_action=fields.ROW_ACTION,
                           new_row=fields.NEW_ROW), 422 if errors else 200


def _coming_fiscal_year() -> int:
    """The fiscal year (B.E.) a plan is usually prepared for now: the one starting within 3 months."""
    return dates.fiscal_year_of((ctx().clock.now().astimezone(BANGKOK) + timedelta(days=90)).date())
