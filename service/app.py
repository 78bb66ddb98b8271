"""The Flask application factory: a thin skin over the service layer."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from service import api, http, oplog, web
from service.config import Settings
from service.context import Context


def create_app(settings: Settings | None = None, context: Context | None = None,
               test_config: dict[str, Any] | None = None) -> Flask:
    if context is None:
        context = Context.create(settings or Settings.from_env())
    settings = context.settings
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key or _instance_secret(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        **web.session_config(),
    )
    if test_config:
        app.config.update(test_config)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False  # Thai as Thai, not \u escapes
    app.extensions["phaen"] = context
    context.db.check_at_start()  # a damaged SQLite file answers 503 from the first /healthz

    oplog.init_app(app)
    http.init_app(app)  # one error policy, the security headers and bounded <int:> ids, before any route
    app.register_blueprint(api.health_bp)
    app.register_blueprint(api.bp)
    web.init_app(app, exempt=(api.bp,))  # the pages, sessions and CSRF; the API keeps its bearer tokens
    return app


def _instance_secret(settings: Settings) -> str:
    """A secret kept in the instance folder, so sessions survive a restart without configuration."""
    path = settings.instance_path / "secret_key"
    if not path.exists():
        settings.ensure_instance()
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
