"""The auditors' JSON API: verify a plan, download its bundle and its events as CSV, the
deadline-compliance report. Read-only; each answer covers only the caller's organizations."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from service import audit
from service.api import _http_error, _service_error, authenticated, ctx
from service.errors import Invalid, ServiceError

bp = Blueprint("audit_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ServiceError, _service_error)  # the same problem+json answers as the API's
bp.register_error_handler(HTTPException, _http_error)


@bp.get("/plans/<int:plan_id>/verify")
@authenticated
def verify(plan_id: int):
    """:raise 404: the plan does not exist or belongs to another organization."""
    return jsonify(audit.verify_plan(ctx(), plan_id, g.actor).as_dict())


@bp.get("/plans/<int:plan_id>/export")
@authenticated
def export(plan_id: int):
    """:raise 404: the plan does not exist or belongs to another organization."""
    return _download(audit.export_bundle(ctx(), plan_id, g.actor), "application/json", f"plan-{plan_id}.json")


@bp.get("/plans/<int:plan_id>/events.csv")
@authenticated
def events_csv(plan_id: int):
    """:raise 404: the plan does not exist or belongs to another organization."""
    return _download(audit.events_csv(ctx(), plan_id, g.actor).encode("utf-8"), "text/csv", f"plan-{plan_id}-events.csv")


@bp.get("/compliance")
@authenticated
def compliance():
    """:raise 404: no such organization among the caller's; 422: organization or fiscal_year missing."""
    report = _compliance()
    return jsonify(report)


@bp.get("/compliance.csv")
@authenticated
def compliance_csv():
    """:raise 404: no such organization among the caller's; 422: organization or fiscal_year missing."""
    report = _compliance()
    name = f"compliance-{report['organization']['code']}-{report['fiscal_year']}.csv"
    return _download(audit.compliance_csv(report).encode("utf-8"), "text/csv", name)


def _compliance() -> dict:
    code = request.args.get("organization", "")
    year = request.args.get("fiscal_year", "")
    errors = []
    if not code:
        errors.append({"field": "organization", "message": "กรุณาระบุรหัสองค์กรปกครองส่วนท้องถิ่น"})
    if not year.isdigit():
        errors.append({"field": "fiscal_year", "message": "ปีงบประมาณต้องเป็นปี พ.ศ. เช่น 2564"})
    if errors:
        raise Invalid("ระบุองค์กรและปีงบประมาณของรายงานให้ครบถ้วน", errors)
    return audit.compliance(ctx(), code, int(year), g.actor)


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
