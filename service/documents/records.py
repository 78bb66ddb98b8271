"""What the plan's documents are made from: the plan's records read once (PlanFile), its
projects grouped as the forms ผด.01 and ผด.02 group them, and the posting measured against the law.
Pure data: rendering is in documents/render.py, freezing in commands/documents.py."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from service import eventlog, labels
from service.auth import Actor
from service.bundles import committees
from service.context import Context
from service.errors import NotFound
from service.models import Event, FrozenDocument, Plan, User
from service.thai import legaldays

#: The budget's plan-programs in their customary order; others follow in order of appearance.
PLAN_PROGRAMS = ("บริหารงานทั่วไป", "รักษาความสงบภายใน", "การศึกษา", "สาธารณสุข", "สังคมสงเคราะห์",
                 "เคหะและชุมชน", "สร้างความเข้มแข็งของชุมชน", "การศาสนาวัฒนธรรมและนันทนาการ",
                 "อุตสาหกรรมและการโยธา", "การเกษตร", "การพาณิชย์", "งบกลาง")
_STRATEGY_WORD = re.compile(r"^\s*ยุทธศาสตร์\s*(ที่\s*[\d๐-๙]+)?[\s.:]*")
#: Roles no lane names (the process's roles are named by their lanes).
#: Each document's title, by kind.
TITLES = {"plan": "แผนการดำเนินงาน", "announcement": "ประกาศใช้แผนการดำเนินงาน",
          "posting-certificate": "หนังสือรับรองการปิดประกาศ", "record": "บันทึกการจัดทำแผนการดำเนินงาน",
          "evaluation": "รายงานผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่น"}
#: The documents of a process that names none in process.json (``"documents": [...]``).
DEFAULT_DOCUMENTS = ("plan", "announcement", "posting-certificate", "record")
#: A user task's property naming the documents frozen once it is done, e.g. "plan,announcement".
FREEZE_PROPERTY = "freezeDocuments"


class NotReady(NotFound):
    """The document does not exist yet in the plan's state; the message says when it will."""

    title = "เอกสารยังไม่พร้อม"


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
    public_url: str = ""  # the notice board's address, printed on the documents that freeze (render.py)
    #: the year's progress figures an evaluation report prints, computed above this layer and set by
    #: the commands that render it (tracking/reporting.py: with_year_figures); None: not computed
    progress: dict[str, Any] | None = None
    #: the terms of the organization's members of the committees (and roles) its lanes name, ended
    #: ones too (bundles/committees.py): the documents print who sat on each meeting's day
    seats: list[dict[str, Any]] = field(default_factory=list)

    def committee(self, role: str, on: date | str | None) -> list[dict[str, Any]]:
        """The seats of the committee ``role`` on the day ``on``, chair (or the single holder) first."""
        return committees.sitting(self.seats, role, on)

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
        whose ``freezeDocuments`` property names it (only documents the system makes)."""
        kinds_of = {name: [k.strip() for k in element.get("properties", {}).get(FREEZE_PROPERTY, "").split(",")]
                    for name, element in self.elements.items()}
        points: dict[str, int] = {}
        for event in self.events:
            if event["kind"] == eventlog.TASK_COMPLETED:
                for kind in kinds_of.get(event["task"] or "", ()):
                    if kind in TITLES:
                        points.setdefault(kind, event["seq"])
        return points

    def role_name(self, role: str | None) -> str:
        return labels.role_name(role, self.lane_roles)


def kinds_of(meta: dict[str, Any]) -> list[str]:
    """The documents a process makes: those its process.json names (``documents``), else the plan's."""
    named = meta.get("documents")
    return [k for k in named if k in TITLES] if isinstance(named, list) else list(DEFAULT_DOCUMENTS)


def title_of(meta: dict[str, Any], kind: str) -> str:
    """A document's title as its process words it (``document_titles`` in process.json), else the plan's."""
    named = meta.get("document_titles")
    title = named.get(kind) if isinstance(named, dict) else None
    if isinstance(title, str) and title.strip():
        return title
    report, _, publication = kind.rpartition("-")  # a published report: "six-months-14"
    if publication.isdigit() and report in labels.REPORT_TITLES:
        return labels.REPORT_TITLES[report]
    return TITLES.get(kind, kind)


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
            people=people, now=now, frozen=frozen, public_url=ctx.settings.public_url,
            seats=committees.seats_of(session, row.organization_id, version.lane_roles.values()),
        )


