"""The 6-month and annual progress reports of a plan as PDF, in the house style: the figures
service/tracking/reports.py computed are given, never computed here (this layer does not read
progress), so the same figures always make the same bytes."""

from __future__ import annotations

from typing import Any

from service.documents import charts
from service.documents.render import pdf_of
from service.thai import dates


def report_pdf(figures: dict[str, Any]) -> bytes:
    """The report ``figures`` describe (tracking.reporting.report: with the organization's name)."""
    months = dates.fiscal_months(figures["fiscal_year"])
    return pdf_of("progress_report.html", figures=figures, months=months, charts=charts.report_charts(figures, months),
                  draft=False, verify=None)


def filename(figures: dict[str, Any], extension: str) -> tuple[str, str]:
    """(the Thai name, the ASCII name) of a report's file, e.g. รายงานผลการดำเนินงานประจำปี-2564-….pdf."""
    title = "รายงานรอบหกเดือน" if figures["kind"] == "six-months" else "รายงานผลการดำเนินงานประจำปี"
    organization = figures["organization"]
    cutoff = figures["cutoff"].isoformat()
    name = f"{title}-{figures['fiscal_year']}-{organization['name']}-{cutoff}.{extension}"
    code = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in organization["code"])
    return name.replace(" ", "-"), f"progress-{figures['kind']}-{figures['fiscal_year']}-{code}-{cutoff}.{extension}"
