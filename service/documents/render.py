"""The plan's documents as Thai PDFs: the operational plan (ส่วนที่ 1, flowchart, ผด.01, ผด.02,
ผด.02/1), the announcement, the posting certificate and the plan's record.

Each document is assembled from the plan's own records (the latest process data, the event log,
the deadlines, the process version it ran) and rendered from reports/ by WeasyPrint. The documents
a user task names in its ``freezeDocuments`` property are frozen once that task is done: rendered
as the plan stood then, stored once with their SHA-256 in the event log, and served as stored.
"""

from __future__ import annotations

import gc
import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import defer

from service import engine
from service.auth import SYSTEM, Actor
from service.bundles import diagram
from service.commands import plans
from service.config import SOURCE_ROOT
from service.context import Context
from service.errors import NotFound
from service.models import Event, FrozenDocument, Plan, User
from service.queries import deadline_view
from service.thai import dates, legaldays

REPORTS = SOURCE_ROOT / "reports"

#: The budget's plan-programs in their customary order; others follow in order of appearance.
PLAN_PROGRAMS = ("บริหารงานทั่วไป", "รักษาความสงบภายใน", "การศึกษา", "สาธารณสุข", "สังคมสงเคราะห์",
                 "เคหะและชุมชน", "สร้างความเข้มแข็งของชุมชน", "การศาสนาวัฒนธรรมและนันทนาการ",
                 "อุตสาหกรรมและการโยธา", "การเกษตร", "การพาณิชย์", "งบกลาง")
#: Roles no lane names (the process's roles are named by their lanes).
SYSTEM_ROLE_NAMES = {"admin": "ผู้ดูแลระบบ", "auditor": "ผู้ตรวจสอบ", "designer": "ผู้ออกแบบกระบวนงาน"}
EVENT_KINDS = {"plan_started": "เริ่มจัดทำแผน", "task_completed": "ดำเนินการแล้ว", "timer_fired": "ครบกำหนดเวลา",
               "document_frozen": "จัดเก็บเอกสารฉบับประกาศ"}
#: Each document's title, by kind (as in DOCUMENTS).
TITLES = {"plan": "แผนการดำเนินงาน", "announcement": "ประกาศใช้แผนการดำเนินงาน",
          "posting-certificate": "หนังสือรับรองการปิดประกาศ", "record": "บันทึกการจัดทำแผนการดำเนินงาน"}
DEADLINE_STATES = {"pending": "ยังไม่ถึงกำหนด", "met": "เป็นไปตามกำหนด", "missed": "เกินกำหนด"}
#: The flowchart's width on a landscape A4 page between the official margins (29.7 − 3 − 2 cm).
FLOWCHART_WIDTH_MM = 247.0
PT_PER_MM = 72 / 25.4
#: Label sizes in diagram units, scaled with the drawing.
LABEL_UNITS = {"pool": 30, "lane": 34, "task": 27, "subprocess": 28, "event": 26, "gateway": 26, "flow": 26}
#: A user task's property naming the documents frozen once it is done, e.g. "plan,announcement".
FREEZE_PROPERTY = "freezeDocuments"
FROZEN_EVENT = "document_frozen"


class NotReady(NotFound):
    """The document does not exist yet in the plan's state; the message says when it will."""

    title = "เอกสารยังไม่พร้อม"


