"""/healthz for load balancers: the database answers, its migrations are current, and it holds
readable data. The ordinary probe is cheap (the newest row of each main table, and the verdict of
the integrity check run at start); ``?deep=1`` checks the whole database again now (SQLite's
``PRAGMA quick_check``), for an operator or a slow monitor, not for a load balancer's every probe."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)

HEALTHY = {"database": "ok", "migrations": "current"}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with {"ok": true, "database": "ok", "migrations": "current"} (and "integrity": "ok" when
    deep), else 503 with what is wrong: "unreachable: ...", "damaged: <table or page>: ...", "pending"."""
    db = current_app.extensions["phaen"].db
    deep = request.args.get("deep") in ("1", "true")
    checks = dict(HEALTHY)
    try:
        checks["migrations"] = "unknown"
        current = db.migrations_current()  # its query also proves the database answers
        checks["migrations"] = "current" if current else "pending"
        if deep:
            checks["integrity"] = db.check_integrity()
        if db.integrity not in (None, "ok"):  # damage found at start or by a deep check stays reported
            checks["database"] = db.integrity
        elif current:  # the tables of an older schema would not read as this code's
            checks["database"] = db.read_main_tables()
    except Exception as err:  # any failure to reach or read the database is "unhealthy", never a 500
        checks["database"] = db.failure(err)
    ok = all(checks[name] == value for name, value in HEALTHY.items()) and checks.get("integrity", "ok") == "ok"
    return jsonify({"ok": ok, **checks}), 200 if ok else 503
