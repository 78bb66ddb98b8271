"""A tracked plan's 6-month and annual reports for the browser: the same files as the API's
(service/tracking/reporting.py), for a signed-in user of the plan's organization; a PDF not made
yet is queued and the page says so, as the plan's other documents do (web/documents.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http
from service.commands import publication
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


@bp.post("/plans/<int:plan_id>/reports/six-months/publish")
@login_required
def publish(plan_id: int) -> ResponseReturnValue:
    """Publish the 6-month report on the public board (ITA o10).
    :raise 403: not a progress editor nor the admin; 404: no such plan; 409: not tracked, or the cut-off
        day not over yet."""
    published = publication.publish(http.ctx(), actor(), plan_id)
    if not published.recorded:
        flash("รายงานรอบ ๖ เดือนฉบับนี้เผยแพร่ไว้แล้ว ตัวเลขไม่เปลี่ยนแปลงจึงไม่ได้เผยแพร่ซ้ำ", "info")
    else:
        flash("เผยแพร่รายงานรอบ ๖ เดือนบนป้ายประกาศสาธารณะแล้ว" +
              ("" if published.stored else " ระบบกำลังจัดทำเอกสาร PDF ฉบับที่เผยแพร่"), "success")
    return redirect(url_for("progress.index", plan_id=plan_id))
