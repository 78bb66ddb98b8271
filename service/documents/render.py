"""The plan's documents as Thai PDFs: the operational plan (ส่วนที่ 1, flowchart, ผด.01, ผด.02,
ผด.02/1), the announcement, the posting certificate and the plan's record.

Each document is rendered from reports/ by WeasyPrint out of the plan's records (documents/records.py).
The documents a user task names in its ``freezeDocuments`` property are frozen once that task is
done (commands/documents.py) and from then on served as stored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import jinja2
from sqlalchemy import select

from service import engine, eventlog, labels
from service.auth import SYSTEM, Actor
from service.bundles import diagram
from service.config import SOURCE_ROOT
from service.context import Context
from service.documents.records import (
    TITLES,
    NotReady,
    PlanFile,
    by_program,
    by_strategy,
    load,
    not_ready,
    posting_of,
    projects_of,
)
from service.errors import NotFound
from service.models import FrozenDocument
from service.queries import deadline_view
from service.thai import dates
from service.thai.baht import bahttext, money, percent

REPORTS = SOURCE_ROOT / "reports"
#: The flowchart's width on a landscape A4 page between the official margins (29.7 − 3 − 2 cm).
FLOWCHART_WIDTH_MM = 247.0
PT_PER_MM = 72 / 25.4
#: Label sizes in diagram units, scaled with the drawing.
LABEL_UNITS = {"pool": 30, "lane": 34, "task": 27, "subprocess": 28, "event": 26, "gateway": 26, "flow": 26}


def operational_plan(file: PlanFile) -> bytes:
    projects, equipment = projects_of(file.data)
    strategies = by_strategy(projects)
    try:
        flowchart: dict[str, Any] | None = _flowchart(diagram.render(file.bpmn_files))
    except diagram.NoDiagram:  # a process made without diagram interchange: the plan still prints
        flowchart = None
    return render("operational_plan.html", file, {
        "strategies": strategies,
        "project_count": len(projects),
        "project_total": sum((p.budget for p in projects), Decimal(0)),
        "equipment": by_program(equipment),
        "equipment_count": len(equipment),
        "equipment_total": sum((p.budget for p in equipment), Decimal(0)),
        "months": dates.fiscal_months(file.fiscal_year),
        "flowchart": flowchart,
        "regulation": file.meta.get("regulation", ""),
    })


def _flowchart(drawing: diagram.Diagram) -> dict[str, Any]:
    scale = FLOWCHART_WIDTH_MM / drawing.width
    placed = [{
        "kind": label.kind, "text": label.text,
        "style": (f"left:{label.x * scale:.2f}mm;top:{label.y * scale:.2f}mm;width:{label.width * scale:.2f}mm;"
                  f"height:{label.height * scale:.2f}mm;font-size:{LABEL_UNITS[label.kind] * scale * PT_PER_MM:.1f}pt"),
        # a vertical title: a box as long as the band is high, turned about the band's centre
        "rotated_style": (f"width:{label.height * scale:.2f}mm;height:{label.width * scale:.2f}mm;"
                          f"left:{(label.width - label.height) * scale / 2:.2f}mm;"
                          f"top:{(label.height - label.width) * scale / 2:.2f}mm"),
    } for label in drawing.labels]
    return {"svg": drawing.svg, "labels": placed, "width": FLOWCHART_WIDTH_MM, "height": drawing.height * scale}


def _require(file: PlanFile, kind: str) -> None:
    when = not_ready(file, kind)
    if when:
        raise NotReady(when)


def announcement(file: PlanFile) -> bytes:
    _require(file, "announcement")
    data = file.data
    return render("announcement.html", file, {
        "considered_on": data.get("review_meeting_date"), "approved_on": data.get("approval_date"),
        "announced_on": data["announced_on"], "executive_name": data.get("executive_name", ""),
        "executive_title": data.get("executive_title", ""), "regulation": file.meta.get("regulation", ""),
    })


def posting_certificate(file: PlanFile) -> bytes:
    _require(file, "posting-certificate")
    data = file.data
    return render("posting_certificate.html", file, {
        "posting": posting_of(file), "certified_by": data.get("certified_by", ""),
        "certified_on": data["certified_on"], "regulation": file.meta.get("regulation", ""),
    })


# --- The plan's record -------------------------------------------------------------------
def record(file: PlanFile) -> bytes:
    start_form = file.forms.get(file.meta.get("start_form", ""), {})
    steps = []
    for event in file.events:
        element = file.elements.get(event["task"] or "", {})
        form = file.forms.get(element.get("properties", {}).get(engine.FORM_PROPERTY, ""), {}) \
            if event["task"] else start_form
        steps.append({
            **event,
            "what": element.get("name") or labels.EVENT_KINDS.get(event["kind"], event["kind"]),
            "kind_name": labels.EVENT_KINDS.get(event["kind"], event["kind"]),
            "who": file.people.get(event["actor"], event["actor"]) if event["actor"] != SYSTEM.username
            else labels.SYSTEM_ACTOR,
            "role_name": file.role_name(event["role"]),
            "details": _details(event, form),
        })
    deadlines = [{**deadline_view(d, file.now), "kind": d["kind"]} for d in file.deadlines]
    return render("record.html", file, {"steps": steps, "deadlines": deadlines, "states": labels.DEADLINE_STATES})


def _details(event: dict[str, Any], form: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's data as (title, value) lines, in the words of the task's form."""
    if event["kind"] == eventlog.TIMER_FIRED:
        return [("ครบกำหนด", ", ".join(event["data"].get("timers", [])) or "-")]
    if event["kind"] == eventlog.DOCUMENT_FROZEN:
        kind = event["data"].get("kind", "")
        return [("เอกสาร", TITLES.get(kind, kind)), ("SHA-256", event["data"].get("sha256", ""))]
    properties = form.get("properties", {})
    lines = []
    for key, spec in properties.items():
        if key not in event["data"]:
            continue
        value = event["data"][key]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            total = sum((Decimal(str(v.get("budget", 0))) for v in value), Decimal(0))
            text = f"{len(value)} รายการ" + (f" งบประมาณรวม {money(total)} บาท" if total else "")
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif "enum" in spec and "x-enumTitles" in spec and value in spec["enum"]:
            text = spec["x-enumTitles"][spec["enum"].index(value)]
        elif spec.get("format") == "date" and value:
            text = dates.long(value)
        else:
            text = str(value)
        lines.append((spec.get("title", key), text))
    return lines


