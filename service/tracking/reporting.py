"""The reports read: a tracked plan's events loaded up to the end of the cut-off day (Asia/Bangkok),
replayed and counted by reports.py, for the API, the pages and the monitoring committee's
evaluation report. Events only, never the read model: a report re-made later reads the same.

The figures are quick to count; the PDF is not (a 500-project report is some 60 pages). So a PDF
is rendered by a render job (commands/renders.py, ``render_report``) and kept in the render cache
under the digest of its figures: a download counts the figures, serves the copy made from them,
or says the copy is being made (``ReportFile.pending``). XLSX and JSON are made in the request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Actor
from service.bundles import catalog
from service.context import Context
from service.documents import cache, progress_report
from service.documents.records import PlanFile, kinds_of
from service.errors import Conflict, Invalid, NotFound
from service.eventlog import TRACKING_KINDS
from service.models import Event, Plan, TrackedProject
from service.taskforms import report_sheets
from service.taskforms.writing import XLSX_TYPE
from service.thai import dates
from service.thai.legaldays import day_of, end_of_day
from service.tracking import reports
from service.tracking.replay import replay

FORMATS = {"pdf": "application/pdf", "xlsx": XLSX_TYPE, "json": "application/json"}
#: The document of a monitoring process that prints the year's annual figures (documents/render.py).
EVALUATION = "evaluation"


def report(ctx: Context, actor: Actor, plan_id: int, kind: str, cutoff: str | None = None) -> dict[str, Any]:
    """The figures of the plan's report ``kind`` as of the end of ``cutoff`` (YYYY-MM-DD; by default
    the last day of the report's months, or today while they last), with the organization's name.
    :raise NotFound: (another organization's plan, no such kind) Conflict: (not tracked) Invalid: (the cut-off)"""
    if kind not in reports.TITLES:
        raise NotFound(f"ไม่มีรายงานชนิด {kind[:40]}; รายงานที่มี: {', '.join(reports.TITLES)}")
    today = day_of(ctx.clock.now())
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        if not _is_tracked(session, plan.id):
            raise Conflict("แผนนี้ยังไม่ได้ประกาศใช้ (หรือเป็นการแก้ไขแผน) จึงยังไม่มีรายงานผลการดำเนินงาน "
                           "รายงานทำจากแผนการดำเนินงานของปีที่ประกาศใช้แล้ว")
        return _report(session, ctx, plan, kind, cutoff_of(kind, plan.fiscal_year, cutoff, today))


def _report(session: Session, ctx: Context, plan: Plan, kind: str, day: date) -> dict[str, Any]:
    figures = _figures(session, ctx, plan, kind, day, end_of_day(day))
    figures["organization"] = {"code": plan.organization.code, "name": plan.organization.name,
                               "province": plan.organization.province}
    figures["plan_id"] = plan.id
    return figures


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    mimetype: str
    filename: str  # in Thai, for people
    ascii_filename: str
    #: a PDF not made yet from these figures (``content`` is empty): the render cache's kind to queue
    #: (``document_kind``) for a render job to make it
    pending: str | None = None


def report_file(ctx: Context, actor: Actor, plan_id: int, kind: str, extension: str,
                cutoff: str | None = None) -> ReportFile:
    """The report as a file: PDF (documents/progress_report.py, as the render cache holds it, or
    ``pending``), XLSX (taskforms/report_sheets.py) or JSON (amounts and percentages as exact
    decimal strings, days as YYYY-MM-DD), the same bytes each time for a cut-off that is past.
    A read: it never renders a PDF. :raise NotFound: (no such format either) Conflict: Invalid:"""
    if extension not in FORMATS:
        raise NotFound(f"ไม่มีรายงานในรูปแบบ {extension[:20]}; รูปแบบที่มี: {', '.join(FORMATS)}")
    figures = report(ctx, actor, plan_id, kind, cutoff)
    names = progress_report.filename(figures, extension)
    if extension == "pdf":
        stored = document_kind(kind, figures["cutoff"])
        content = cache.lookup(ctx, plan_id, stored, source_key(figures))
        if content is None:
            return ReportFile(b"", FORMATS[extension], *names, pending=stored)
    elif extension == "xlsx":
        content = report_sheets.report_xlsx(figures)
    else:
        content = (json.dumps(figures, ensure_ascii=False, indent=1, default=str) + "\n").encode()
    return ReportFile(content, FORMATS[extension], *names)


#: How a report's PDF is named in the render cache and its jobs: "report:<kind>:<cut-off>", e.g.
#: "report:six-months:2021-03-31" (28 characters of RenderedDocument.kind's 32), one copy per cut-off.
DOCUMENT_PREFIX = "report:"


def document_kind(kind: str, cutoff: date) -> str:
    return f"{DOCUMENT_PREFIX}{kind}:{cutoff.isoformat()}"


def is_report(document: str) -> bool:
    return document.startswith(DOCUMENT_PREFIX)


def source_key(figures: dict[str, Any]) -> str:
    """The digest of what a report's PDF is made from: its figures (canonical JSON: every progress
    event up to the cut-off that changes what it prints changes them) and the code that draws it."""
    text = json.dumps(figures, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{cache.code_version()}\0{text}".encode()).hexdigest()


@dataclass(frozen=True)
class RenderedReport:
    content: bytes
    key: str


def render_report(ctx: Context, plan_id: int, document: str) -> RenderedReport | None:
    """The PDF of the cache's ``document`` (``document_kind``) as the plan's events stand now, for a
    render job: None when the cache keeps a copy of these figures already, or when there is
    no such report any more (the plan gone, or no longer tracked). The cut-off was checked when the
    download queued the job; it is past or today, so it stays a day of the report's months."""
    kind, _, day_text = document.removeprefix(DOCUMENT_PREFIX).partition(":")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        day = None
    if kind not in reports.TITLES or day is None:
        raise ValueError(f"not a report of the render cache: {document!r}")
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not _is_tracked(session, plan.id):
            return None
        figures = _report(session, ctx, plan, kind, day)
    key = source_key(figures)
    if cache.is_fresh(ctx, plan_id, document, key):
        return None
    return RenderedReport(progress_report.report_pdf(figures), key)


def cutoff_of(kind: str, fiscal_year: int, value: str | None, today: date) -> date:
    """The cut-off a report is asked for, checked: a day of the report's months, not after today.
    None: the report's last day, or today while its months last. :raise Invalid:"""
    span = reports.period(kind, fiscal_year)
    if value is None or value == "":
        return min(span.last, today) if today >= span.first else span.first
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise _bad_cutoff("วันที่ตัดยอด (cutoff) ต้องเป็นวันที่ในรูปแบบ ปปปป-ดด-วว เช่น 2021-03-31")
    if not span.first <= day <= span.last:
        raise _bad_cutoff(f"วันที่ตัดยอดของ{reports.TITLES[kind]}ต้องอยู่ระหว่างวันที่ {dates.long(span.first)} "
                          f"ถึงวันที่ {dates.long(span.last)}")
    if day > today:
        raise _bad_cutoff(f"วันที่ตัดยอดต้องไม่เป็นวันในอนาคต (วันนี้คือวันที่ {dates.long(today)})")
    return day


def figures_as_of(session: Session, ctx: Context, plan: Plan, kind: str, day: date) -> dict[str, Any]:
    """The figures a download of the report with cut-off ``day`` gets (and whose source_key keys its PDF),
    in the caller's transaction: for a command that publishes them."""
    return _report(session, ctx, plan, kind, day)


def is_tracked(session: Session, plan_id: int) -> bool:
    return _is_tracked(session, plan_id)


def _bad_cutoff(message: str) -> Invalid:
    return Invalid(message, [{"field": "cutoff", "message": message}])


def _is_tracked(session: Session, plan_id: int) -> bool:
    return session.scalars(select(TrackedProject.id).where(TrackedProject.plan_id == plan_id).limit(1)).first() \
        is not None


def _figures(session: Session, ctx: Context, plan: Plan, kind: str, day: date, until: datetime) -> dict[str, Any]:
    rows = session.execute(select(Event.kind, Event.at, Event.actor, Event.data).where(
        Event.plan_id == plan.id, Event.kind.in_(TRACKING_KINDS), Event.at <= until).order_by(Event.seq))
    state = replay(({"kind": k, "at": at, "actor": actor, "data": data} for k, at, actor, data in rows), until)
    return reports.figures(state, plan.fiscal_year, kind, day, _status_titles(session, ctx, plan))


def _status_titles(session: Session, ctx: Context, plan: Plan) -> dict[str, str]:
    """The statuses as the plan's progress form titles them."""
    version = ctx.models.published(session, plan.process_version_id)
    return catalog.status_titles(catalog.progress_form(version.meta, version.forms))


def with_year_figures(ctx: Context, file: PlanFile, kind: str) -> PlanFile:
    """``file`` with the annual figures its evaluation report prints: of the organization's tracked
    plan of the same fiscal year, as of the end of the evaluation's day or of the fiscal year,
    whichever is earlier, and never after the moment ``file`` stands at (its freezing step), so a
    frozen report is made again to the same bytes. Any other document: ``file`` unchanged."""
    if kind != EVALUATION or kind not in kinds_of(file.meta) or not file.data.get("evaluated_on"):
        return file
    try:
        evaluated = date.fromisoformat(str(file.data["evaluated_on"]))
    except ValueError:
        return file
    day = min(evaluated, reports.period(reports.ANNUAL, file.fiscal_year).last)
    with ctx.db.read() as session:
        plan = session.scalars(select(Plan).join(TrackedProject, TrackedProject.plan_id == Plan.id).where(
            Plan.organization_id == _organization_id(session, file.id), Plan.fiscal_year == file.fiscal_year)
            .order_by(Plan.id).limit(1)).first()
        if plan is None:
            return replace(file, progress={"tracked": False})
        figures = _figures(session, ctx, plan, reports.ANNUAL, day, min(end_of_day(day), file.now))
    return replace(file, progress={"tracked": True, **figures})


def _organization_id(session: Session, plan_id: int) -> int | None:
    return session.scalars(select(Plan.organization_id).where(Plan.id == plan_id)).first()
