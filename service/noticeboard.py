"""The public notice board's reads (/public/): what each organization has announced — its operational
plans and their numbered amendments — with the posting as recorded and the frozen documents. Nothing
else: no draft, no plan before its announcement, no person beyond what the documents print.

A plan is on the board once the step whose form records its announcement date is done. The board
knows the facts by the names of form fields, the convention the shipped forms follow: ``announced_on``,
``posted_on``, ``posting_removed_on``, ``certified_on``, ``posting_places``, or the same prefixed by the
process's name (``amendment_announced_on``). A process that allows several plans a year
(``one_per_fiscal_year: false``) numbers them by their start data's ``sequence`` ("ครั้งที่ 2/2568").
Each page is read in one transaction from the event rows of those steps and the frozen documents'
metadata; no workflow is restored.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from service import eventlog
from service.bundles.catalog import ONE_PER_YEAR_KEY, PUBLIC_BOARD_KEY, Published
from service.context import Context
from service.documents.records import TITLES, Posting, title_of
from service.errors import NotFound
from service.models import Event, FrozenDocument, Organization, Plan
from service.thai import dates
from service.thai.legaldays import as_date, day_of

FACTS = ("announced_on", "posted_on", "posting_removed_on", "certified_on", "posting_places", "posting_public_board")
SHA256 = re.compile(r"[0-9a-f]{64}")
#: organizations listed by one search at most: a national deployment has ~7,850
MAX_LISTED = 100
NOT_FOUND = "ไม่พบรายการนี้บนป้ายประกาศสาธารณะ"


@dataclass(frozen=True)
class PublicKind:
    """What the Integrity & Transparency Assessment asks a stable address for. A process answers one
    by naming its slug in process.json (``"public_board": "plan"``): the newest of its announced plans
    of a year is what the address shows. A report process is added that way, with no code."""

    slug: str
    ita: str
    title: str


KINDS = {kind.slug: kind for kind in (
    PublicKind("plan", "o9", "แผนการดำเนินงานและการใช้งบประมาณประจำปี"),
    PublicKind("progress-6-months", "o10", "รายงานการกำกับติดตามการดำเนินงานและการใช้งบประมาณ รอบ 6 เดือน"),
    PublicKind("annual-report", "o11", "รายงานผลการดำเนินงานประจำปี"),
)}


@dataclass(frozen=True)
class _Facts:
    fields: dict[str, str]  # fact -> the form field that records it in this process
    steps: frozenset[str]  # the BPMN ids of the steps whose forms record one of them


_facts_of: dict[int, _Facts] = {}  # by process version id: versions never change


def _facts(published: Published) -> _Facts:
    found = _facts_of.get(published.id)
    if found is None:
        names = {key for form in published.forms.values() for key in (form.get("properties") or {})}
        fields = {}
        for fact in FACTS:
            named = next((n for n in (f"{published.name}_{fact}", fact) if n in names), None)
            if named:
                fields[fact] = named
        wanted = set(fields.values())
        steps = frozenset(bpmn_id for bpmn_id in published.model.elements
                          if wanted & set(published.form_of(bpmn_id).get("properties") or {}))
        found = _facts_of[published.id] = _Facts(fields, steps)
    return found


# --- What a page was made from ---------------------------------------------------------------
#: bumped when what the pages show from the same records changes (a template or a rule)
PAGES_VERSION = "1"


def fingerprint(ctx: Context, code: str) -> str | None:
    """A digest of everything an organization's public pages are made from: each of its plans' event
    head (a step, a frozen document and a listing each move it), the day in Bangkok (days posted so far)
    and the deployment's address; None for no such organization. One indexed read, no event is read:
    a crowd asking again is answered from it without making the page."""
    if not 0 < len(code) <= 32:
        return None
    with ctx.db.read() as session:
        heads = session.execute(select(Organization.id, Plan.id, Plan.event_hash)
                                .outerjoin(Plan, Plan.organization_id == Organization.id)
                                .where(Organization.code == code).order_by(Plan.id)).all()
    if not heads:
        return None
    made_of = [PAGES_VERSION, code, day_of(ctx.clock.now()).isoformat(), ctx.settings.public_url,
               *(f"{plan_id}:{head}" for _, plan_id, head in heads)]
    return hashlib.sha256("\n".join(map(str, made_of)).encode()).hexdigest()[:32]


# --- Reading an organization's board ------------------------------------------------------
def _organization(session: Session, code: str) -> Organization:
    row = session.scalars(select(Organization).where(Organization.code == code)).first() \
        if 0 < len(code) <= 32 else None
    if row is None:
        raise NotFound("ไม่พบองค์กรปกครองส่วนท้องถิ่นรหัสนี้บนป้ายประกาศสาธารณะ")
    return row


def _announced(ctx: Context, session: Session, plans: list[Plan], today: date) -> list[dict[str, Any]]:
    """The announced ones of ``plans`` as the board shows them, newest announcement first."""
    if not plans:
        return []
    versions = {p.process_version_id: ctx.models.published(session, p.process_version_id) for p in plans}
    steps = set().union(*(_facts(v).steps for v in versions.values()))
    data: dict[int, dict[str, Any]] = {p.id: {} for p in plans}
    version_of = {p.id: p.process_version_id for p in plans}
    announced_at: dict[int, datetime] = {}
    rows = session.execute(select(Event.plan_id, Event.kind, Event.at, Event.data).where(
        Event.plan_id.in_(data),
        or_(Event.kind == eventlog.PLAN_STARTED, and_(Event.kind == eventlog.TASK_COMPLETED, Event.task.in_(steps))),
    ).order_by(Event.plan_id, Event.seq))
    for plan_id, kind, at, values in rows:
        data[plan_id].update(values or {})  # the latest value of each field wins, as in the plan's own data
        fields = _facts(versions[version_of[plan_id]]).fields
        if kind == eventlog.TASK_COMPLETED and fields.get("announced_on") in (values or {}):
            announced_at[plan_id] = at
    items = []
    for plan in plans:
        version = versions[plan.process_version_id]
        fields = _facts(version).fields
        recorded = {fact: data[plan.id].get(name) for fact, name in fields.items()}
        if plan.id not in announced_at or not recorded.get("announced_on"):
            continue
        items.append(_item(plan, version, recorded, data[plan.id].get("sequence"), announced_at[plan.id], today))
    items.sort(key=lambda i: (i["announced_on"], i["announced_at"], i["id"]), reverse=True)
    frozen = _frozen(session, [i["id"] for i in items])
    for item in items:
        meta = versions[version_of[item["id"]]].meta  # a document's title as its process words it
        item["documents"] = [{**d, "title": title_of(meta, d["kind"])} for d in frozen.get(item["id"], [])]
    return items


def _item(plan: Plan, version: Published, recorded: dict[str, Any], sequence: Any, announced_at: datetime,
          today: date) -> dict[str, Any]:
    numbered = not version.meta.get(ONE_PER_YEAR_KEY, True) and isinstance(sequence, int)
    kind = version.meta.get(PUBLIC_BOARD_KEY) if version.meta.get(PUBLIC_BOARD_KEY) in KINDS else None
    number = f"{sequence}/{plan.fiscal_year}" if numbered else None
    title = f"{version.title} ครั้งที่ {number}" if numbered else \
        f"{TITLES['plan'] if kind == 'plan' else version.title} ประจำปีงบประมาณ พ.ศ. {plan.fiscal_year}"
    return {"id": plan.id, "fiscal_year": plan.fiscal_year, "process": version.name, "kind": kind,
            "numbered": numbered, "sequence": sequence if numbered else 0, "number": number, "title": title,
            "announced_on": as_date(recorded["announced_on"]), "announced_at": announced_at,
            "posting": _posting(recorded, today), "on_the_board": _on_the_board(recorded, announced_at, today)}


def _posting(recorded: dict[str, Any], today: date) -> dict[str, Any] | None:
    """The posting as recorded: from, until (the removal, or the certification that it was still up),
    and the whole days posted, so far while it is still up (counted as the posting certificate counts)."""
    if not recorded.get("posted_on"):
        return None
    ended_on = recorded.get("posting_removed_on") or recorded.get("certified_on")
    posted_on = as_date(recorded["posted_on"])
    until = as_date(ended_on) if ended_on else max(today, posted_on)
    places = recorded.get("posting_places")
    posting = Posting(announced_on=as_date(recorded["announced_on"]), posted_on=posted_on, until=until,
                      removed=bool(recorded.get("posting_removed_on")),
                      places=[str(p) for p in places] if isinstance(places, list) else [])
    return {"posted_on": posting.posted_on, "until": until if ended_on else None, "days": posting.days_posted,
            "removed": posting.removed, "places": posting.places}


def _on_the_board(recorded: dict[str, Any], announced_at: datetime, today: date) -> dict[str, Any] | None:
    """The posting on this board, when the posting step named it as a place: from the day the system
    recorded the announcement, never ended by the system; whole days so far, counted as above."""
    if recorded.get("posting_public_board") is not True:
        return None
    since = day_of(announced_at)
    return {"since": since, "days": max((today - since).days - 1, 0)}


def _frozen(session: Session, plan_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    if not plan_ids:
        return found
    rows = session.execute(select(FrozenDocument.plan_id, FrozenDocument.kind, FrozenDocument.sha256,
                                  func.length(FrozenDocument.content), FrozenDocument.frozen_at)
                           .where(FrozenDocument.plan_id.in_(plan_ids)).order_by(FrozenDocument.id))
    for plan_id, kind, sha256, size, frozen_at in rows:
        if PUBLISHED_DOCUMENT.fullmatch(kind):
            continue  # a published report's PDF (commands/publication.py): listed with its publication

        found.setdefault(plan_id, []).append({"kind": kind, "title": TITLES.get(kind, kind), "sha256": sha256,
                                              "size": int(size or 0), "frozen_at": frozen_at})
    return found


def _board(ctx: Context, session: Session, organization: Organization) -> list[dict[str, Any]]:
    plans = list(session.scalars(select(Plan).where(Plan.organization_id == organization.id)))
    return _announced(ctx, session, plans, day_of(ctx.clock.now()))


def _public(organization: Organization) -> dict[str, Any]:
    return {"code": organization.code, "name": organization.name, "province": organization.province,
            "created_at": organization.created_at}


def board(ctx: Context, code: str) -> dict[str, Any]:
    """An organization and what it has announced, newest first. :raise NotFound:"""
    with ctx.db.read() as session:
        organization = _organization(session, code)
        items = _board(ctx, session, organization)
        # the current fiscal year's addresses exist before anything is announced in it (they answer 404 until then)
        published = _publications(session, organization)
        years = {i["fiscal_year"] for i in items} | {p["fiscal_year"] for p in published} | \
            {dates.fiscal_year_of(day_of(ctx.clock.now()))}
        return {"organization": _public(organization), "items": items, "years": sorted(years, reverse=True),
                "reports": published}


def item(ctx: Context, code: str, plan_id: int) -> dict[str, Any]:
    """One announced plan or amendment of the organization, with the history of its year's plan
    (the plan and each amendment, in order). :raise NotFound: whatever the reason."""
    with ctx.db.read() as session:
        organization = _organization(session, code)
        items = _board(ctx, session, organization)
        found = next((i for i in items if i["id"] == plan_id), None)
        if found is None:
            raise NotFound(NOT_FOUND)
        return _page(organization, items, found)


def newest(ctx: Context, code: str, fiscal_year: int, slug: str) -> dict[str, Any]:
    """The newest announced version of what ``slug`` names for that fiscal year: for the plan, its
    latest announced amendment, or the plan itself before any. :raise NotFound: none announced (yet)."""
    kind = KINDS.get(slug)
    if kind is None:
        raise NotFound(NOT_FOUND)
    with ctx.db.read() as session:
        organization = _organization(session, code)
        items = _board(ctx, session, organization)
        matching = [i for i in items if i["fiscal_year"] == fiscal_year and i["kind"] == slug]
        if not matching:
            raise NotFound(f"{organization.name} ยังไม่มี{kind.title} ประจำปีงบประมาณ พ.ศ. {fiscal_year} "
                           "ที่ประกาศไว้บนป้ายประกาศสาธารณะ เมื่อประกาศแล้วจะแสดงที่ที่อยู่นี้")
        newest_first = max(matching, key=lambda i: (i["sequence"], i["announced_on"], i["id"]))
        return {**_page(organization, items, newest_first), "stable": kind}


def _page(organization: Organization, items: list[dict[str, Any]], found: dict[str, Any]) -> dict[str, Any]:
    history = sorted((i for i in items if i["fiscal_year"] == found["fiscal_year"] and i["kind"] == found["kind"]),
                     key=lambda i: (i["sequence"], i["announced_on"], i["id"]))
    return {"organization": _public(organization), "item": found, "history": history}


# --- Published progress reports (commands/publication.py) --------------------------------------
#: the ITA address a published report answers, by report
REPORT_SLUGS = {"six-months": "progress-6-months"}
#: how a published report's frozen PDF is named: the report and the seq of its publication's event
PUBLISHED_DOCUMENT = re.compile(r"(six-months|annual)-[0-9]+")


def _publications(session: Session, organization: Organization) -> list[dict[str, Any]]:
    """The organization's published reports, newest first, each with its frozen PDF (None until a worker
    has stored it) and whether a later publication of the same report and year supersedes it."""
    rows = session.execute(select(Plan.fiscal_year, Event.plan_id, Event.seq, Event.at, Event.data)
                           .join(Plan, Plan.id == Event.plan_id)
                           .where(Plan.organization_id == organization.id,
                                  Event.kind == eventlog.REPORT_PUBLISHED)
                           .order_by(Event.at, Event.plan_id, Event.seq)).all()
    if not rows:
        return []
    stored = {(plan_id, kind): {"sha256": sha256, "size": int(size or 0), "frozen_at": at}
              for plan_id, kind, sha256, size, at in session.execute(
                  select(FrozenDocument.plan_id, FrozenDocument.kind, FrozenDocument.sha256,
                         func.length(FrozenDocument.content), FrozenDocument.frozen_at)
                  .where(FrozenDocument.plan_id.in_({r.plan_id for r in rows})))}
    found: list[dict[str, Any]] = []
    numbers: dict[tuple[int, str], int] = {}
    for fiscal_year, plan_id, seq, at, data in rows:
        report = str((data or {}).get("report", ""))
        slug = REPORT_SLUGS.get(report)
        if slug is None:
            continue
        number = numbers[(fiscal_year, report)] = numbers.get((fiscal_year, report), 0) + 1
        document = f"{report}-{seq}"  # as commands/publication.document_of names it
        found.append({"plan_id": plan_id, "fiscal_year": fiscal_year, "report": report, "slug": slug,
                      "ita": KINDS[slug].ita, "title": f"{KINDS[slug].title} ประจำปีงบประมาณ พ.ศ. {fiscal_year}",
                      "number": number, "cutoff": as_date(data["cutoff"]), "published_at": at,
                      "figures_sha256": data.get("figures_sha256", ""), "document": document,
                      "stored": stored.get((plan_id, document))})
    for entry in found:
        entry["superseded"] = entry["number"] < numbers[(entry["fiscal_year"], entry["report"])]
    return sorted(found, key=lambda p: (p["published_at"], p["plan_id"], p["number"]), reverse=True)


def published_report(ctx: Context, code: str, fiscal_year: int, slug: str) -> dict[str, Any] | None:
    """The newest published report the ITA address ``slug`` names for the fiscal year, with the earlier
    ones (superseded, still served); None when the address names no report. :raise NotFound: none yet."""
    report = next((r for r, s in REPORT_SLUGS.items() if s == slug), None)
    if report is None:
        return None
    with ctx.db.read() as session:
        organization = _organization(session, code)
        of_year = [p for p in _publications(session, organization)
                   if p["fiscal_year"] == fiscal_year and p["report"] == report]
        if not of_year:
            raise NotFound(f"{organization.name} ยังไม่มี{KINDS[slug].title} ประจำปีงบประมาณ พ.ศ. {fiscal_year} "
                           "ที่เผยแพร่ไว้บนป้ายประกาศสาธารณะ เมื่อเผยแพร่แล้วจะแสดงที่ที่อยู่นี้")
        return {"organization": _public(organization), "report": of_year[0], "earlier": of_year[1:],
                "stable": KINDS[slug]}


def ita_links(code: str, years: list[int]) -> list[dict[str, Any]]:
    """The stable addresses (paths) an organization gives the ITA, per fiscal year and item."""
    return [{"fiscal_year": year, "ita": kind.ita, "title": kind.title, "path": f"/public/{code}/{year}/{kind.slug}"}
            for year in years for kind in KINDS.values()]


# --- Documents and their verification -----------------------------------------------------
def document(ctx: Context, code: str, plan_id: int, kind: str) -> dict[str, Any]:
    """A frozen document of an announced item, as stored. :raise NotFound:"""
    with ctx.db.read() as session:
        organization = _organization(session, code)
        published = next((p for p in _publications(session, organization)
                          if p["plan_id"] == plan_id and p["document"] == kind and p["stored"]), None)
        if published is not None:
            stored = session.scalars(select(FrozenDocument).where(FrozenDocument.plan_id == plan_id,
                                                                  FrozenDocument.kind == kind)).one()
            return {"content": stored.content, "sha256": stored.sha256, "fiscal_year": published["fiscal_year"],
                    "organization": _public(organization), "kind": kind, "report": published["report"],
                    "title": published["title"]}
        found = next((i for i in _board(ctx, session, organization) if i["id"] == plan_id), None)
        if found is None or kind not in {d["kind"] for d in found["documents"]}:
            raise NotFound(NOT_FOUND)
        stored = session.scalars(select(FrozenDocument).where(FrozenDocument.plan_id == plan_id,
                                                              FrozenDocument.kind == kind)).one()
        return {"content": stored.content, "sha256": stored.sha256, "fiscal_year": found["fiscal_year"],
                "organization": _public(organization), "kind": kind}


def verification(ctx: Context, plan_id: int, kind: str) -> dict[str, Any]:
    """What the QR code on a frozen document points to: who announced it, when, and the SHA-256 and
    size of the stored bytes. :raise NotFound: no such announced document, whatever the reason."""
    with ctx.db.read() as session:
        return _verification(ctx, session, plan_id, kind)


def _verification(ctx: Context, session: Session, plan_id: int, kind: str) -> dict[str, Any]:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(NOT_FOUND)
    organization = session.get(Organization, plan.organization_id)
    assert organization is not None  # a plan's organization is a foreign key
    items = _board(ctx, session, organization)
    found = next((i for i in items if i["id"] == plan_id), None)
    stored = next((d for d in found["documents"] if d["kind"] == kind), None) if found else None
    if found is None or stored is None:
        raise NotFound(NOT_FOUND)
    return {**_page(organization, items, found), "document": stored}


def by_digest(ctx: Context, sha256: str) -> dict[str, Any] | None:
    """The announced document whose stored bytes have this SHA-256, or None."""
    if not SHA256.fullmatch(sha256):
        return None
    with ctx.db.read() as session:
        for plan_id, kind in session.execute(select(FrozenDocument.plan_id, FrozenDocument.kind)
                                             .where(FrozenDocument.sha256 == sha256).order_by(FrozenDocument.id)):
            try:
                return _verification(ctx, session, plan_id, kind)
            except NotFound:
                continue
    return None


def digest(content: bytes) -> str:
    """The SHA-256 of an uploaded file, computed in memory; the file is never stored."""
    return hashlib.sha256(content).hexdigest()


# --- The organization index ------------------------------------------------------------------
def organizations(ctx: Context, text: str = "", province: str = "", fiscal_year: int | None = None
                  ) -> dict[str, Any]:
    """Organizations by name or code (``text``), province, and having announced in ``fiscal_year``;
    at most MAX_LISTED, each with how many items it has announced."""
    text, province = text.strip()[:200], province.strip()[:100]
    with ctx.db.read() as session:
        query = select(Organization).order_by(Organization.province, Organization.name, Organization.id)
        if text:
            query = query.where(or_(Organization.name.contains(text, autoescape=True),
                                    func.lower(Organization.code).contains(text.lower(), autoescape=True)))
        if province:
            query = query.where(Organization.province == province)
        if fiscal_year is not None:
            query = query.where(Organization.id.in_(select(Plan.organization_id)
                                                    .where(Plan.fiscal_year == fiscal_year)))
        rows = list(session.scalars(query.limit(MAX_LISTED + 1)))
        listed = rows[:MAX_LISTED]
        plans = list(session.scalars(select(Plan).where(Plan.organization_id.in_([o.id for o in listed])))) \
            if listed else []
        items = _announced(ctx, session, plans, day_of(ctx.clock.now()))
        by_organization: dict[int, list[dict[str, Any]]] = {}
        organization_of = {p.id: p.organization_id for p in plans}
        for found in items:
            if fiscal_year is None or found["fiscal_year"] == fiscal_year:
                by_organization.setdefault(organization_of[found["id"]], []).append(found)
        shown = [{**_public(o), "announced": len(by_organization.get(o.id, [])),
                  "latest": by_organization[o.id][0] if o.id in by_organization else None}
                 for o in listed if fiscal_year is None or o.id in by_organization]
        provinces = [p for p in session.scalars(select(Organization.province).distinct()
                                                .order_by(Organization.province)) if p]
        return {"organizations": shown, "more": len(rows) > MAX_LISTED, "provinces": provinces}


# --- The Atom feed -----------------------------------------------------------------------------
def entry_id(code: str, plan_id: int | None = None, document: str | None = None) -> str:
    """A stable Atom id: the same for the same organization (and item, and published report's document)
    whatever address it is served at."""
    name = f"phaen:public:{code}" + (f":{plan_id}" if plan_id is not None else "") + \
        (f":{document}" if document is not None else "")
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn
