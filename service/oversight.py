"""Oversight: the district and provincial offices (and national admins and auditors) watching every
organization of their area at once: each one's plan of a fiscal year, where it stands and how it
fares against each legal deadline, sorted, filtered, counted and paged in SQL over the plans'
standings (models.PlanStanding, written with each save of a plan by ``note``)."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from service import deadlines
from service.auth import ADMIN, AUDITOR, Actor
from service.bundles import catalog
from service.context import Context
from service.errors import Forbidden, Invalid
from service.models import OpenTask, Organization, OversightArea, Plan, PlanStanding, UtcDateTime
from service.thai import dates
from service.thai.legaldays import day_of

#: Where an organization's plan of the year stands, as the dashboard counts and filters it.
ON_TIME, LATE, NOT_STARTED, COMPLETED = "on_time", "late", "not_started", "completed"
CATEGORIES = {ON_TIME: "ตามกำหนด", LATE: "ล่าช้า", NOT_STARTED: "ยังไม่เริ่ม", COMPLETED: "เสร็จสิ้นกระบวนงาน"}
#: The orders offered; "status" puts the late first, "overdue" the most days past a limit first.
SORTS = {"name": "ชื่อองค์กร", "district": "อำเภอ", "status": "สถานะ", "overdue": "เกินกำหนดมากที่สุดก่อน"}
PAGE, MAX_PAGE, MAX_TEXT = 50, 200, 100
FISCAL_YEARS = range(2500, 2701)
NOT_OVERSIGHT = "เฉพาะผู้กำกับดูแล (สถ.อำเภอ สถ.จังหวัด) ผู้ตรวจสอบและผู้ดูแลระบบระดับประเทศเท่านั้นที่ดูภาพรวมได้"
BAD_CURSOR = "after ต้องเป็นค่า next ที่ได้จากหน้าก่อนหน้าของรายการเดียวกัน"
#: Stands in for "no limit pending" in the overdue order: after every real date.
_NO_LIMIT = datetime(9999, 1, 1, tzinfo=UTC)


# --- The read model, written with each save ------------------------------------------------
def standing(plan_deadlines: list[dict[str, Any]] | None) -> tuple[bool, datetime | None]:
    """(a deadline was missed, the earliest limit still pending) of a plan's stored deadlines: the
    plan is late once that limit passes (service.deadlines.verdict's rule), or if one was missed."""
    listed = plan_deadlines or []
    pending = [datetime.fromisoformat(d["due_at"]) for d in listed if d["kind"] == "limit" and d["state"] == "pending"]
    return any(d["state"] == "missed" for d in listed), min(pending, default=None)


def note(session: Session, plan: Plan, meta: dict[str, Any]) -> None:
    """Keep the standing of the plan, if it is its organization's plan of the year: the first one of
    a default process (amendments and other processes are not what the dashboard shows)."""
    if not meta.get(catalog.DEFAULT_KEY) or plan.id is None:
        return
    missed, due_at = standing(plan.deadlines)
    row = session.get(PlanStanding, plan.id)
    if row is None:
        if session.scalar(select(PlanStanding.plan_id).where(PlanStanding.organization_id == plan.organization_id,
                                                             PlanStanding.fiscal_year == plan.fiscal_year)):
            return
        session.add(PlanStanding(plan_id=plan.id, organization_id=plan.organization_id, fiscal_year=plan.fiscal_year,
                                 status=plan.status, missed=missed, due_at=due_at))
    else:
        row.status, row.missed, row.due_at = plan.status, missed, due_at


# --- Who sees what -------------------------------------------------------------------------
@dataclass(frozen=True)
class Area:
    """A province and, if one, a district of it; ``province`` None: the whole country."""

    province: str | None
    district: str = ""

    @property
    def title(self) -> str:
        if self.province is None:
            return "ทั่วประเทศ"
        return f"อำเภอ{self.district} จังหวัด{self.province}" if self.district else f"จังหวัด{self.province}"

    def condition(self) -> Any:
        found = [] if self.province is None else [Organization.province == self.province]
        if self.district:
            found.append(Organization.district == self.district)
        return and_(Organization.active.is_(True), *found)


def area_of(session: Session, actor: Actor) -> Area:
    """:raise Forbidden: the actor oversees nothing (no area, and no national admin or auditor)."""
    if {ADMIN, AUDITOR} & actor.national_roles:
        return Area(None)
    row = session.get(OversightArea, actor.user_id) if actor.user_id is not None else None
    if row is None:
        raise Forbidden(NOT_OVERSIGHT)
    return Area(row.province, row.district)


# --- What is asked -------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    fiscal_year: int
    sort: str = "name"
    status: str = ""
    district: str = ""
    type: str = ""
    search: str = ""


def current_fiscal_year(now: datetime) -> int:
    """The fiscal year (พ.ศ.) of today in Bangkok: 1 Oct (N-1) - 30 Sep N is N."""
    return dates.fiscal_year_of(day_of(now))


def filters_from(args: Mapping[str, str], now: datetime, types: Mapping[str, str]) -> Filters:
    """The dashboard's query (a page's or the API's); ``types``: the organization types (key -> title)
    the administration keeps. :raise Invalid: a value it does not offer."""
    year = (args.get("fiscal_year") or "").strip()
    if year and not (year.isascii() and year.isdigit() and int(year) in FISCAL_YEARS):
        raise _invalid("fiscal_year", "ปีงบประมาณต้องเป็นปี พ.ศ. ระหว่าง 2500 ถึง 2700")
    sort = args.get("sort") or "name"
    if sort not in SORTS:
        raise _invalid("sort", f"การเรียงต้องเป็นหนึ่งใน {', '.join(SORTS)}")
    status = args.get("status") or ""
    if status and status not in CATEGORIES:
        raise _invalid("status", f"สถานะต้องเป็นหนึ่งใน {', '.join(CATEGORIES)}")
    kind = args.get("type") or ""
    if kind and kind not in types:
        raise _invalid("type", f"ประเภทองค์กรต้องเป็นหนึ่งใน {', '.join(types)}")
    texts = {name: (args.get(name) or "").replace("\x00", "").strip() for name in ("district", "q")}
    for name, text in texts.items():
        if len(text) > MAX_TEXT:
            raise _invalid(name, f"ยาวได้ไม่เกิน {MAX_TEXT} ตัวอักษร")
    return Filters(int(year) if year else current_fiscal_year(now), sort, status, texts["district"], kind, texts["q"])


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"คำค้นไม่ถูกต้อง: {message}", [{"field": field, "message": message}])


