"""Incidents through the API: the plans the timer sweep could not move on, for administrators
(national: every organization; an organization's: their own), newest first, a page at a time."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller

#: A page: enough for a screen, small enough that no caller makes the list expensive.
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@bp.get("/incidents")
@authenticated
def list_incidents() -> ResponseReturnValue:
    """Open incidents (``all=1``: resolved ones too). :raise 403: not an administrator.
    :raise 422: a bad ``limit`` or ``after``."""
    limit, after = http.page_window(DEFAULT_LIMIT, MAX_LIMIT)
    open_only = request.args.get("all") not in ("1", "true")
    return jsonify(queries.incident_page(http.ctx(), caller(), open_only, limit, after))
