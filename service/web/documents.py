"""The plan's documents at /plans/<id>/<document>.pdf, for a signed-in user (the session cookie)
or a program (an API bearer token), of the plan's organization or an auditor of it."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from service import documents, http
from service.errors import NotFound, Unauthorized
from service.web.auth import login_manager

bp = Blueprint("plan_documents", __name__)

#: The address's name of each document -> its kind in service.documents.
NAMES = {"operational-plan": "plan", "announcement": "announcement", "posting-certificate": "posting-certificate",
         "record": "record"}


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
    return http.pdf(found.content, f"plan-{plan_id}-{name}.pdf", found.sha256)


@bp.app_template_global()
def plan_documents(plan_id: int) -> list[dict]:
    """The plan's documents for its page: each with its address, or the sentence saying when it will exist."""
    address = {kind: name for name, kind in NAMES.items()}
    return [{**item, "url": url_for("plan_documents.download", plan_id=plan_id, name=address[item["kind"]])}
            for item in documents.available(http.ctx(), current_user.actor, plan_id)]
