"""/healthz for load balancers: the database answers and its migrations are current."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    db = current_app.extensions["phaen"].db
    checks = {"database": "ok", "migrations": "current"}
    try:
        if not db.migrations_current():  # its query also proves the database answers
            checks["migrations"] = "pending"
    except Exception as err:  # any failure to reach the database is "unhealthy", never a 500
        checks["database"] = f"unreachable: {type(err).__name__}"
        checks["migrations"] = "unknown"
    ok = checks == {"database": "ok", "migrations": "current"}
    return jsonify({"ok": ok, **checks}), 200 if ok else 503
