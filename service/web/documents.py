"""The plan's documents at /plans/<id>/<document>.pdf, for a signed-in user (the session cookie)
or a program (an API bearer token), of the plan's organization or an auditor of it."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_login import current_user

from service import documents
from service.api import problem
from service.api.documents import pdf_response
from service.auth import Actor, actor_for_token
from service.errors import NotFound, ServiceError
from service.web import login_manager
from service.web.auth import ctx

bp = Blueprint("plan_documents", __name__)

#: The address's name of each document -> its kind in service.documents.
NAMES = {"operational-plan": "plan", "announcement": "announcement", "posting-certificate": "posting-certificate",
         "record": "record"}


@bp.get("/plans/<int:plan_id>/<name>.pdf")
def download(plan_id: int, name: str):
    """One of the plan's documents as PDF (a frozen one as stored, its SHA-256 as ETag).

    :raise 401: neither signed in nor a valid bearer token (a browser is sent to the log-in page).
    :raise 404: no such plan in the user's organizations, no such document, or the document does
        not exist yet in the plan's state (the message says when it will).
    """
    token = _bearer_token()
    try:
        actor = _token_actor(token) if token else current_user.actor if current_user.is_authenticated else None
        if actor is None:
            if token is None:
                return login_manager.unauthorized()
            return problem(401, "ต้องเข้าสู่ระบบ", "กรุณาส่ง Authorization: Bearer <token> ที่ถูกต้อง")
        if name not in NAMES:
            raise NotFound(f"ไม่มีเอกสารชื่อ {name}; เอกสารที่มี: {', '.join(f'{n}.pdf' for n in NAMES)}")
        return pdf_response(documents.document(ctx(), actor, plan_id, NAMES[name]), f"plan-{plan_id}-{name}.pdf")
    except ServiceError as err:
        if token:  # a program: the API's problem JSON
            return problem(err.status, err.title, err.message)
        raise  # a person: the Thai error page


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _token_actor(token: str) -> Actor | None:
    with ctx().db.read() as session:
        return actor_for_token(session, token)


@bp.app_template_global()
def plan_documents(plan_id: int) -> list[dict]:
    """The plan's documents for its page: each with its address, or the sentence saying when it will exist."""
    address = {kind: name for name, kind in NAMES.items()}
    return [{**item, "url": url_for("plan_documents.download", plan_id=plan_id, name=address[item["kind"]])}
            for item in documents.available(ctx(), current_user.actor, plan_id)]