# --- Baht in words -----------------------------------------------------------------------
_DIGITS = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
_PLACES = ("", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน")


def _number_words(n: int) -> str:
    """Thai words for a whole number ≥ 1 (ล้าน repeats for each six digits)."""
    if n >= 1_000_000:
        millions, rest = divmod(n, 1_000_000)
        return _number_words(millions) + "ล้าน" + (_group_words(rest, has_higher=True) if rest else "")
    return _group_words(n, has_higher=False)


def _group_words(n: int, has_higher: bool) -> str:
    words = []
    digits = str(n)
    for position, char in enumerate(digits):
        digit, place = int(char), len(digits) - position - 1
        if digit == 0:
            continue
        if place == 1 and digit == 1:
            words.append("สิบ")
        elif place == 1 and digit == 2:
            words.append("ยี่สิบ")
        elif place == 0 and digit == 1 and (has_higher or n > 9):
            words.append("เอ็ด")
        else:
            words.append(_DIGITS[digit] + _PLACES[place])
    return "".join(words)


def bahttext(amount: Decimal | int | float | str) -> str:
    """An amount of baht in Thai words: 1234 → หนึ่งพันสองร้อยสามสิบสี่บาทถ้วน."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if value < 0:
        return "ลบ" + bahttext(-value)
    baht, satang = divmod(int(value * 100), 100)
    if baht == 0 and satang == 0:
        return "ศูนย์บาทถ้วน"
    text = _number_words(baht) + "บาท" if baht else ""
    return text + (_number_words(satang) + "สตางค์" if satang else "ถ้วน")


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{Decimal(part) * 100 / Decimal(whole):.2f}" if whole else "0.00"


# --- What every document is made from ----------------------------------------------------
@dataclass
class PlanFile:
    """A plan's records, read once in one transaction."""

    id: int
    fiscal_year: int
    status: str
    organization: dict[str, str]
    process: dict[str, Any]
    bpmn_files: dict[str, str]
    forms: dict[str, Any]
    lane_roles: dict[str, str]
    elements: dict[str, Any]
    data: dict[str, Any]
    events: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]
    calendar: legaldays.Calendar
    people: dict[str, str]
    now: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    frozen: dict[str, str] = field(default_factory=dict)  # kind -> SHA-256 of the stored document

    @property
    def holidays(self) -> frozenset[date]:
        """The holidays that counted as the plan stood (``now``: the clock then, see as_of)."""
        return self.calendar.days_at(self.now)

    @property
    def announced(self) -> bool:
        return bool(self.data.get("announced_on"))

    def as_of(self, seq: int) -> PlanFile:
        """The plan as it stood right after event ``seq``: its data, history and clock then."""
        events = [e for e in self.events if e["seq"] <= seq]
        return replace(self, events=events, data=submitted_data(events), now=events[-1]["at"])

    def freeze_points(self) -> dict[str, int]:
        """Document kind -> the event after which it is frozen: the first completion of a task
        whose ``freezeDocuments`` property names it (only documents this module makes)."""
        kinds_of = {name: [k.strip() for k in element.get("properties", {}).get(FREEZE_PROPERTY, "").split(",")]
                    for name, element in self.elements.items()}
        points: dict[str, int] = {}
        for event in self.events:
            if event["kind"] == "task_completed":
                for kind in kinds_of.get(event["task"] or "", ()):
                    if kind in DOCUMENTS:
                        points.setdefault(kind, event["seq"])
        return points

    def role_name(self, role: str | None) -> str:
        if not role:
            return ""
        lanes = {r: lane for lane, r in self.lane_roles.items()}
        return lanes.get(role) or SYSTEM_ROLE_NAMES.get(role, role)


def load(ctx: Context, actor: Actor | None, plan_id: int) -> PlanFile:
    """The records of a plan the actor may see (``None``: the system). :raise NotFound:"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = session.get(Plan, plan_id)
        if row is None or (actor is not None and not actor.can_see(row.organization_id)):
            raise NotFound("ไม่พบแผนนี้")
        version = row.process_version
        events = [{"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "kind": e.kind, "task": e.task,
                   "data": e.data, "hash": e.hash}
                  for e in session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq))]
        usernames = {e["actor"] for e in events}
        people = dict(session.execute(select(User.username, User.display_name)
                                      .where(User.username.in_(usernames))).all()) if usernames else {}
        frozen = dict(session.execute(select(FrozenDocument.kind, FrozenDocument.sha256)
                                      .where(FrozenDocument.plan_id == plan_id)).all())
        return PlanFile(
            id=row.id, fiscal_year=row.fiscal_year, status=row.status,
            organization={"code": row.organization.code, "name": row.organization.name,
                          "province": row.organization.province},
            process={"name": version.name, "version": version.version, "title": version.title,
                     "digest": version.digest, "published_at": version.published_at},
            bpmn_files=dict(version.bpmn_files), forms=dict(version.forms), lane_roles=dict(version.lane_roles),
            elements=dict(version.elements), meta=dict(version.meta), data=submitted_data(events), events=events,
            deadlines=list(row.deadlines or []), calendar=ctx.calendar(session, now),
            people=people, now=now, frozen=frozen,
        )


def submitted_data(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan's data as its forms submitted it, the latest value of each field winning.

    Read from the event log rather than the engine: engine.Instance.data follows the last task
    the engine touched, which may be a boundary-event split that never saw the projects.
    """
    data: dict[str, Any] = {}
    for event in events:
        if event["kind"] in ("plan_started", "task_completed"):
            data.update(event["data"] or {})
    return data


# --- The operational plan ----------------------------------------------------------------
@dataclass
class Project:
    name: str
    activities: str
    budget: Decimal
    place: str
    unit: str
    strategy: str
    plan_program: str
    months: set[int]
    category: str = ""
    kind: str = ""


@dataclass
class Group:
    """Projects of one plan-program (or one strategy, holding its plan-programs)."""

    name: str
    number: int = 0
    projects: list[Project] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.projects) + sum(g.count for g in self.groups)

    @property
    def total(self) -> Decimal:
        return sum((p.budget for p in self.projects), Decimal(0)) + sum((g.total for g in self.groups), Decimal(0))

    @property
    def units(self) -> str:
        found = [p.unit for p in self.projects] + [g.units for g in self.groups]
        return ", ".join(dict.fromkeys(u for u in found if u))


