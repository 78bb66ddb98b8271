"""The plan's documents as Thai PDFs: the operational plan (ส่วนที่ 1, flowchart, ผด.01, ผด.02,
ผด.02/1), the announcement, the posting certificate, the plan's record, and the evaluation report of
a monitoring process. A process words its announcement and titles in process.json (``announcement``,
``document_titles``); without them they read as the operational plan's.

Each document is rendered from reports/ by WeasyPrint out of the plan's records (documents/records.py).
The documents a user task names in its ``freezeDocuments`` property are frozen once that task is
done (commands/documents.py) and from then on served as stored.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import jinja2
import segno
from sqlalchemy import select

from service import engine, eventlog, labels
from service.auth import SYSTEM, Actor
from service.bundles import catalog, committees, diagram, flowchart
from service.config import SOURCE_ROOT
from service.context import Context
from service.deadlines import verdicts
from service.documents import cache, names
from service.documents.records import (
    NotReady,
    PlanFile,
    by_program,
    by_strategy,
    kinds_of,
    load,
    not_ready,
    posting_of,
    projects_of,
    title_of,
)
from service.errors import NotFound
from service.models import FrozenDocument
from service.thai import dates, legaldays
from service.thai.baht import bahttext, money, percent

REPORTS = SOURCE_ROOT / "reports"
#: The flowchart's room on an A4 portrait page between the official margins: 16 cm wide, and as high
#: as the page leaves under its heading and above its caption (29.7 − 2.5 − 2 cm, less 4.2 cm).
FLOWCHART_MAX_HEIGHT_MM = 210.0
#: The certifier's position, a field of its own beside ``certified_by`` (the name) once the form has it.
CERTIFIER_TITLE = "certifier_title"
#: Where the public checks a frozen document (service/web/public.py answers it). Named by the plan and
#: kind, never by the document's SHA-256: a document cannot print the digest of its own bytes.
VERIFY_PATH = "/public/verify/{plan}/{kind}"
#: The posting form's field that names the system's public board as one of the places it is posted.
PUBLIC_BOARD = "posting_public_board"
#: The subject an announcement states when its process words none (process.json ``announcement``).
PLAN_SUBJECT = "ประกาศใช้แผนการดำเนินงาน"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def operational_plan(file: PlanFile) -> bytes:
    projects, equipment = projects_of(file.data)
    strategies = by_strategy(projects)
    try:
        chart: dict[str, Any] | None = _flowchart(flowchart.render(file.bpmn_files))
    except diagram.NoDiagram:  # a process with no named step to draw: the plan still prints
        chart = None
    return render("operational_plan.html", file, "plan", {
        "strategies": strategies,
        "project_count": len(projects),
        "project_total": sum((p.budget for p in projects), Decimal(0)),
        "equipment": by_program(equipment),
        "equipment_count": len(equipment),
        "equipment_total": sum((p.budget for p in equipment), Decimal(0)),
        "months": dates.fiscal_months(file.fiscal_year),
        "flowchart": chart,
        "regulation": file.meta.get("regulation", ""),
    })


def _flowchart(drawing: diagram.Diagram) -> dict[str, Any]:
    """The chart's boxes in millimetres, shrunk as a whole (text too) when its steps would not fit
    on one page; flowchart.render made every box tall enough for its text at full size."""
    scale = min(1.0, FLOWCHART_MAX_HEIGHT_MM / drawing.height)
    placed = [{
        "kind": label.kind, "text": label.text,
        "style": (f"left:{label.x * scale:.2f}mm;top:{label.y * scale:.2f}mm;width:{label.width * scale:.2f}mm;"
                  f"height:{label.height * scale:.2f}mm;font-size:{flowchart.FONT_PT[label.kind] * scale:.2f}pt;"
                  f"padding:{flowchart.PAD * scale:.2f}mm"),
    } for label in drawing.labels]
    return {"svg": drawing.svg, "labels": placed, "width": drawing.width * scale, "height": drawing.height * scale,
            "line_height": flowchart.LINE_HEIGHT}


def _require(file: PlanFile, kind: str) -> None:
    when = not_ready(file, kind)
    if when:
        raise NotReady(when)


def announcement(file: PlanFile) -> bytes:
    _require(file, "announcement")
    data = file.data
    return render("announcement.html", file, "announcement", {
        "considered_on": data.get("review_meeting_date"), "approved_on": data.get("approval_date"),
        "announced_on": data["announced_on"], "executive_name": data.get("executive_name", ""),
        "executive_title": data.get("executive_title", ""), "regulation": file.meta.get("regulation", ""),
        "subject": subject_of(file), "paragraphs": _paragraphs(file),
    })


def subject_of(file: PlanFile) -> str:
    """What the announcement is about ("ประกาศใช้แผนการดำเนินงาน"), as the process words it."""
    wording = file.meta.get("announcement")
    subject = wording.get("subject") if isinstance(wording, dict) else None
    return subject if isinstance(subject, str) and subject.strip() else PLAN_SUBJECT


def _paragraphs(file: PlanFile) -> list[str]:
    """The process's own paragraphs of the announcement (empty: the operational plan's), each
    ``{field}`` filled from the plan's data, a date in Thai words; a value not recorded reads "-"."""
    wording = file.meta.get("announcement")
    paragraphs = wording.get("paragraphs") if isinstance(wording, dict) else None
    if not isinstance(paragraphs, list):
        return []
    values = {**file.data, "regulation": file.meta.get("regulation", "")}

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value in (None, ""):
            return "-"
        try:
            return dates.long(value) if isinstance(value, str) and _ISO_DAY.fullmatch(value) else str(value)
        except ValueError:
            return str(value)

    return [_PLACEHOLDER.sub(fill, p) for p in paragraphs if isinstance(p, str)]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def evaluation(file: PlanFile) -> bytes:
    """The monitoring committee's report (its findings and recommendations as its form recorded
    them), with the presentations and the announcement once they are recorded."""
    _require(file, "evaluation")
    return render("monitoring_evaluation.html", file, "evaluation", {
        "data": file.data, "regulation": file.meta.get("regulation", ""), "title": title_of(file.meta, "evaluation"),
        "progress": file.progress,  # the year's annual figures (tracking/reporting.py), or None
    })


