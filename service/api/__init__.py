"""The JSON API under /api/v1, described at /api/v1/openapi.json: one blueprint (blueprint.py),
one module of routes per area, and /healthz for load balancers. JSON only: pages are in web/."""

from service.api import (  # noqa: F401 - each adds its routes
    admin,
    attachments,
    audit,
    committees,
    dashboard,
    designer,
    documents,
    incidents,
    oversight,
    plans,
    reports,
    tasks,
)
from service.api.blueprint import bp
from service.api.health import bp as health_bp

__all__ = ["bp", "health_bp"]