def projects_of(data: dict[str, Any]) -> tuple[list[Project], list[Project]]:
    """(development projects for ผด.02, equipment not tied to a project for ผด.02/1)."""
    projects, equipment = [], []
    for item in data.get("projects") or []:
        project = Project(
            name=item.get("name", ""), activities=item.get("activities", ""),
            budget=Decimal(str(item.get("budget", 0))).quantize(Decimal("0.01"), ROUND_HALF_UP),
            place=item.get("place", ""), unit=item.get("responsible_unit", ""),
            strategy=item.get("strategy", ""), plan_program=item.get("plan_program", ""),
            months=set(item.get("months") or []), category=item.get("equipment_category", ""),
            kind=item.get("equipment_type", ""),
        )
        (equipment if item.get("is_equipment") else projects).append(project)
    return projects, equipment


def by_strategy(projects: list[Project]) -> list[Group]:
    """Strategies in order of first appearance, each with its plan-programs in budget order."""
    strategies: OrderedDict[str, OrderedDict[str, Group]] = OrderedDict()
    for project in projects:
        programs = strategies.setdefault(project.strategy, OrderedDict())
        programs.setdefault(project.plan_program, Group(project.plan_program)).projects.append(project)
    return [Group(name, number, groups=sorted(programs.values(), key=_program_order))
            for number, (name, programs) in enumerate(strategies.items(), start=1)]


def by_program(projects: list[Project]) -> list[Group]:
    programs: OrderedDict[str, Group] = OrderedDict()
    for project in projects:
        programs.setdefault(project.plan_program, Group(project.plan_program)).projects.append(project)
    return sorted(programs.values(), key=_program_order)


def _program_order(group: Group) -> int:
    return PLAN_PROGRAMS.index(group.name) if group.name in PLAN_PROGRAMS else len(PLAN_PROGRAMS)


def operational_plan(file: PlanFile) -> bytes:
    projects, equipment = projects_of(file.data)
    strategies = by_strategy(projects)
    flowchart = diagram.render(file.bpmn_files)
    return render("operational_plan.html", file, {
        "strategies": strategies,
        "project_count": len(projects),
        "project_total": sum((p.budget for p in projects), Decimal(0)),
        "equipment": by_program(equipment),
        "equipment_count": len(equipment),
        "equipment_total": sum((p.budget for p in equipment), Decimal(0)),
        "months": dates.fiscal_months(file.fiscal_year),
        "flowchart": _flowchart(flowchart),
        "regulation": file.meta.get("regulation", ""),
    })


def _flowchart(drawing: diagram.Diagram) -> dict[str, Any]:
    scale = FLOWCHART_WIDTH_MM / drawing.width
    labels = [{
        "kind": label.kind, "text": label.text,
        "style": (f"left:{label.x * scale:.2f}mm;top:{label.y * scale:.2f}mm;width:{label.width * scale:.2f}mm;"
                  f"height:{label.height * scale:.2f}mm;font-size:{LABEL_UNITS[label.kind] * scale * PT_PER_MM:.1f}pt"),
        # a vertical title: a box as long as the band is high, turned about the band's centre
        "rotated_style": (f"width:{label.height * scale:.2f}mm;height:{label.width * scale:.2f}mm;"
                          f"left:{(label.width - label.height) * scale / 2:.2f}mm;"
                          f"top:{(label.height - label.width) * scale / 2:.2f}mm"),
    } for label in drawing.labels]
    return {"svg": drawing.svg, "labels": labels, "width": FLOWCHART_WIDTH_MM, "height": drawing.height * scale}


# --- The announcement and the posting certificate ---------------------------------------
#: Documents that come to exist as the plan progresses: the data they need, and the sentence saying when.
PREREQUISITES = {
    "announcement": (("announced_on",), "ประกาศใช้แผนการดำเนินงานจะออกได้เมื่อผู้บริหารท้องถิ่นลงนามประกาศใช้แผนแล้ว "
                                        "ขณะนี้แผนยังไม่ได้ประกาศใช้"),
    "posting-certificate": (("announced_on", "posted_on", "certified_on"),
                            "หนังสือรับรองการปิดประกาศจะออกได้เมื่อปิดประกาศครบสามสิบวันและผู้รับผิดชอบ"
                            "บันทึกการรับรองการปิดประกาศแล้ว"),
}