def posting_certificate(file: PlanFile) -> bytes:
    _require(file, "posting-certificate")
    data = file.data
    return render("posting_certificate.html", file, "posting-certificate", {
        "posting": posting_of(file), "public_board": public_board_posting(file),
        "certified_by": data.get("certified_by", ""),
        "certifier_title": data.get(CERTIFIER_TITLE, ""),
        "certified_on": data["certified_on"], "regulation": file.meta.get("regulation", ""),
        "subject": subject_of(file),
        # the verdicts every page and report gives, of the deadlines the process says this certifies
        "verdicts": [v for v in verdicts(file.deadlines, file.now) if "posting-certificate" in v["documents"]],
    })


def public_board_posting(file: PlanFile) -> dict[str, Any] | None:
    """The posting on the system's own public board, when the posting step names it as a place: from
    the day the system recorded the announcement (the board shows an item from then on) to the
    certification, for the board never takes an announcement down. None when it was not named."""
    if not file.data.get(PUBLIC_BOARD) or not file.data.get("certified_on"):
        return None
    since = next((legaldays.day_of(e["at"]) for e in file.events
                  if e["kind"] == eventlog.TASK_COMPLETED and "announced_on" in (e["data"] or {})), None)
    if since is None:
        return None
    until = legaldays.as_date(file.data["certified_on"])
    return {"url": f"{file.public_url}/public/{file.organization['code']}/plans/{file.id}", "since": since,
            "until": until, "days": max((until - since).days - 1, 0)}  # counted as Posting.days_posted counts


