"""The JSON API's one blueprint under /api/v1: every area module adds its routes to it. A route
authenticates with a bearer token, calls one service function and returns what it gives; errors
are answered by service/http.py's policy as problem documents."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, g, request

from service import http
from service.auth import Actor
from service.errors import Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI = Path(__file__).with_name("openapi.json")


def authenticated(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = http.bearer_token()
        actor = http.bearer_actor(token) if token else None
        if actor is None:
            raise Unauthorized("กรุณาส่ง Authorization: Bearer <token> ที่ถูกต้อง")
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper


def caller() -> Actor:
    """The actor the request's token stands for (set by ``authenticated``)."""
    return g.actor


def json_body() -> Any:
    """The request's JSON body (null when empty), as every later step can take it.
    :raise Invalid: see http.parse_json (not UTF-8 JSON, too deep, too long a number, a lone surrogate)."""
    return http.parse_json(request.get_data(cache=False) or b"null")


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(OPENAPI.read_bytes(), mimetype="application/json")
