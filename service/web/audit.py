"""The auditor's pages: the plans of the organizations audited, each plan's history step by step
on its diagram, verification in Thai, downloads and the deadline-compliance report. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import audit, eventlog, labels, queries
from service.audit import access
from service.auth import SYSTEM, Actor
from service.bundles import catalog, diagram
from service.bundles.catalog import START_FORM_KEY
from service.commands import admin, administration
from service.commands.plans import FISCAL_YEARS
from service.errors import Invalid, NotFound
from service.http import attachment, ctx, integer
from service.thai import dates
from service.web.auth import actor

bp = Blueprint("audit_web", __name__, url_prefix="/audit")

#: Why a record failed verification, in words for auditors; {seq}, {expected}, {found} filled in.
DIVERGENCES = {
    "process_altered": "ไฟล์กระบวนงานที่แผนนี้ใช้ถูกแก้ไข ไม่ตรงกับฉบับที่ประกาศใช้",
    "missing_event": "เหตุการณ์ลำดับที่ {missing} หายไปจากบันทึก (ถูกลบ)",
    "sequence_broken": "เหตุการณ์ลำดับที่ {found} ซ้ำกันหรืออยู่ผิดลำดับ",
    "wrong_plan": "เหตุการณ์ลำดับที่ {seq} เป็นของแผนอื่น",
    "reordered": "เหตุการณ์ลำดับที่ {seq} ถูกสลับลำดับกับเหตุการณ์อื่น",
    "broken_link": "เหตุการณ์ลำดับที่ {seq} ไม่ต่อเนื่องจากเหตุการณ์ก่อนหน้า "
                   "(มีเหตุการณ์ก่อนหน้าถูกลบ แทรก หรือเขียนใหม่)",
    "event_altered": "เหตุการณ์ลำดับที่ {seq} ถูกแก้ไขหลังบันทึก เนื้อหาไม่ตรงกับค่าตรวจสอบ (แฮช) ที่บันทึกไว้",
    "time_order": "เหตุการณ์ลำดับที่ {seq} ลงเวลาก่อนเหตุการณ์ก่อนหน้า",
    "unexpected_event": "เหตุการณ์ลำดับที่ {seq} ไม่อาจเกิดขึ้น ณ จุดนั้นของกระบวนงาน",
    "replay_failed": "ดำเนินการตามเหตุการณ์ลำดับที่ {seq} ซ้ำไม่ได้ ขั้นตอนที่บันทึกไม่ได้เปิดรอดำเนินการในขณะนั้น",
    "role_mismatch": "เหตุการณ์ลำดับที่ {seq} บันทึกในบทบาทที่ไม่ใช่ผู้รับผิดชอบขั้นตอนนั้น",
    "state_mismatch": "ดำเนินการตามเหตุการณ์ลำดับที่ {seq} ซ้ำแล้วได้ผลไม่ตรงกับที่บันทึกไว้ "
                      "(ข้อมูล เวลา หรือขั้นตอนของเหตุการณ์นี้หรือก่อนหน้าถูกแก้ไข)",
    "unknown_kind": "เหตุการณ์ลำดับที่ {seq} เป็นชนิดที่ระบบไม่รู้จัก",
    "snapshot_mismatch": "สถานะปัจจุบันของแผนที่จัดเก็บไว้ไม่ตรงกับประวัติ "
                         "(ถูกแก้ไขนอกบันทึกเหตุการณ์ หรือเหตุการณ์ท้ายสุดถูกลบ)",
    "deadlines_mismatch": "กำหนดเวลาของแผนที่จัดเก็บไว้ไม่ตรงกับที่คำนวณได้จากประวัติ",
    "status_mismatch": "สถานะของแผนที่จัดเก็บไว้ไม่ตรงกับประวัติ",
    "claims_mismatch": "ผู้รับงานที่จัดเก็บไว้ไม่ตรงกับการรับและคืนงานในประวัติ",
    "head_mismatch": "เหตุการณ์ล่าสุดที่แผนบันทึกไว้ไม่ใช่เหตุการณ์สุดท้ายของประวัติ "
                     "(เหตุการณ์ท้ายสุดถูกลบ หรือมีเหตุการณ์ถูกเพิ่มนอกระบบ)",
    "unreadable": "อ่านบันทึกของแผนนี้จากฐานข้อมูลไม่ได้ ข้อมูลในฐานข้อมูลเสียหาย "
                  "กรุณาแจ้งผู้ดูแลระบบให้ตรวจสอบและกู้คืนจากสำเนาสำรอง",
    "missing": "ไม่พบข้อมูลหลักของแผนนี้ในฐานข้อมูล แต่ยังมีประวัติเหตุการณ์ของแผนอยู่ (ข้อมูลถูกลบหรือเสียหาย)",
}
FISCAL_YEAR_MESSAGE = f"ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง {FISCAL_YEARS.start} ถึง {FISCAL_YEARS[-1]} เช่น 2564"
#: Plans on a page of the audit list (each is verified as the page is shown); events on a page of a plan's list.
PLANS_PAGE, EVENTS_PAGE = 20, 50
#: How the diagram marks an element, by where the plan stood (engine.Instance.element_states).
ELEMENT_MARKS = {"completed": "done", "started": "active", "ready": "current", "waiting": "waiting"}


# --- Access: the rule of service/audit/access.py, as the API applies it ---------------------
def _auditor() -> Actor:
    """The signed-in user as an auditor only: the service answers for audited organizations alone.
    :raise 403: the user audits no organization."""
    return access.auditor(actor())


def _audit_organization(organization_id: int | None) -> Actor:
    """:raise 404: not an organization the user may see; 403: one the user sees but does not audit."""
    return access.auditor_of(actor(), organization_id)


def _audit_plan(plan_id: int) -> Actor:
    return _audit_organization(queries.plan_organization(ctx(), plan_id))


def _organization(code: str) -> tuple[dict[str, Any], Actor]:
    """The organization of this code and the user as its auditor. :raise 404: :raise 403:"""
    organization_id = queries.organization_id(ctx(), code)
    auditor = _audit_organization(organization_id)
    found = next(o for o in queries.organizations(ctx(), auditor) if o["code"] == code)
    return {**found, "id": organization_id}, auditor


# --- Pages -----------------------------------------------------------------------------
@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The plans of one audited organization (the first unless ?organization=), each verified now.
    :raise 403: the user audits no organization; 404: an organization not among the user's."""
    organizations = queries.organizations(ctx(), _auditor())
    if not organizations:
        return render_template("audit/index.html", organizations=[], organization=None, plans=[])
    organization, auditor = _organization(request.args.get("organization") or organizations[0]["code"])
    after = request.args.get("after") or None
    page = queries.plans_of(ctx(), organization["id"], auditor, PLANS_PAGE, after)
    for plan in page["plans"]:
        plan["verification"] = _verification(plan["id"], auditor)
    return render_template("audit/index.html", organizations=organizations, organization=organization,
                           plans=page["plans"], next_page=page["next"], first_page=after is not None,
                           status=labels.PLAN_STATUS, years=queries.fiscal_years_of(ctx(), organization["id"], auditor))