# --- The plan's record -------------------------------------------------------------------
def record(file: PlanFile) -> bytes:
    start_form = file.forms.get(file.meta.get("start_form", ""), {})
    steps = []
    for event in file.events:
        element = file.elements.get(event["task"] or "", {})
        form = file.forms.get(element.get("properties", {}).get(engine.FORM_PROPERTY, ""), {}) \
            if event["task"] else start_form
        if event["kind"] in eventlog.TRACKING_KINDS:
            form = labels.tracking_event_titles(catalog.progress_form(file.meta, file.forms))
        steps.append({
            **event,
            "what": element.get("name") or labels.EVENT_KINDS.get(event["kind"], event["kind"]),
            "kind_name": labels.EVENT_KINDS.get(event["kind"], event["kind"]),
            "who": file.people.get(event["actor"], event["actor"]) if event["actor"] != SYSTEM.username
            else labels.SYSTEM_ACTOR,
            "role_name": file.role_name(event["role"]),
            "details": _details(event, form, file.meta),
            # the day the step's committee met, as its form marks it: the record prints who sat then
            "meeting_on": committees.committee_date(form, event["data"] or {}) if event["task"] else None,
        })
    deadlines = verdicts(file.deadlines, file.now)
    return render("record.html", file, "record", {"steps": steps, "deadlines": deadlines,
                                                  "title": title_of(file.meta, "record")})