def _cursor(sort: str, organization_id: int) -> str:
    """A page's ``next``: the order and the last organization shown (its keys are read again)."""
    return base64.urlsafe_b64encode(json.dumps(["o", sort, organization_id]).encode()).decode().rstrip("=")


def _cursor_id(text: str, sort: str) -> int:
    try:
        if len(text) > 100:
            raise ValueError(text)
        tag, listed_sort, found = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if tag != "o" or listed_sort != sort or type(found) is not int or not 0 < found < 2**31:
            raise ValueError(text)
        return found
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as err:
        raise _invalid("after", BAD_CURSOR) from err


# --- The dashboard -------------------------------------------------------------------------
def _category(now: datetime) -> Any:
    return case((PlanStanding.plan_id.is_(None), NOT_STARTED), (PlanStanding.status == COMPLETED, COMPLETED),
                (or_(PlanStanding.missed.is_(True), PlanStanding.due_at < now), LATE), else_=ON_TIME)


def _keys(sort: str, now: datetime) -> list[Any]:
    """The order's keys, the last one unique: one direction, so a cursor is a row value comparison."""
    if sort == "district":
        return [Organization.district, Organization.name, Organization.id]
    if sort == "status":
        rank = case((PlanStanding.plan_id.is_(None), 2), (PlanStanding.status == COMPLETED, 3),
                    (or_(PlanStanding.missed.is_(True), PlanStanding.due_at < now), 0), else_=1)
        return [rank, Organization.name, Organization.id]
    if sort == "overdue":
        due = case((PlanStanding.status == "running", PlanStanding.due_at), else_=None)
        return [type_coerce(func.coalesce(due, literal(_NO_LIMIT, UtcDateTime())), UtcDateTime()),
                Organization.name, Organization.id]
    return [Organization.name, Organization.id]


def _joined(fiscal_year: int) -> Any:
    return Organization.__table__.outerjoin(PlanStanding.__table__, and_(
        PlanStanding.organization_id == Organization.id, PlanStanding.fiscal_year == fiscal_year))


def _narrowed(area: Area, filters: Filters) -> list[Any]:
    """The conditions of the area and the filters but the status (the counts are over them)."""
    found = [area.condition()]
    if filters.district:
        found.append(Organization.district == filters.district)
    if filters.type:
        found.append(Organization.type == filters.type)
    if filters.search:
        found.append(or_(Organization.name.contains(filters.search, autoescape=True),
                         Organization.code.contains(filters.search, autoescape=True)))
    return found


def dashboard(ctx: Context, actor: Actor, filters: Filters, limit: int | None = PAGE,
              after: str | None = None) -> dict[str, Any]:
    """A page of the organizations of the actor's area with their plan of ``filters.fiscal_year`` and
    where it stands, the counts of each standing (over every page, the status filter aside), and
    ``next``, the ``after`` of the next page (None: the last); ``limit`` None: every one (the CSV).
    :raise Forbidden: the actor oversees nothing. :raise Invalid: a cursor this list did not give."""
    now = ctx.clock.now()
    category, keys = _category(now), _keys(filters.sort, now)
    joined = _joined(filters.fiscal_year)
    with ctx.db.read() as session:
        area = area_of(session, actor)
        narrowed = _narrowed(area, filters)
        counted = select(category.label("category")).select_from(joined).where(*narrowed).subquery()
        counts: dict[str, int] = dict(session.execute(  # (category, count) rows
            select(counted.c.category, func.count()).group_by(counted.c.category)).all())
        query = select(Organization, PlanStanding.plan_id, PlanStanding.status, category.label("category")) \
            .select_from(joined).where(*narrowed)
        if filters.status:
            query = query.where(category == filters.status)
        if after is not None:
            position = session.execute(select(*keys).select_from(joined).where(
                area.condition(), Organization.id == _cursor_id(after, filters.sort))).first()
            if position is None:
                raise _invalid("after", BAD_CURSOR)
            query = query.where(tuple_(*keys) > tuple_(*(literal(v, k.type) for k, v in zip(keys, position,
                                                                                              strict=True))))
        rows = list(session.execute(query.order_by(*keys).limit(None if limit is None else limit + 1)).all())
        shown = rows[:limit] if limit is not None else rows
        listed = _rows(session, shown, now)
        following = _cursor(filters.sort, shown[-1][0].id) if limit is not None and len(rows) > limit else None
        # a province's districts to choose from (the whole country's ~900 are typed instead)
        districts = [] if area.province is None else list(session.scalars(
            select(Organization.district).where(area.condition()).distinct().order_by(Organization.district)))
    return {"area": {"province": area.province, "district": area.district, "title": area.title},
            "districts": [d for d in districts if d],
            "fiscal_year": filters.fiscal_year,
            "counts": {key: counts.get(key, 0) for key in CATEGORIES},
            "organizations": listed,
            "next": following}


