"""The Flask application factory: a thin skin over the service layer."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from service import web
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
    app.json.ensure_ascii = False
    app.extensions["phaen"] = context

    from service import api, oplog
    from service.api import audit as audit_api
    from service.api import designer as designer_api
    from service.api import documents as documents_api
    from service.api import health
    from service.web import designer as designer_web

    oplog.init_app(app)
    for blueprint in (health.bp, api.bp, documents_api.bp, audit_api.bp, designer_api.bp):
        app.register_blueprint(blueprint)
    web.init_app(app)  # the officials' and auditors' pages, sessions and CSRF
    app.register_blueprint(designer_web.bp)
    return app


def _instance_secret(settings: Settings) -> str:
    """A secret kept in the instance folder, so sessions survive a restart without configuration."""
    path = settings.instance_path / "secret_key"
    if not path.exists():
        settings.ensure_instance()
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
