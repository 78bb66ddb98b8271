"""The oversight dashboard through the API: the same page of organizations, counts and cursor as
/oversight (service/oversight.py), for the district and provincial offices' own programs."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http, oversight
from service.api.blueprint import authenticated, bp, caller
from service.commands import administration


@bp.get("/oversight")
@authenticated
def dashboard() -> ResponseReturnValue:
    """:raise 403: the caller oversees no area; 422: a filter, ``limit`` or cursor it does not offer."""
    limit = http.query_integer("limit", 1, oversight.MAX_PAGE, f"limit ต้องเป็นจำนวนเต็ม 1–{oversight.MAX_PAGE}")
    filters = oversight.filters_from(request.args, http.ctx().clock.now(), administration.TYPES)
    return jsonify(oversight.dashboard(http.ctx(), caller(), filters, limit or oversight.PAGE,
                                       request.args.get("after") or None))
