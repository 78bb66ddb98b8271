"""A tracked plan's 6-month and annual reports under /api/v1, as PDF, XLSX or JSON: computed from
the plan's events up to the end of the cut-off day (service/tracking/reporting.py), so a report
asked for again later is the same file. A PDF is made by a render job: until it is, 202."""

from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue

from service import http
from service.api.blueprint import authenticated, bp, caller
from service.api.documents import not_yet
from service.commands import publication
from service.documents import names
from service.tracking import reporting


@bp.get("/plans/<int:plan_id>/reports/<kind>.<extension>")
@authenticated
def plan_report(plan_id: int, kind: str, extension: str) -> ResponseReturnValue:
    """The plan's ``six-months`` or ``annual`` report as pdf, xlsx or json; ``cutoff`` (YYYY-MM-DD) a
    day of the report's months, not after today (by default its last day, or today while they last).
    :raise 404: no such plan in the caller's organizations, kind or format; 409: the plan is not
        tracked (not announced, or an amendment); 422: a bad cut-off.
    :raise 202: no PDF of these figures is made yet: its render is queued (a problem document
        naming the job), ask again after Retry-After seconds; 503: its render failed for good."""
    found = reporting.report_file(http.ctx(), caller(), plan_id, kind, extension, cutoff())
    if found.pending:
        return not_yet(plan_id, found.pending, found.filename)
    return as_response(found)


def cutoff() -> str | None:
    value = request.args.get("cutoff")
    return value[:40] if value is not None else None


def as_response(found: reporting.ReportFile) -> Response:
    """The file inline (a PDF or JSON opens in the browser), a spreadsheet as a download."""
    response = Response(found.content, mimetype=found.mimetype)
    disposition = "attachment" if found.filename.endswith(".xlsx") else "inline"
    response.headers["Content-Disposition"] = names.content_disposition(found.filename, found.ascii_filename,
                                                                        disposition)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/plans/<int:plan_id>/reports/six-months/publish")
@authenticated
def publish_six_months(plan_id: int) -> ResponseReturnValue:
    """Publish the plan's 6-month report, as of 31 March, on the public board (ITA o10): 201 with the
    publication when recorded, 200 with the one already recorded when its figures have not changed.
    :raise 403: not a progress editor nor the organization's admin; 404: no such plan in the caller's
        organizations; 409: the plan is not tracked, or the cut-off day is not over yet."""
    published = publication.publish(http.ctx(), caller(), plan_id)
    return published.as_dict(), 201 if published.recorded else 200