@bp.get("/plans/<int:plan_id>")
@login_required
def plan(plan_id: int) -> ResponseReturnValue:
    """A plan's history at ?step=N (the last step by default), verified now; its list of events a
    page at a time (``after``: the page's cursor).
    :raise 404: no such plan or step among the audited organizations; 403: not audited by the user.
    :raise 422: a bad page cursor."""
    auditor = _audit_plan(plan_id)
    after = request.args.get("after") or None
    listed = queries.history(ctx(), auditor, plan_id, EVENTS_PAGE, after)
    step = _step_page(plan_id, auditor)
    return render_template("audit/plan.html", **step, verification=_verification(plan_id, auditor),
                           status=labels.PLAN_STATUS, listed=_described(listed["events"], plan_id),
                           listed_next=listed["next"], listed_after=after)


@bp.get("/plans/<int:plan_id>/steps/<int:step>")
@login_required
def step(plan_id: int, step: int) -> ResponseReturnValue:
    """The step panel alone, for the slider to swap in. :raise 404: :raise 403:"""
    auditor = _audit_plan(plan_id)
    return render_template("audit/_step.html", **_step_page(plan_id, auditor, step))


@bp.get("/plans/<int:plan_id>/verification")
@login_required
def verification(plan_id: int) -> ResponseReturnValue:
    """Verify the plan now and explain the result. :raise 404: :raise 403:"""
    auditor = _audit_plan(plan_id)
    return render_template("audit/verification.html", verification=_verification(plan_id, auditor),
                           plan=queries.plan(ctx(), auditor, plan_id))