# --- Rendering ---------------------------------------------------------------------------
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(REPORTS), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        thai=dates.to_thai_digits, money=money, bahttext=bahttext, percent=percent,
        long=lambda v: dates.long(v, thai_digits=True) if v else "-",
        short=lambda v: dates.short(v) if v else "-",
        moment=lambda v: dates.short_datetime(v if isinstance(v, datetime) else datetime.fromisoformat(v))
        if v else "-",
    )
    return env


_ENV = _environment()


def render(template: str, file: PlanFile, values: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # heavy: loaded with the first document

    html = _ENV.get_template(template).render(
        plan=file, org=file.organization, fiscal_year=file.fiscal_year, process=file.process,
        draft=not file.announced, printed_at=file.now, **values,
    )
    with _collector_paused():
        return HTML(string=html, base_url=str(REPORTS)).write_pdf()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector still while WeasyPrint works. It makes hundreds of
    thousands of boxes and styles that live until the PDF is written, and the collector scanned
    them again and again: a quarter of a 300-project plan's time. Its garbage is collected later,
    as before. """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


DOCUMENTS = {"plan": operational_plan, "announcement": announcement,
             "posting-certificate": posting_certificate, "record": record}


@dataclass(frozen=True)
class Document:
    content: bytes
    sha256: str | None = None  # set when the document is the frozen one, served as stored


def document(ctx: Context, actor: Actor, plan_id: int, kind: str) -> Document:
    """One of the plan's documents as PDF: as stored once it is frozen, else rendered from the
    plan's records (a document due to freeze but not stored yet: as the plan stood at its step,
    the same bytes the freezing stores). A read: it never writes. :raise NotFound: :raise NotReady:"""
    if kind not in DOCUMENTS:
        raise NotFound(f"ไม่มีเอกสารชนิด {kind}; เอกสารที่มี: {', '.join(DOCUMENTS)}")
    file = load(ctx, actor, plan_id)
    point = file.freeze_points().get(kind)
    if point is None:
        return Document(DOCUMENTS[kind](file))
    if kind not in file.frozen:
        return Document(DOCUMENTS[kind](file.as_of(point)))
    with ctx.db.read() as session:
        stored = session.scalars(select(FrozenDocument).where(FrozenDocument.plan_id == plan_id,
                                                              FrozenDocument.kind == kind)).one()
        return Document(stored.content, stored.sha256)


def available(ctx: Context, actor: Actor, plan_id: int) -> list[dict[str, Any]]:
    """Each of the plan's documents: its kind and title, whether it exists yet and if not, when it
    will; the SHA-256 of the frozen ones. :raise NotFound:"""
    file = load(ctx, actor, plan_id)
    return [{"kind": kind, "title": TITLES[kind], "when": not_ready(file, kind), "sha256": file.frozen.get(kind)}
            for kind in DOCUMENTS]
