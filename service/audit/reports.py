"""What auditors take away: a plan's events as CSV, and the deadline-compliance report of an
organization's fiscal year (JSON and CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from service import labels
from service.audit.bundle import EVENT_FIELDS, event_dict
from service.audit.verify import load_record
from service.auth import Actor
from service.context import Context
from service.deadlines import verdict
from service.errors import NotFound
from service.models import Organization, Plan
from service.thai import dates, legaldays

COMPLIANCE_FIELDS = ("plan_id", "process", "process_version", "plan_status", "key", "name", "kind", "basis",
                     "due_on", "original_due_on", "extended_to", "actual_on", "state", "overdue", "days_late",
                     "reason")


def events_csv(ctx: Context, plan_id: int, actor: Actor | None = None) -> str:
    """The plan's events for spreadsheets (UTF-8 with BOM so Excel reads Thai). :raise NotFound:"""
    with ctx.db.read() as session:
        record = load_record(session, plan_id, actor)
        rows = [{**event_dict(e), "at_bangkok": legaldays.day_of(e.at).isoformat(),
                 "data": json.dumps(e.data, ensure_ascii=False, sort_keys=True)} for e in record.events]
    return _csv(("seq", "at", "at_bangkok", *EVENT_FIELDS[2:]), rows)


def _csv(columns: Iterable[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --- Deadline compliance -----------------------------------------------------------------
def compliance(ctx: Context, organization_code: str, fiscal_year: int, actor: Actor | None = None) -> dict[str, Any]:
    """Every deadline of every plan of an organization and fiscal year. :raise NotFound:"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        org = session.scalars(select(Organization).where(Organization.code == organization_code)).first()
        if org is None or (actor is not None and not actor.can_see(org.id)):
            raise NotFound(f"ไม่พบองค์กรปกครองส่วนท้องถิ่นรหัส {organization_code}")
        plans = session.scalars(select(Plan).options(defer(Plan.state_json))
                                .where(Plan.organization_id == org.id, Plan.fiscal_year == fiscal_year)
                                .order_by(Plan.id)).all()
        rows = []
        for plan in plans:
            version = ctx.models.published(session, plan.process_version_id)
            for deadline in plan.deadlines or []:
                rows.append({"plan_id": plan.id, "process": version.name, "process_version": version.version,
                             "plan_status": plan.status, **verdict(deadline, now)})
        summary = {state: sum(1 for r in rows if r["state"] == state) for state in ("met", "missed", "pending")}
        return {"organization": {"code": org.code, "name": org.name, "province": org.province},
                "fiscal_year": fiscal_year, "as_of": now.isoformat(), "summary": summary, "deadlines": rows}


#: The compliance report for people: Thai headings, dates in พ.ศ., the verdict in words. Programs
#: read the API's CSV (the field names above, ISO dates).
COMPLIANCE_HEADINGS = {
    "plan_id": "แผนเลขที่", "name": "กำหนดเวลา", "basis": "ฐานทางกฎหมาย", "due_on": "วันครบกำหนด",
    "original_due_on": "กำหนดเดิมก่อนขยาย", "actual_on": "วันที่ดำเนินการ", "label": "ผล",
    "days_late": "ช้า (วัน)", "reason": "เหตุผล", "plan_status": "สถานะแผน",
}
_DAYS = ("due_on", "original_due_on", "actual_on")


def compliance_csv(report: dict[str, Any], for_people: bool = False) -> str:
    if not for_people:
        return _csv(COMPLIANCE_FIELDS, report["deadlines"])
    def shown(key: str, value: Any) -> Any:
        if key in _DAYS:
            return dates.short(value)
        return labels.PLAN_STATUS.get(value, value) if key == "plan_status" else value

    rows = [{COMPLIANCE_HEADINGS[k]: shown(k, row[k]) for k in COMPLIANCE_HEADINGS} for row in report["deadlines"]]
    return _csv(COMPLIANCE_HEADINGS.values(), rows)