@bp.get("/plans/<int:plan_id>/export")
@login_required
def export(plan_id: int) -> ResponseReturnValue:
    """The self-contained bundle to verify offline (phaen audit verify-bundle). :raise 404: :raise 403:"""
    body = audit.export_bundle(ctx(), plan_id, _audit_plan(plan_id))
    return attachment(body, "application/json", f"plan-{plan_id}.json")


@bp.get("/plans/<int:plan_id>/events.csv")
@login_required
def events_csv(plan_id: int) -> ResponseReturnValue:
    """:raise 404: :raise 403:"""
    body = audit.events_csv(ctx(), plan_id, _audit_plan(plan_id)).encode("utf-8")
    return attachment(body, "text/csv", f"plan-{plan_id}-events.csv")


@bp.get("/compliance")
@login_required
def compliance() -> ResponseReturnValue:
    """Every legal deadline of an organization's plans of a fiscal year. :raise 404: :raise 403:"""
    report = _compliance()
    return render_template("audit/compliance.html", report=report)


@bp.get("/compliance.csv")
@login_required
def compliance_csv() -> ResponseReturnValue:
    """:raise 404: :raise 403:"""
    report = _compliance()
    name = f"compliance-{report['organization']['code']}-{report['fiscal_year']}.csv"
    return attachment(audit.compliance_csv(report, for_people=True).encode("utf-8"), "text/csv", name)


# --- What the pages show -----------------------------------------------------------------
def _verification(plan_id: int, auditor: Actor) -> dict[str, Any]:
    result = audit.verify_plan(ctx(), plan_id, auditor)
    found = result.first_divergence
    return {"ok": result.ok, "events": result.events, "head": result.head, "checked_at": ctx().clock.now(),
            "divergence": _divergence(plan_id, found, auditor) if found else None}


def _divergence(plan_id: int, found: audit.Divergence, auditor: Actor) -> dict[str, Any]:
    """The first divergence in Thai, with the event it concerns as it now reads."""
    missing = found.expected
    if found.reason == "missing_event" and isinstance(found.found, int) and found.found > found.expected + 1:
        missing = f"{found.expected}–{found.found - 1}"
    template = DIVERGENCES.get(found.reason, "บันทึกของแผนไม่สอดคล้องกัน")
    events = {e["seq"]: e for e in _history(plan_id, auditor)} if found.seq else {}
    event = events.get(found.seq) if found.reason not in ("missing_event", "sequence_broken") else None
    return {"reason": found.reason, "seq": found.seq, "detail": found.detail, "expected": found.expected,
            "found": found.found,
            "message": template.format(seq=found.seq, expected=found.expected, found=found.found, missing=missing),
            "event": _described([event], plan_id)[0] if event else None}


def _history(plan_id: int, auditor: Actor) -> list[dict[str, Any]]:
    return queries.history(ctx(), auditor, plan_id)["events"]


