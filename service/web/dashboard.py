"""The plan's dashboard on screen: the figures of tracking/dashboard.py as charts (server-drawn SVG
by documents/charts.py, no JavaScript), each with its figures as a table for screen readers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service.documents import charts
from service.http import ctx
from service.tracking import dashboard
from service.web.auth import actor

bp = Blueprint("dashboard", __name__)


@bp.get("/plans/<int:plan_id>/dashboard")
@login_required
def show(plan_id: int) -> ResponseReturnValue:
    """:raise 404: no such plan of the user's organizations; 409: not announced; 422: no such unit."""
    unit = request.args.get("unit")
    figures = dashboard.dashboard(ctx(), actor(), plan_id, unit[:300] if unit is not None else None)
    return render_template("dashboard.html", figures=figures, charts=drawn(figures))


def drawn(figures: dict[str, Any]) -> list[charts.Chart]:
    """The dashboard's charts, in the order the page shows them."""
    def money(rows: list[dict[str, Any]]) -> list[charts.Amounts]:
        return [charts.Amounts(row["name"], row["budget"], row["contracted"], row["disbursed"]) for row in rows]
    months = figures["months"]
    return [
        charts.money_bars("by-strategy", "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามยุทธศาสตร์",
                          money(figures["by_strategy"])),
        charts.money_bars("by-program", "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามแผนงาน",
                          [charts.Amounts(f"แผนงาน{a.label}", a.budget, a.contracted, a.disbursed)
                           for a in money(figures["by_program"])]),
        charts.status_bars("by-status", "จำนวนโครงการตามสถานะ",
                           [(row["status"], row["title"], row["count"]) for row in figures["by_status"]]),
        charts.months_columns("by-month", "จำนวนโครงการตามแผนและที่ดำเนินการจริง รายเดือน",
                              [(m["label"], m["planned"], m["worked"]) for m in months]),
        charts.cumulative_line("disbursed-by-month", "การเบิกจ่ายสะสมรายเดือน เทียบกับงบประมาณ",
                               [(m["label"], m["disbursed"]) for m in months], figures["totals"]["budget"]),
    ]
