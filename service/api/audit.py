"""The auditors' JSON API: verify a plan, download its bundle and its events as CSV, the
deadline-compliance report. Read-only; for auditors of the plan's organization (or national
ones), the same rule as the auditors' pages (service/audit/access.py)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import audit, http, queries
from service.api.blueprint import authenticated, bp, caller
from service.audit import access
from service.auth import Actor
from service.commands.plans import FISCAL_YEARS
from service.errors import Invalid

FISCAL_YEAR_MESSAGE = f"ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง {FISCAL_YEARS.start} ถึง {FISCAL_YEARS[-1]} เช่น 2564"


@bp.get("/plans/<int:plan_id>/verify")
@authenticated
def verify(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization; 403: not its auditor."""
    return jsonify(audit.verify_plan(http.ctx(), plan_id, _auditor_of_plan(plan_id)).as_dict())


@bp.get("/plans/<int:plan_id>/export")
@authenticated
def export(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization; 403: not its auditor."""
    body = audit.export_bundle(http.ctx(), plan_id, _auditor_of_plan(plan_id))
    return http.attachment(body, "application/json", f"plan-{plan_id}.json")


@bp.get("/plans/<int:plan_id>/events.csv")
@authenticated
def events_csv(plan_id: int) -> ResponseReturnValue:
    """:raise 404: the plan does not exist or belongs to another organization; 403: not its auditor."""
    body = audit.events_csv(http.ctx(), plan_id, _auditor_of_plan(plan_id)).encode("utf-8")
    return http.attachment(body, "text/csv", f"plan-{plan_id}-events.csv")


@bp.get("/compliance")
@authenticated
def compliance() -> ResponseReturnValue:
    """:raise 404: no such organization among the caller's; 403: not its auditor; 422: organization or
    fiscal_year missing or not a fiscal year."""
    report = _compliance()
    return jsonify(report)


@bp.get("/compliance.csv")
@authenticated
def compliance_csv() -> ResponseReturnValue:
    """:raise 404: no such organization among the caller's; 403: not its auditor; 422: organization or
    fiscal_year missing or not a fiscal year."""
    report = _compliance()
    name = f"compliance-{report['organization']['code']}-{report['fiscal_year']}.csv"
    return http.attachment(audit.compliance_csv(report).encode("utf-8"), "text/csv", name)


def _compliance() -> dict:
    code = request.args.get("organization", "")
    year = http.integer(request.args.get("fiscal_year"), FISCAL_YEARS.start, FISCAL_YEARS[-1])
    errors = []
    if not code:
        errors.append({"field": "organization", "message": "กรุณาระบุรหัสองค์กรปกครองส่วนท้องถิ่น"})
    if year is None:
        errors.append({"field": "fiscal_year", "message": FISCAL_YEAR_MESSAGE})
    if errors or year is None:
        raise Invalid("ระบุองค์กรและปีงบประมาณของรายงานให้ครบถ้วน", errors)
    auditor = access.auditor_of(caller(), queries.organization_id(http.ctx(), code))
    return audit.compliance(http.ctx(), code, year, auditor)


def _auditor_of_plan(plan_id: int) -> Actor:
    """:raise 404: no such plan in the caller's organizations; 403: the caller does not audit it."""
    return access.auditor_of(caller(), queries.plan_organization(http.ctx(), plan_id))