def _described(events: list[dict[str, Any]], plan_id: int) -> list[dict[str, Any]]:
    """Events as the timeline names them: what, who in which role, when."""
    steps = queries.step_titles(ctx(), plan_id)
    roles = queries.role_titles(ctx())
    names = queries.display_names(ctx(), {e["actor"] for e in events} | {(e["data"] or {}).get("to") for e in events})
    described = []
    for e in events:
        at = datetime.fromisoformat(e["at"]) if isinstance(e["at"], str) else e["at"]
        what = labels.EVENT_KINDS.get(e["kind"], e["kind"])
        described.append({
            **e, "at": at, "what": what, "step": steps.get(e["task"], e["task"]) if e["task"] else "",
            "who": f"{labels.SYSTEM_ACTOR} (ครบกำหนดเวลา)" if e["actor"] == SYSTEM.username
            else names.get(e["actor"], e["actor"]),
            "role_name": roles.get(e["role"], e["role"]) if e["role"] else "",
            "to": names.get((e["data"] or {}).get("to") or "", "") if e["kind"] == eventlog.TASK_REASSIGNED else "",
        })
    return described


def _step_page(plan_id: int, auditor: Actor, step: int | None = None) -> dict[str, Any]:
    """Everything the timeline shows at one step: the event, its data, the diagram, where the plan stood."""
    events = _described(_history(plan_id, auditor), plan_id)
    if step is None:
        raw = request.args.get("step")  # none: the plan as it stands
        step = integer(raw) if raw else len(events)
        if step is None:
            raise NotFound(f"แผนนี้มีประวัติ {len(events)} ลำดับ ไม่มีลำดับที่ {raw[:20] if raw else ''}")
    if not 1 <= step <= len(events):
        raise NotFound(f"แผนนี้มีประวัติ {len(events)} ลำดับ ไม่มีลำดับที่ {step}")
    replayed = audit.replay_to(ctx(), plan_id, step, auditor)
    event = events[step - 1]
    instance = replayed.instance
    bpmn_files = replayed.record.process["bpmn_files"]
    marks: dict[str, str] = {}
    stood: dict[str, Any] = {"tasks": [], "timers": [], "completed": False}
    if instance is not None:
        states = instance.element_states()
        marks = {bpmn_id: ELEMENT_MARKS[state] for bpmn_id, state in states.items()}
        for flow in diagram.sequence_flows(bpmn_files, instance.transitions()):
            marks[flow] = "taken"
        if replayed.step == step and event["task"] in marks:
            marks[event["task"]] += " acted"
        stood = {"tasks": [{"title": t.title or t.spec_name, "lane": t.lane or ""} for t in instance.open_tasks()],
                 "timers": [{"name": name, "at": at} for _, name, at in instance.waiting_timers()],
                 "completed": instance.completed}
    try:
        drawing = _drawing(diagram.render(bpmn_files, marks), marks)
    except diagram.NoDiagram:
        drawing = None
    form = (replayed.version.form_of(event["task"]) if event["task"]
            else replayed.version.forms.get(replayed.version.meta.get(START_FORM_KEY, ""), {}))
    if event["kind"] in eventlog.TRACKING_KINDS:
        form = labels.tracking_event_titles(catalog.progress_form(replayed.version.meta, replayed.version.forms))
    record = replayed.record
    return {
        "plan_id": plan_id, "events": events, "step": step, "event": event, "reached": replayed.step,
        "role_held": _role_held(plan_id, event),
        "stopped": _divergence(plan_id, replayed.divergence, auditor) if replayed.divergence else None,
        "data": _data_rows(event, form), "drawing": drawing, "stood": stood,
        "plan": {"organization": record.organization, "fiscal_year": record.fiscal_year, "status": record.status,
                 "process": record.process},
    }


CONSOLE = "ผู้ดูแลเครื่องแม่ข่าย (คำสั่ง phaen)"