def submitted_data(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan's data as its forms submitted it, the latest value of each field winning.

    Read from the event log rather than the engine: engine.Instance.data follows the last task
    the engine touched, which may be a boundary-event split that never saw the projects.
    """
    data: dict[str, Any] = {}
    for event in events:
        if event["kind"] in eventlog.FORM_DATA_KINDS:
            data.update(event["data"] or {})
    return data


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
    source: str = ""  # whose project: the LAO's own ("lao") or another agency's
    agency: str = ""  # the other agency that runs or funds it
    funding: str = ""  # one of FUNDING (empty in plans recorded before the forms asked)
    transfer_number: str = ""  # the budget transfer's number, e.g. "13/2567"

    def funding_label(self, organization_name: str = "") -> str:
        """How ผด.02 labels the project's money, as published plans do: "เทศบัญญัติงบประมาณ" (a
        municipality's; "ข้อบัญญัติงบประมาณ" elsewhere), "จ่ายขาดเงินสะสม", "โอนงบครั้งที่ 13/2567",
        "เงินอุดหนุน", or the other agency's name; empty when none was recorded."""
        if self.funding == "ordinance":
            return "เทศบัญญัติงบประมาณ" if organization_name.startswith("เทศบาล") else "ข้อบัญญัติงบประมาณ"
        if self.funding == "transfer":
            return f"โอนงบครั้งที่ {self.transfer_number}".strip()
        if self.funding == "other_agency":
            return f"งบ {self.agency}" if self.agency else FUNDING["other_agency"]
        return FUNDING.get(self.funding, self.funding)

    @property
    def other_agency(self) -> str:
        """The agency whose project this is, when it is not the LAO's own (shown beside the unit)."""
        return self.agency if self.agency and (self.source not in ("", "lao") or self.funding == "other_agency") \
            and self.agency != self.unit else ""


#: A project's funding source (the forms' ``funding`` values) as plans print it.
FUNDING = {"ordinance": "ข้อบัญญัติ/เทศบัญญัติงบประมาณ", "accumulated_funds": "จ่ายขาดเงินสะสม",
           "transfer": "โอนงบประมาณ", "subsidy": "เงินอุดหนุน", "other_agency": "งบของหน่วยงานอื่น"}


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
    def heading(self) -> str:
        """A strategy's name as a heading after "ยุทธศาสตร์ที่ n": without a "ยุทธศาสตร์(ที่ n)" it may
        already start with, so the paper never reads "ยุทธศาสตร์ยุทธศาสตร์…"."""
        return _STRATEGY_WORD.sub("", self.name) or self.name

    @property
    def units(self) -> str:
        found = [p.unit for p in self.projects] + [g.units for g in self.groups]
        return ", ".join(dict.fromkeys(u for u in found if u))


def projects_of(data: dict[str, Any]) -> tuple[list[Project], list[Project]]:
    """(development projects for ผด.02, equipment not tied to a project for ผด.02/1)."""
    projects: list[Project] = []
    equipment: list[Project] = []
    for item in data.get("projects") or []:
        project = Project(
            name=item.get("name", ""), activities=item.get("activities", ""),
            budget=Decimal(str(item.get("budget", 0))).quantize(Decimal("0.01"), ROUND_HALF_UP),
            place=item.get("place", ""), unit=item.get("responsible_unit", ""),
            strategy=item.get("strategy", ""), plan_program=item.get("plan_program", ""),
            months=set(item.get("months") or []), category=item.get("equipment_category", ""),
            kind=item.get("equipment_type", ""), source=str(item.get("source") or ""),
            agency=str(item.get("agency") or ""), funding=str(item.get("funding") or ""),
            transfer_number=str(item.get("transfer_number") or ""),
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


#: Documents that come to exist as the plan progresses: the data they need, and the sentence saying when.
PREREQUISITES = {
    "announcement": (("announced_on",), "ประกาศใช้แผนการดำเนินงานจะออกได้เมื่อผู้บริหารท้องถิ่นลงนามประกาศใช้แผนแล้ว "
                                        "ขณะนี้แผนยังไม่ได้ประกาศใช้"),
    "posting-certificate": (("announced_on", "posted_on", "certified_on"),
                            "หนังสือรับรองการปิดประกาศจะออกได้เมื่อปิดประกาศครบสามสิบวันและผู้รับผิดชอบ"
                            "บันทึกการรับรองการปิดประกาศแล้ว"),
    "evaluation": (("evaluated_on",), "รายงานผลการติดตามและประเมินผลจะออกได้เมื่อบันทึกผลการติดตามและประเมินผลแล้ว"),
}
#: Why a document the plan's process does not make never will (its jobs and freezing skip it).
NOT_MADE = "กระบวนงานของแผนนี้ไม่มีเอกสารนี้"


def not_ready(file: PlanFile, kind: str) -> str | None:
    """Why the document does not exist yet in the plan's state, saying when it will; None if it does."""
    if kind not in kinds_of(file.meta):
        return NOT_MADE
    fields, when = PREREQUISITES.get(kind, ((), ""))
    return when if not all(file.data.get(name) for name in fields) else None



@dataclass
class Posting:
    """The posting of the announcement as recorded (where, from when, until when). Whether it met
    the law is the deadlines' verdict (service.deadlines), the same on every document."""

    announced_on: date
    posted_on: date
    until: date
    removed: bool
    places: list[str]

    @property
    def days_posted(self) -> int:
        """Whole days posted: the first day is not counted (ป.พ.พ. 193/3), nor the day it ends."""
        return max((self.until - self.posted_on).days - 1, 0)


def posting_of(file: PlanFile) -> Posting:
    data = file.data
    posted_on = legaldays.as_date(data["posted_on"])
    announced_on = legaldays.as_date(data["announced_on"])
    removed_on = data.get("posting_removed_on")
    return Posting(
        announced_on=announced_on, posted_on=posted_on,
        until=legaldays.as_date(removed_on or data["certified_on"]), removed=bool(removed_on),
        places=list(data.get("posting_places") or []),
    )