def _details(event: dict[str, Any], form: dict[str, Any], meta: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's data as (title, value) lines, in the words of the task's form."""
    if event["kind"] == eventlog.TIMER_FIRED:
        return [("ครบกำหนด", ", ".join(event["data"].get("timers", [])) or "-")]
    if event["kind"] == eventlog.DOCUMENT_FROZEN:
        kind = event["data"].get("kind", "")
        return [("เอกสาร", title_of(meta, kind)), ("SHA-256", event["data"].get("sha256", ""))]
    if event["kind"] == eventlog.ATTACHMENT_ADDED:
        return [("ไฟล์", event["data"].get("filename", "")), ("SHA-256", event["data"].get("sha256", ""))]
    properties = form.get("properties", {})
    lines = []
    for key, spec in properties.items():
        if key not in event["data"]:
            continue
        value = event["data"][key]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            total = sum((Decimal(str(v.get("budget", 0))) for v in value), Decimal(0))
            text = f"{len(value)} รายการ" + (f" งบประมาณรวม {money(total)} บาท" if total else "")
        else:
            text = _detail(spec, value)
        lines.append((spec.get("title", key), text))
    return lines


def _detail(spec: dict[str, Any], value: Any) -> str:
    """One recorded value in words: a choice by its title, a date in Thai, a record field by field."""
    if isinstance(value, dict):
        fields = spec.get("properties", {})
        return "; ".join(f"{fields.get(k, {}).get('title', k)}: {_detail(fields.get(k, {}), v)}"
                         for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_detail(spec.get("items", {}), v) for v in value)
    if "enum" in spec and "x-enumTitles" in spec and value in spec["enum"]:
        return str(spec["x-enumTitles"][spec["enum"].index(value)])
    if spec.get("format") == "date" and value:
        return dates.long(value)
    if isinstance(value, float | int) and not isinstance(value, bool) and spec.get("multipleOf") == 0.01:
        return money(Decimal(str(value)))
    return str(value)


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


def render(template: str, file: PlanFile, kind: str, values: dict[str, Any]) -> bytes:
    return pdf_of(template, plan=file, org=file.organization, fiscal_year=file.fiscal_year, process=file.process,
                  draft=not file.announced, printed_at=file.now, verify=verification(file, kind),
                  committee=file.committee, **values)


def pdf_of(template: str, **values: Any) -> bytes:
    """A template of reports/ with ``values`` as PDF (base.html reads ``draft`` and ``verify``)."""
    from weasyprint import HTML  # heavy: loaded with the first document

    html = _ENV.get_template(template).render(**values)
    with _collector_paused():
        laid_out = HTML(string=html, base_url=str(REPORTS)).render()
        for keep in _kept.get():
            keep.append(laid_out)
        return laid_out.write_pdf()


def verify_url(public_url: str, plan_id: int, kind: str) -> str:
    return public_url + VERIFY_PATH.format(plan=plan_id, kind=kind)


def verification(file: PlanFile, kind: str) -> dict[str, str] | None:
    """The footer of a document that freezes (its step is done in ``file``): the address where anyone
    checks a printed copy against the stored one, as text and as a QR code; None for any other."""
    if kind not in file.freeze_points() or not file.public_url:
        return None
    url = verify_url(file.public_url, file.id, kind)
    # error correction M: a smudged or folded corner still reads; SVG: sharp at any print resolution
    code = segno.make_qr(url, error="m")
    return {"url": url, "text": url.split("://", 1)[-1], "qr": code.svg_data_uri(border=1, dark="#000")}


#: Lists that receive each document's layout as it is rendered (see ``layouts``).
_kept: ContextVar[tuple[list[Any], ...]] = ContextVar("kept_layouts", default=())


@contextmanager
def layouts() -> Iterator[list[Any]]:
    """The WeasyPrint layouts (pages and boxes) of the documents rendered inside the block, so that
    a check can measure where every box landed on paper rather than read text back."""
    found: list[Any] = []
    token = _kept.set((*_kept.get(), found))
    try:
        yield found
    finally:
        _kept.reset(token)


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
             "posting-certificate": posting_certificate, "record": record, "evaluation": evaluation}


@dataclass(frozen=True)
class Document:
    content: bytes
    sha256: str | None = None  # set when the document is the frozen one, served as stored
    filename: str = "document.pdf"  # for people, in Thai (documents/names.py)
    ascii_filename: str = "document.pdf"  # for clients that cannot take the Thai name
    #: no fresh copy is cached: the document is being made (``content`` is empty; see commands/renders.py)
    pending: bool = False

    @property
    def content_disposition(self) -> str:
        return names.content_disposition(self.filename, self.ascii_filename)


def document(ctx: Context, actor: Actor, plan_id: int, kind: str) -> Document:
    """One of the plan's documents as PDF: as stored once it is frozen, else the copy rendered in
    the background from what the plan now shows (a document due to freeze but not stored yet: as
    the plan stood at its step, the same bytes the freezing stores), or ``pending`` when no copy of
    that content is cached yet. A read: it never writes, and never renders. :raise NotFound: :raise NotReady:"""
    if kind not in DOCUMENTS:
        raise NotFound(f"ไม่มีเอกสารชนิด {kind}; เอกสารที่มี: {', '.join(DOCUMENTS)}")
    file = load(ctx, actor, plan_id)
    named = {"filename": names.filename(kind, file.fiscal_year, file.organization["name"],
                                        title_of(file.meta, kind)),
             "ascii_filename": names.ascii_filename(kind, file.fiscal_year, file.organization["code"])}
    source = source_of(file, kind)
    if source is None:
        with ctx.db.read() as session:
            stored = session.scalars(select(FrozenDocument).where(FrozenDocument.plan_id == plan_id,
                                                                  FrozenDocument.kind == kind)).one()
            return Document(stored.content, stored.sha256, named["filename"], named["ascii_filename"])
    _require(source, kind)
    copy = cache.lookup(ctx, plan_id, kind, cache.source_key(source, kind))
    if copy is None:
        return Document(b"", filename=named["filename"], ascii_filename=named["ascii_filename"], pending=True)
    return Document(copy, filename=named["filename"], ascii_filename=named["ascii_filename"])


def source_of(file: PlanFile, kind: str) -> PlanFile | None:
    """What the document ``kind`` shows: the plan as it stands, or as it stood at the step that
    freezes the document; None once it is frozen (stored, served as stored)."""
    point = file.freeze_points().get(kind)
    if point is None:
        return file
    if kind in file.frozen:
        return None
    return file.as_of(point)


def available(ctx: Context, actor: Actor, plan_id: int) -> list[dict[str, Any]]:
    """Each of the plan's documents: its kind and title, whether it exists yet and if not, when it
    will; the SHA-256 of the frozen ones. :raise NotFound:"""
    file = load(ctx, actor, plan_id)
    return [{"kind": kind, "title": title_of(file.meta, kind), "when": not_ready(file, kind),
             "sha256": file.frozen.get(kind)} for kind in kinds_of(file.meta)]
