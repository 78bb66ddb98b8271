"""The plan's documents as PDFs under /api/v1: the same bearer tokens and organization scope as the API."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from service import documents, http
from service.api.blueprint import authenticated, bp, caller


@bp.get("/plans/<int:plan_id>/documents/<kind>.pdf")
@authenticated
def plan_document(plan_id: int, kind: str) -> ResponseReturnValue:
    """One of the plan's documents (plan, announcement, posting-certificate, record).

    :raise 404: no such plan in the caller's organizations, no such kind of document, or the
        document does not exist yet in the plan's state (the message says when it will).
    """
    found = documents.document(http.ctx(), caller(), plan_id, kind)
    return http.pdf(found.content, f"plan-{plan_id}-{kind}.pdf", found.sha256)
