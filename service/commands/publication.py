"""Publishing a tracked plan's 6-month report on the public notice board (ITA o10).

Publishing records one ``report_published`` event in the plan's chain (the report, its cut-off and
the SHA-256 of its figures' canonical JSON) and freezes the PDF made from those figures: at once
when the render cache already holds it (the bytes are copied, never rendered in the request),
otherwise by a job on the queue. The frozen bytes are stored as the plan's frozen documents are
(models.FrozenDocument, named ``<report>-<seq of its publication>``, with a document_frozen event),
so what the public once saw stays as it was, and a later publication of changed figures supersedes
it without replacing it. Publishing figures already published records nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from service import eventlog
from service.auth import ADMIN, Actor
from service.bundles.catalog import TRACKING_KEY
from service.commands import jobs, renders
from service.commands.chain import append_event, store_frozen
from service.context import Context
from service.documents import cache, progress_report
from service.errors import Conflict, Forbidden, NotFound
from service.models import Event, FrozenDocument, Plan
from service.thai import dates
from service.thai.legaldays import end_of_day
from service.tracking import reporting, reports

#: the reports that may be published: the ITA asks for the 6-month one (o10); the annual results are
#: the monitoring procedure's announcement (o11)
PUBLISHABLE = (reports.SIX_MONTHS,)
#: the jobs that freeze a published report's PDF (their handler is below)
PUBLISH = "publish"
ATTEMPTS = 3  # tries of one publication when the plan was saved meanwhile


def document_of(report: str, seq: int) -> str:
    """The frozen document of the publication recorded by event ``seq``, e.g. "six-months-14"."""
    return f"{report}-{seq}"


def figures_digest(figures: dict[str, Any]) -> str:
    """The SHA-256 of the figures' canonical JSON, as the render cache's key digests them (without the
    code's version: the same figures published again after a deployment are the same publication)."""
    text = json.dumps(figures, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def job_key(plan_id: int, document: str) -> str:
    return f"{PUBLISH}:{plan_id}:{document}"


@dataclass(frozen=True)
class Published:
    plan_id: int
    report: str
    cutoff: str
    figures_sha256: str
    document: str
    seq: int
    recorded: bool  # False: these figures were published already; nothing was recorded
    stored: bool  # the PDF is frozen already (else a job is freezing it)

    def as_dict(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "report": self.report, "cutoff": self.cutoff,
                "figures_sha256": self.figures_sha256, "document": self.document, "seq": self.seq,
                "recorded": self.recorded, "stored": self.stored}


def publish(ctx: Context, actor: Actor, plan_id: int, report: str = reports.SIX_MONTHS) -> Published:
    """Publish the plan's report as of its standard cut-off (its last day). :raise NotFound: (another
    organization's plan) Forbidden: (not a progress editor nor the admin) Conflict: (not tracked, the
    cut-off day not over yet, saved meanwhile)"""
    if report not in PUBLISHABLE:
        raise NotFound(f"รายงานที่เผยแพร่ต่อสาธารณะได้คือ {', '.join(PUBLISHABLE)}")
    for _attempt in range(ATTEMPTS):
        try:
            return _publish(ctx, actor, plan_id, report)
        except StaleDataError:
            continue  # progress recorded meanwhile moved the plan's head: count the figures again
    raise Conflict("มีผู้อื่นบันทึกข้อมูลของแผนนี้ในขณะเดียวกัน กรุณาเผยแพร่อีกครั้ง")


def _publish(ctx: Context, actor: Actor, plan_id: int, report: str) -> Published:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        tracking = ctx.models.published(session, plan.process_version_id).meta.get(TRACKING_KEY) or {}
        roles = actor.roles_in(plan.organization_id)
        if not roles & {*tracking.get("editors", []), ADMIN}:
            raise Forbidden("ผู้เผยแพร่รายงานต่อสาธารณะได้คือผู้บันทึกผลการดำเนินงานของทุกหน่วยงาน "
                            "(ตามที่กระบวนงานกำหนด) และผู้ดูแลระบบขององค์กร")
        cutoff = reports.period(report, plan.fiscal_year).last
        if not reporting.is_tracked(session, plan.id):
            raise Conflict("แผนนี้ยังไม่ได้ประกาศใช้ (หรือเป็นการแก้ไขแผน) จึงยังไม่มีรายงานที่จะเผยแพร่")
        if now <= end_of_day(cutoff):
            raise Conflict(f"{reports.TITLES[report]} เผยแพร่ได้เมื่อสิ้นวันที่ {dates.long(cutoff)} "
                           "ซึ่งเป็นวันตัดยอดของรายงาน")
        figures = reporting.figures_as_of(session, ctx, plan, report, cutoff)
        digest = figures_digest(figures)
        latest = _latest(session, plan.id, report)
        if latest is not None and latest.data.get("figures_sha256") == digest:
            document = document_of(report, latest.seq)
            return Published(plan.id, report, cutoff.isoformat(), digest, document, latest.seq, False,
                             _is_stored(session, plan.id, document))
        event = append_event(session, plan, now, actor.username, _role(roles, tracking), eventlog.REPORT_PUBLISHED,
                             {"report": report, "cutoff": cutoff.isoformat(), "figures_sha256": digest})
        document = document_of(report, event.seq)
        cached = cache.lookup(ctx, plan.id, reporting.document_kind(report, cutoff), reporting.source_key(figures))
        if cached is not None:  # rendered already from these very figures: those bytes are the published ones
            store_frozen(session, plan, document, event.seq, cached, now)
        else:
            jobs.enqueue(session, PUBLISH, {"plan_id": plan.id, "document": document}, job_key(plan.id, document),
                         now, plan_id=plan.id, max_attempts=renders.FREEZE_ATTEMPTS)
        return Published(plan.id, report, cutoff.isoformat(), digest, document, event.seq, True, cached is not None)


def _role(roles: set[str], tracking: dict[str, Any]) -> str:
    return next(role for role in [*tracking.get("editors", []), ADMIN] if role in roles)


def _latest(session: Session, plan_id: int, report: str) -> Event | None:
    published = session.scalars(select(Event).where(Event.plan_id == plan_id, Event.kind == eventlog.REPORT_PUBLISHED)
                                .order_by(Event.seq.desc()))
    return next((e for e in published if (e.data or {}).get("report") == report), None)


def _is_stored(session: Session, plan_id: int, document: str) -> bool:
    return session.scalars(select(FrozenDocument.id).where(FrozenDocument.plan_id == plan_id,
                                                           FrozenDocument.kind == document)).first() is not None


@jobs.handles(PUBLISH)
def freeze_publication(ctx: Context, payload: dict[str, Any]) -> None:
    """Render the published figures and store them; nothing when stored already. The figures are counted
    again from the events up to the cut-off: should they differ from those published (the organization
    renamed meanwhile), the job fails, saying so, and a new publication is the way on."""
    plan_id, document = payload.get("plan_id"), payload.get("document")
    if not isinstance(plan_id, int) or not isinstance(document, str):
        raise ValueError(f"a publish job needs a plan id and a document, not {payload!r}")
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            return  # the plan is gone (a test database emptied)
        if _is_stored(session, plan_id, document):
            return
        seq = int(document.rpartition("-")[2])
        event = session.scalars(select(Event).where(Event.plan_id == plan_id, Event.seq == seq)).one()
        data = dict(event.data or {})
        report, cutoff = str(data["report"]), reports.period(str(data["report"]), plan.fiscal_year).last
        figures = reporting.figures_as_of(session, ctx, plan, report, cutoff)
    if figures_digest(figures) != data["figures_sha256"]:
        raise ValueError(f"the figures of publication {document} of plan {plan_id} changed since it was "
                         "published; publish the report again")
    cache_kind, key = reporting.document_kind(report, cutoff), reporting.source_key(figures)
    content = cache.lookup(ctx, plan_id, cache_kind, key)
    if content is None:
        content = progress_report.report_pdf(figures)
        renders.store(ctx, plan_id, cache_kind, key, content, 0)  # a download of the report gets these bytes too
    now = ctx.clock.now()
    with ctx.db.write() as session:
        locked = session.scalars(select(Plan).where(Plan.id == plan_id).options(defer(Plan.state_json))
                                 .with_for_update()).one()  # one freezer at a time
        if not _is_stored(session, plan_id, document):
            store_frozen(session, locked, document, seq, content, now)
