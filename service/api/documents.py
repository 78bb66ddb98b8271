"""The plan's documents as PDFs under /api/v1: the same bearer tokens and organization scope as the API."""

from __future__ import annotations

from flask import Blueprint, Response, g

from service import documents
from service.api import authenticated, ctx, problem
from service.errors import ServiceError

bp = Blueprint("documents_api", __name__, url_prefix="/api/v1")


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    return problem(err.status, err.title, err.message)


@bp.get("/plans/<int:plan_id>/documents/<kind>.pdf")
@authenticated
def plan_document(plan_id: int, kind: str):
    """One of the plan's documents (plan, announcement, posting-certificate, record).

    :raise 404: no such plan in the caller's organizations, no such kind of document, or the
        document does not exist yet in the plan's state (the message says when it will).
    """
    return pdf_response(documents.document(ctx(), g.actor, plan_id, kind), f"plan-{plan_id}-{kind}.pdf")


def pdf_response(document: documents.Document, filename: str) -> Response:
    """The PDF inline; a frozen document carries its SHA-256 as its ETag, the one in the event log."""
    response = Response(document.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if document.sha256:
        response.set_etag(document.sha256)
    return response