def _rows(session: Session, rows: list[Any], now: datetime) -> list[dict[str, Any]]:
    """The organizations as the dashboard shows them, with their plans' deadlines and open steps,
    read for these plans only (in batches: SQLite bounds the parameters of one statement)."""
    plan_ids = [plan_id for _, plan_id, *_ in rows if plan_id is not None]
    stored: dict[int, list[Any]] = {}
    steps: dict[int, list[str]] = {}
    for start in range(0, len(plan_ids), 500):
        batch = plan_ids[start:start + 500]
        stored.update(session.execute(select(Plan.id, Plan.deadlines).where(Plan.id.in_(batch))).all())
        for plan_id, title in session.execute(select(OpenTask.plan_id, OpenTask.title).where(
                OpenTask.plan_id.in_(batch)).order_by(OpenTask.plan_id, OpenTask.opened_at, OpenTask.id)):
            steps.setdefault(plan_id, []).append(title)
    today = day_of(now)
    return [{
        "organization": {"code": org.code, "name": org.name, "type": org.type,
                         "province": org.province, "district": org.district},
        "plan": None if plan_id is None else {"id": plan_id, "status": status, "steps": steps.get(plan_id, [])},
        "standing": standing_key, "standing_title": CATEGORIES[standing_key],
        "deadlines": [_deadline(v, today) for v in deadlines.verdicts(stored.get(plan_id), now)],
    } for org, plan_id, status, standing_key in rows]


def _deadline(verdict: dict[str, Any], today: date) -> dict[str, Any]:
    """A deadline's verdict with the days that matter to an overseer: left before it, or past it."""
    days_left = (date.fromisoformat(verdict["due_on"]) - today).days if verdict["state"] == "pending" else None
    return {"key": verdict["key"], "name": verdict["name"], "basis": verdict["basis"], "kind": verdict["kind"],
            "state": verdict["state"], "label": verdict["label"], "due_on": verdict["due_on"],
            "overdue": verdict["overdue"], "days_left": days_left, "days_late": verdict["days_late"]}


def days_text(deadline: dict[str, Any]) -> str:
    """A deadline in the dashboard's words: "เหลือ 5 วัน", "เกินกำหนด 3 วัน", "ล่าช้า 2 วัน" …"""
    if deadline["overdue"]:
        return f"เกินกำหนด {deadline['days_late']:,} วัน"
    if deadline["state"] == "missed":
        return f"ไม่เป็นไปตามกำหนด (ช้า {deadline['days_late']:,} วัน)" if deadline["days_late"] else deadline["label"]
    if deadline["days_left"] is not None:
        return "ครบกำหนดวันนี้" if deadline["days_left"] == 0 else f"เหลือ {deadline['days_left']:,} วัน"
    return deadline["label"]


CSV_HEADER = ("รหัส", "องค์กร", "ประเภท", "อำเภอ", "จังหวัด", "ปีงบประมาณ", "แผนเลขที่", "สถานะ", "ขั้นตอนปัจจุบัน",
              "กำหนดเวลาตามระเบียบ")


def dashboard_csv(ctx: Context, actor: Actor, filters: Filters, types: Mapping[str, str]) -> str:
    """Every organization of the dashboard (its filters and order), as CSV with a BOM for Excel;
    ``types``: the organization types' titles."""
    found = dashboard(ctx, actor, filters, limit=None)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in found["organizations"]:
        org, plan = row["organization"], row["plan"]
        writer.writerow([_cell(org["code"]), _cell(org["name"]), types.get(org["type"], ""), _cell(org["district"]),
                         _cell(org["province"]), found["fiscal_year"], plan["id"] if plan else "",
                         row["standing_title"],
                         _cell(" / ".join(plan["steps"])) if plan and plan["steps"] else
                         ("เสร็จสิ้นกระบวนงาน" if plan else ""),
                         _cell("; ".join(f"{d['name']}: {days_text(d)}" for d in row["deadlines"]))])
    return out.getvalue()


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (names are typed by people)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
