"""A tracked plan's 6-month and annual reports for the browser: the same files as the API's
(service/tracking/reporting.py), for a signed-in user of the plan's organization; a PDF not made
yet is queued and the page says so, as the plan's other documents do (web/documents.py)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http
from service.tracking import reporting
from service.web.auth import actor
from service.web.documents import not_yet

bp = Blueprint("reports", __name__)


@bp.get("/plans/<int:plan_id>/reports/<kind>.<extension>")
@login_required
def download(plan_id: int, kind: str, extension: str) -> ResponseReturnValue:
    """:raise 404: no such plan of the user's organizations, kind or format; 409: not tracked; 422: a bad cut-off.
    :raise 202: the PDF is being made (a page that asks again by itself); 503: its render failed for good."""
    cutoff = request.args.get("cutoff")
    found = reporting.report_file(http.ctx(), actor(), plan_id, kind, extension,
                                  cutoff[:40] if cutoff is not None else None)
    if found.pending:
        return not_yet(plan_id, found.pending, found.filename)
    return http.attachment(found.content, found.mimetype, found.filename)
