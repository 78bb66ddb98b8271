"""The plan's documents as PDFs under /api/v1: the same bearer tokens and organization scope as the API."""

from __future__ import annotations

import json

from flask import Response
from flask.typing import ResponseReturnValue

from service import documents, http
from service.api.blueprint import authenticated, bp, caller
from service.commands import renders

#: Seconds a program is asked to wait before asking again for a document being made.
RETRY_AFTER = 3


@bp.get("/plans/<int:plan_id>/documents/<kind>.pdf")
@authenticated
def plan_document(plan_id: int, kind: str) -> ResponseReturnValue:
    """One of the plan's documents (plan, announcement, posting-certificate, record).

    :raise 404: no such plan in the caller's organizations, no such kind of document, or the
        document does not exist yet in the plan's state (the message says when it will).
    :raise 202: no copy of what the document now shows is made yet: its render is queued, ask
        again after Retry-After seconds (a problem document naming the job).
    :raise 503: the document's render failed for good; the plan's admins are told.
    """
    ctx = http.ctx()
    found = documents.document(ctx, caller(), plan_id, kind)
    if found.pending:
        return not_yet(plan_id, kind, found.filename)
    response = http.pdf(found.content, found.ascii_filename, found.sha256)
    response.headers["Content-Disposition"] = found.content_disposition  # the Thai name, and the ASCII one
    return response


def not_yet(plan_id: int, kind: str, filename: str) -> Response:
    """The answer when no copy of what the document ``kind`` (of the render cache) now shows is
    made yet: 202 naming its render job, queued unless it is; 503 when its render failed for good."""
    ctx = http.ctx()
    error = renders.failure(ctx, plan_id, kind)
    if error is not None:
        return http.problem(503, f"ระบบจัดทำเอกสาร {filename} ไม่สำเร็จ และได้แจ้งผู้ดูแลระบบแล้ว "
                                 "กรุณาลองใหม่ภายหลัง", heading="จัดทำเอกสารไม่สำเร็จ")
    job = renders.request_render(ctx, plan_id, kind)
    response = http.problem(202, f"ระบบกำลังจัดทำเอกสาร {filename} จากข้อมูลล่าสุดของแผน "
                                 f"กรุณาขอใหม่ใน {RETRY_AFTER} วินาที", heading="กำลังจัดทำเอกสาร")
    response.set_data(json.dumps({**response.get_json(), "job": job["id"], "state": job["state"]},
                                 ensure_ascii=False))
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response