def _role_held(plan_id: int, event: dict[str, Any]) -> dict[str, Any] | None:
    """Who gave the step's actor its role, as the admin log says, if a person did the step in a role."""
    organization_id = queries.plan_organization(ctx(), plan_id)
    if not event["role"] or event["actor"] == SYSTEM.username or organization_id is None:
        return None
    held = administration.role_held(ctx(), organization_id, event["actor"], event["role"], event["at"])
    names = queries.display_names(ctx(), {c["by"] for c in (held["granted"], held["removed"]) if c})
    for change in (held["granted"], held["removed"]):
        if change:  # the console's changes are the server's operator's, a person of no account here
            change["by"] = CONSOLE if change["by"] == admin.OPERATOR else names.get(change["by"], change["by"])
    return {**held, "role_name": event["role_name"]}


def _drawing(drawing: diagram.Diagram, marks: dict[str, str]) -> dict[str, Any]:
    """The diagram laid out in percentages of its width, so that it scales with the page."""
    width, height = drawing.width, drawing.height

    def pct(value: float, whole: float) -> str:
        return f"{value / whole * 100:.3f}%"

    labels = [{"kind": label.kind, "text": label.text, "element": label.element, "mark": marks.get(label.element, ""),
               "style": (f"left:{pct(label.x, width)};top:{pct(label.y, height)};width:{pct(label.width, width)};"
                         f"height:{pct(label.height, height)};"
                         f"font-size:{diagram.LABEL_UNITS[label.kind] / width * 100:.3f}cqw")}
              for label in drawing.labels]
    return {"svg": drawing.svg, "labels": labels, "ratio": f"{width:g} / {height:g}"}


def _data_rows(event: dict[str, Any], form: dict[str, Any]) -> list[dict[str, Any]]:
    """Every value an event carries, titled by its form; lists of records as tables. Keys the form
    does not name are shown too, under their own names: the auditor sees all that was recorded."""
    data = event["data"] or {}
    if event["kind"] == eventlog.TIMER_FIRED:
        return [{"title": "กำหนดเวลาที่ครบ", "text": ", ".join(data.get("timers", [])) or "-"}]
    if event["kind"] in eventlog.CLAIM_KINDS:
        return [{"title": "ผู้รับงาน", "text": event["to"] or data.get("to") or "-"}] if data.get("to") else []
    properties = form.get("properties", {})
    keys = [k for k in properties if k in data] + sorted(k for k in data if k not in properties)
    return [_row(properties.get(key, {}), key, data[key]) for key in keys]


def _row(spec: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    title = spec.get("title", key)
    items = spec.get("items", {})
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(items.get("properties", {})) or sorted({k for v in value for k in v})
        columns += sorted({k for v in value for k in v} - set(columns))
        specs = items.get("properties", {})
        return {"title": title, "columns": [specs.get(c, {}).get("title", c) for c in columns],
                "rows": [[_text(specs.get(c, {}), v.get(c)) for c in columns] for v in value]}
    return {"title": title, "text": _text(spec, value)}


def _text(spec: dict[str, Any], value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "ใช่" if value else "ไม่ใช่"
    if isinstance(value, list):
        return ", ".join(_text(spec.get("items", {}), v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{spec.get('properties', {}).get(k, {}).get('title', k)}: "
                         f"{_text(spec.get('properties', {}).get(k, {}), v)}" for k, v in value.items())
    enum, titles = spec.get("enum", []), spec.get("x-enumTitles", [])
    if value in enum and enum.index(value) < len(titles):
        return titles[enum.index(value)]
    if spec.get("format") == "date" and isinstance(value, str):
        try:
            return dates.long(value)
        except ValueError:
            return value
    if isinstance(value, int | float):
        return f"{value:,.2f}" if spec.get("multipleOf") == 0.01 else f"{value:,}"
    return str(value)


def _compliance() -> dict[str, Any]:
    organization, auditor = _organization(request.args.get("organization", ""))
    year = integer(request.args.get("fiscal_year"), FISCAL_YEARS.start, FISCAL_YEARS[-1])
    if year is None:
        raise Invalid(FISCAL_YEAR_MESSAGE, [{"field": "fiscal_year", "message": FISCAL_YEAR_MESSAGE}])
    return audit.compliance(ctx(), organization["code"], year, auditor)
