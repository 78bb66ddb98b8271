"""The plan's documents at /plans/<id>/<document>.pdf, for a signed-in user (the session cookie)
or a program (an API bearer token), of the plan's organization or an auditor of it."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from service import documents, http
from service.commands import renders
from service.errors import NotFound, Unauthorized
from service.web.auth import login_manager

bp = Blueprint("plan_documents", __name__)

#: Seconds a client is asked to wait before asking again for a document being made.
RETRY_AFTER = 3
PENDING_TITLE = "กำลังจัดทำเอกสาร"
FAILED_TITLE = "จัดทำเอกสารไม่สำเร็จ"

#: The address's name of each document -> its kind in service.documents.
NAMES = {"operational-plan": "plan", "announcement": "announcement", "posting-certificate": "posting-certificate",
         "record": "record", "evaluation-report": "evaluation"}


@bp.get("/plans/<int:plan_id>/<name>.pdf")
def download(plan_id: int, name: str) -> ResponseReturnValue:
    """One of the plan's documents as PDF (a frozen one as stored, its SHA-256 as ETag), for a
    signed-in user or a program with a bearer token (answered as the API answers it).

    :raise 401: neither signed in nor a valid bearer token (a browser is sent to the log-in page).
    :raise 404: no such plan in the user's organizations, no such document, or the document does
        not exist yet in the plan's state (the message says when it will).
    """
    token = http.bearer_token()
    if token is not None:
        actor = http.bearer_actor(token)
        if actor is None:
            raise Unauthorized("กรุณาส่ง Authorization: Bearer <token> ที่ถูกต้อง")
    elif current_user.is_authenticated:
        actor = current_user.actor
    else:
        return login_manager.unauthorized()
    if name not in NAMES:
        raise NotFound(f"ไม่มีเอกสารชื่อ {name}; เอกสารที่มี: {', '.join(f'{n}.pdf' for n in NAMES)}")
    found = documents.document(http.ctx(), actor, plan_id, NAMES[name])
    if found.pending:
        return not_yet(plan_id, NAMES[name], found.filename)
    response = http.pdf(found.content, found.ascii_filename, found.sha256)
    response.headers["Content-Disposition"] = found.content_disposition  # the Thai name, and the ASCII one
    return response


def not_yet(plan_id: int, kind: str, filename: str) -> Response:
    """The answer to a download that found no fresh copy: at once, never after a render. The
    document's render is queued (if it is not already), and the client is asked to come back: a
    page that reloads itself, or for a program 202 with Retry-After and a problem document. A
    document whose render failed for good says so (503), queues nothing, and is retried by an
    operator (`phaen jobs retry`) or by the plan's next change."""
    ctx = http.ctx()
    error = renders.failure(ctx, plan_id, kind)
    if error is not None:
        message = f"ระบบจัดทำเอกสาร {filename} ไม่สำเร็จ และได้แจ้งผู้ดูแลระบบแล้ว กรุณาลองใหม่ภายหลัง"
        if http.wants_problem():
            return http.problem(503, message, heading=FAILED_TITLE)
        page = render_template("document_pending.html", heading=FAILED_TITLE, message=message, failed=True,
                               plan_id=plan_id, again=request.full_path.rstrip("?"), retry_after=RETRY_AFTER)
        return Response(page, status=503, mimetype="text/html")
    job = renders.request_render(ctx, plan_id, kind)
    message = f"ระบบกำลังจัดทำเอกสาร {filename} จากข้อมูลล่าสุดของแผน กรุณารอสักครู่แล้วเปิดอีกครั้ง"
    if http.wants_problem():
        response = http.problem(202, message, heading=PENDING_TITLE)
        response.set_data(json.dumps({**response.get_json(), "job": job["id"], "state": job["state"]},
                                     ensure_ascii=False))
    else:
        page = render_template("document_pending.html", heading=PENDING_TITLE, message=message, failed=False,
                               plan_id=plan_id, again=request.full_path.rstrip("?"), retry_after=RETRY_AFTER)
        response = Response(page, status=202, mimetype="text/html")
        response.headers["Refresh"] = str(RETRY_AFTER)  # the page asks again by itself, no script needed
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def plan_documents(plan_id: int) -> list[dict]:
    """The plan's documents for its page: each with its address, or the sentence saying when it will exist."""
    address = {kind: name for name, kind in NAMES.items()}
    ctx, actor = http.ctx(), current_user.actor
    items = documents.available(ctx, actor, plan_id)
    # a render that failed for good is shown to the plan's admins (the others see the link, and
    # the download tells them it failed)
    failed = renders.failures(ctx, plan_id) if renders.reported_to(ctx, actor, plan_id) else {}
    return [{**item, "url": url_for("plan_documents.download", plan_id=plan_id, name=address[item["kind"]]),
             "render_failed": failed.get(item["kind"])} for item in items]

