"""The plan's year on screen: a plan's tracked projects with the planned and the actual months side
by side, filters, the figures as charts (server-drawn SVG, no JavaScript), and the form a unit
records one project's progress by (service/tracking, commands/progress.py)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http, queries
from service.commands import progress, progress_import
from service.documents import charts as drawing
from service.errors import Invalid
from service.http import attachment, ctx
from service.taskforms import fields, reading, writing
from service.thai.dates import fiscal_months
from service.tracking import reads
from service.web.auth import actor
from service.web.tasks import merged, schema_errors

bp = Blueprint("progress", __name__)

PAGE = 100  # projects on a screen; the next page follows a link


@bp.get("/plans/<int:plan_id>/progress")
@login_required
def index(plan_id: int) -> ResponseReturnValue:
    """:raise 404: no such plan of the user's organizations; 422: a bad filter or page."""
    filters = reads.Filters(*(request.args.get(name, "")[:300] for name in ("unit", "strategy", "status")))
    page = reads.progress(ctx(), actor(), plan_id, filters, PAGE, request.args.get("after") or None)
    months = fiscal_months(page["fiscal_year"])
    for project in page["projects"]:
        project["bar"] = drawing.project_bar(project["months"], project["progress"].get("months_worked") or [], months)
    return render_template("progress.html", page=page, filters=filters, months=months,
                           charts=charts(page["summary"], page["statuses"]))


@bp.route("/plans/<int:plan_id>/progress/<number>", methods=["GET", "POST"])
@login_required
def edit(plan_id: int, number: str) -> ResponseReturnValue:
    """A tracked project's progress form; saving records it. :raise 403: another unit's project;
    404: no such project; 409: not announced, withdrawn, or saved meanwhile."""
    found = reads.project(ctx(), actor(), plan_id, number)
    schema = found["form"]
    if request.method == "GET":
        return form_page(found, found["project"]["progress"])
    data, problems = fields.parse(schema, request.form)
    errors: list[dict[str, Any]] = merged(problems, schema_errors(schema, data)) if problems else []
    message = "ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ"
    if not errors:
        try:
            progress.record(ctx(), actor(), plan_id, number, data)
        except Invalid as err:
            errors, message = err.errors, err.message
        else:
            flash(f"บันทึกผลการดำเนินงานโครงการลำดับที่ {number} เรียบร้อยแล้ว", "success")
            return redirect(url_for("progress.index", plan_id=plan_id, unit=request.args.get("unit", "")))
    return form_page(found, data, errors, message), 422


def form_page(found: dict[str, Any], data: dict[str, Any], errors: list[dict[str, Any]] | None = None,
              message: str = "") -> str:
    """The progress form of ``found`` (reads.project) showing ``data``; its evidence too (web/attachments.py)."""
    return render_template("progress_edit.html", found=found, form=fields.build(found["form"], data, errors or []),
                           message=message if errors else "", months=fields.month_options(),
                           row_action=fields.ROW_ACTION, new_row=fields.NEW_ROW,
                           fiscal_months=fiscal_months(found["fiscal_year"]), updated_by=_who(found["project"]))


def _who(project: dict[str, Any]) -> str:
    """Who recorded the project's progress last, by the name people know them by."""
    username = project.get("updated_by")
    return queries.display_names(ctx(), {username}).get(username or "", username or "") if username else ""


# --- From a spreadsheet ---------------------------------------------------------------------
@bp.get("/plans/<int:plan_id>/progress/template.xlsx")
@login_required
def template(plan_id: int) -> ResponseReturnValue:
    """The sheet to fill: the plan's projects (a unit's own) with their progress so far.
    :raise 404: no such plan; 409: not announced yet."""
    content, fiscal_year = progress_import.template(ctx(), actor(), plan_id)
    return attachment(content, writing.XLSX_TYPE, f"ผลการดำเนินงาน-ปีงบประมาณ-{fiscal_year}.xlsx")


@bp.post("/plans/<int:plan_id>/progress/import")
@login_required
def upload(plan_id: int) -> ResponseReturnValue:
    """Read the file and show every row with its errors, or what it will record; nothing is
    recorded yet. :raise 404: no such plan; 409: not announced yet."""
    file = request.files.get("file")
    content, name = (file.stream.read(reading.MAX_BYTES + 1), file.filename) if file and file.filename else (b"", "")
    checked = progress_import.check(ctx(), actor(), plan_id, content, name)
    if not file or not file.filename:
        checked.preview.problems[:] = [reading.Problem("กรุณาเลือกไฟล์ Excel (.xlsx) หรือ CSV ที่จะนำเข้า")]
    return _preview(plan_id, checked), 200 if checked.ok else 422


@bp.post("/plans/<int:plan_id>/progress/import/apply")
@login_required
def apply(plan_id: int) -> ResponseReturnValue:
    """Record the checked rows of the preview, all or none.
    :raise 404: no such plan; 409: not announced yet, or saved meanwhile; 422: a row no longer right."""
    try:
        entries = http.parse_json(request.form.get("entries", ""))
        result = progress_import.apply(ctx(), actor(), plan_id, entries)
    except Invalid as err:
        return render_template("progress_import.html", plan_id=plan_id, checked=None, refusal=err,
                               statuses={}), 422
    flash(f"บันทึกผลการดำเนินงานจากไฟล์ {request.form.get('filename', '')[:200]} แล้ว "
          f"{len(result['changed']):,} โครงการ", "success")
    return redirect(url_for("progress.index", plan_id=plan_id))


def _preview(plan_id: int, checked: progress_import.Checked) -> str:
    page = reads.progress(ctx(), actor(), plan_id, limit=1)
    return render_template("progress_import.html", plan_id=plan_id, checked=checked, refusal=None,
                           statuses=page["statuses"], fiscal_year=page["fiscal_year"],
                           entries=json.dumps(checked.entries(), ensure_ascii=False) if checked.ok else "")


# --- Charts (documents/charts.py draws them, for the dashboard and the reports too) ----------
def charts(summary: dict[str, Any], statuses: dict[str, str]) -> list[drawing.Chart]:
    """Money by strategy (budget, contracted, disbursed) and projects by status."""
    return [drawing.money_bars("progress-money", "งบประมาณและการเบิกจ่ายแยกตามยุทธศาสตร์",
                               [drawing.Amounts(s["strategy"], s["budget"], s["contracted"], s["disbursed"])
                                for s in summary["by_strategy"]]),
            drawing.status_bars("progress-status", "จำนวนโครงการตามสถานะ",
                                [(key, statuses.get(key, key), count) for key, count in summary["by_status"].items()])]
