"""The auditors' JSON API: verify a plan, download its bundle and its events as CSV, the
deadline-compliance report. Read-only; each answer covers only the caller's organizations."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import audit, http
from service.api.blueprint import authenticated, bp, caller
from service.errors import Invalid


@bp.get("/plans/<int:plan_id>/verify")
@authenticated
def verify(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization."""
    return jsonify(audit.verify_plan(http.ctx(), plan_id, caller()).as_dict())


@bp.get("/plans/<int:plan_id>/export")
@authenticated
def export(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization."""
    body = audit.export_bundle(http.ctx(), plan_id, caller())
    return http.attachment(body, "application/json", f"plan-{plan_id}.json")


@bp.get("/plans/<int:plan_id>/events.csv")
@authenticated
def events_csv(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization."""
    body = audit.events_csv(http.ctx(), plan_id, caller()).encode("utf-8")
    return http.attachment(body, "text/csv", f"plan-{plan_id}-events.csv")


@bp.get("/compliance")
@authenticated
def compliance() -> ResponseReturnValue:
    """:raise 404: no such organization among the caller's; 422: organization or fiscal_year missing."""
    report = _compliance()
    return jsonify(report)


@bp.get("/compliance.csv")
@authenticated
def compliance_csv() -> ResponseReturnValue:
    """:raise 404: no such organization among the caller's; 422: organization or fiscal_year missing."""
    report = _compliance()
    name = f"compliance-{report['organization']['code']}-{report['fiscal_year']}.csv"
    return http.attachment(audit.compliance_csv(report).encode("utf-8"), "text/csv", name)


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
    return audit.compliance(http.ctx(), code, int(year), caller())