def not_ready(file: PlanFile, kind: str) -> str | None:
    """Why the document does not exist yet in the plan's state, saying when it will; None if it does."""
    fields, when = PREREQUISITES.get(kind, ((), ""))
    return when if not all(file.data.get(name) for name in fields) else None


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


@dataclass
class Posting:
    """The posting of the announcement measured against ข้อ 26 (2), by legaldays' policy."""

    announced_on: date
    posted_on: date
    until: date
    removed: bool
    places: list[str]
    posting_due: date
    minimum_met_on: date

    @property
    def on_time(self) -> bool:
        return self.posted_on <= self.posting_due

    @property
    def days_late(self) -> int:
        return max((self.posted_on - self.posting_due).days, 0)

    @property
    def days_posted(self) -> int:
        """Whole days posted: the first day is not counted (ป.พ.พ. 193/3), nor the day it ends."""
        return max((self.until - self.posted_on).days - 1, 0)

    @property
    def long_enough(self) -> bool:
        return self.days_posted >= 30


def posting_of(file: PlanFile) -> Posting:
    data = file.data
    posted_on = legaldays.as_date(data["posted_on"])
    announced_on = legaldays.as_date(data["announced_on"])
    removed_on = data.get("posting_removed_on")
    return Posting(
        announced_on=announced_on, posted_on=posted_on,
        until=legaldays.as_date(removed_on or data["certified_on"]), removed=bool(removed_on),
        places=list(data.get("posting_places") or []),
        posting_due=legaldays.last_day(announced_on, 15, file.holidays),
        minimum_met_on=legaldays.last_day(posted_on, 30, file.holidays, extend_to_working_day=False),
    )


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
            "what": element.get("name") or EVENT_KINDS.get(event["kind"], event["kind"]),
            "kind_name": EVENT_KINDS.get(event["kind"], event["kind"]),
            "who": file.people.get(event["actor"], event["actor"]) if event["actor"] != "system" else "ระบบ",
            "role_name": file.role_name(event["role"]),
            "details": _details(event, form),
        })
    deadlines = [{**deadline_view(d, file.now), "kind": d["kind"]} for d in file.deadlines]
    return render("record.html", file, {"steps": steps, "deadlines": deadlines, "states": DEADLINE_STATES})


def _details(event: dict[str, Any], form: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's data as (title, value) lines, in the words of the task's form."""
    if event["kind"] == "timer_fired":
        return [("ครบกำหนด", ", ".join(event["data"].get("timers", [])) or "-")]
    if event["kind"] == FROZEN_EVENT:
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
    """One of the plan's documents as PDF: as stored once it is frozen (freezing it now if that
    has not happened yet), else rendered from the plan's records. :raise NotFound: :raise NotReady:"""
    if kind not in DOCUMENTS:
        raise NotFound(f"ไม่มีเอกสารชนิด {kind}; เอกสารที่มี: {', '.join(DOCUMENTS)}")
    file = load(ctx, actor, plan_id)
    if kind not in file.freeze_points():
        return Document(DOCUMENTS[kind](file))
    if kind not in file.frozen:
        freeze_due(ctx, plan_id)
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


def freeze_due(ctx: Context, plan_id: int) -> list[str]:
    """Freeze the plan's documents whose step is done and that are not stored yet; the kinds frozen.

    Called right after a completion and, should that have been missed, on the first download. Each
    is rendered as the plan stood right after its step, outside any transaction (a large plan takes
    seconds); then each is stored with a document_frozen event, in one transaction. Rendering is
    deterministic, so a freeze that lost a race stored the same bytes."""
    file = load(ctx, None, plan_id)
    due = {kind: seq for kind, seq in file.freeze_points().items() if kind not in file.frozen}
    rendered = {}
    for kind, seq in due.items():
        try:
            rendered[kind] = DOCUMENTS[kind](file.as_of(seq))
        except NotReady:  # a process that freezes a document before it can exist: it never freezes
            continue
    if not rendered:
        return []
    now = ctx.clock.now()
    with ctx.db.write() as session:
        plan = session.scalars(select(Plan).where(Plan.id == plan_id).options(defer(Plan.state_json))
                               .with_for_update()).one()  # one freezer at a time
        stored = set(session.scalars(select(FrozenDocument.kind).where(FrozenDocument.plan_id == plan_id)))
        frozen = [kind for kind in rendered if kind not in stored]
        for kind in frozen:
            pdf = rendered[kind]
            digest = hashlib.sha256(pdf).hexdigest()
            session.add(FrozenDocument(plan_id=plan_id, kind=kind, as_of_seq=due[kind], sha256=digest, content=pdf,
                                       frozen_at=now))
            plans.append_event(session, plan, now, SYSTEM.username, None, FROZEN_EVENT,
                                  {"kind": kind, "sha256": digest, "bytes": len(pdf)})
    return frozen

