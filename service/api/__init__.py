"""The JSON API under /api/v1, described at /api/v1/openapi.json: one blueprint (blueprint.py),
one module of routes per area, and /healthz for load balancers. JSON only: pages are in web/."""

from service.api import admin, attachments, audit, designer, documents, incidents, plans, tasks  # noqa: F401 - each adds its routes
from service.api.blueprint import bp
from service.api.health import bp as health_bp

__all__ = ["bp", "health_bp"]
