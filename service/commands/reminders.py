"""Notifications of the plan's year: each unit's overdue projects (a daily job), the reports' cut-offs
coming (to the process's editors), and a progress a unit recorded (to the editors, digest-friendly).

They go through the notices outbox like every other message (commands/notices.py): rows written in a
transaction with the job that delivers them, the person's muted kinds and digest hour applied when
they are delivered. When and how often is data, the ``progress`` section of the notifications file::

    "progress": {"hour": 8, "overdue_repeat_days": 7,
                 "reports_due": [{"report": "…", "cutoff": "03-31", "days_before": 14}, …]}

Without that section the daily job reminds nothing; the progress notices need only their wording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from service import labels, oplog
from service.auth import UNIT, Actor
from service.bundles.catalog import TRACKING_KEY, Published
from service.commands import jobs, notices
from service.context import Context
from service.errors import Invalid
from service.models import (
    Notification,
    Organization,
    Plan,
    ProcessVersion,
    RoleMembership,
    TrackedProject,
    UnitMembership,
    User,
)
from service.thai import dates
from service.thai.legaldays import BANGKOK, day_of
from service.tracking import reads
from service.tracking.reports import STATUSES

JOB = "progress_reminders"
OVERDUE, REPORT_DUE, RECORDED = "projects_overdue", "report_due", "progress_recorded"
SECTION = "progress"
#: projects listed in one message; the rest are counted (the page lists them all)
ITEMS = 30


# --- The schedule, as data -------------------------------------------------------------------
@dataclass(frozen=True)
class ReportDue:
    report: str  # the report's title, as the message names it
    month: int
    day: int
    days_before: int

    def cutoff(self, fiscal_year: int) -> date:
        """The cut-off in fiscal year พ.ศ. ``fiscal_year`` (October opens it)."""
        return date(fiscal_year - 544 + (self.month < 10), self.month, self.day)


@dataclass(frozen=True)
class Schedule:
    hour: int  # the Bangkok hour from which the day's job runs
    repeat_days: int  # an unchanged list of overdue projects is told again after this many days
    reports: tuple[ReportDue, ...] = field(default=())


_loaded: dict[Path, tuple[float, Schedule | None]] = {}


def schedule_of(processes_dir: Path) -> Schedule | None:
    """The deployment's reminder schedule (None: no ``progress`` section), read again when the file
    changes. :raise Invalid: a malformed section, with every problem"""
    path = processes_dir / notices.FILE
    stamp = path.stat().st_mtime if path.exists() else 0.0
    cached = _loaded.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    found = parse(json.loads(path.read_text("utf-8"))) if path.exists() else None
    _loaded[path] = (stamp, found)
    return found


def parse(document: Any) -> Schedule | None:
    """The ``progress`` section of a notifications file. :raise Invalid: in Thai, with every problem"""
    section = document.get(SECTION) if isinstance(document, dict) else None
    if section is None:
        return None
    where = f"{notices.FILE} {SECTION}"
    if not isinstance(section, dict):
        raise Invalid(f"{where} ต้องเป็นออบเจกต์")
    problems: list[str] = []

    def number(entry: dict[str, Any], key: str, allowed: range, default: int, name: str) -> int:
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            problems.append(f"{name}.{key}: ต้องเป็นจำนวนเต็ม {allowed.start}–{allowed.stop - 1}")
            return default
        return value

    hour = number(section, "hour", range(24), 8, where)
    repeat = number(section, "overdue_repeat_days", range(1, 366), 7, where)
    reports: list[ReportDue] = []
    listed = section.get("reports_due", [])
    if not isinstance(listed, list) or len(listed) > 12:
        problems.append(f"{where}.reports_due: ต้องเป็นรายการไม่เกิน 12 รายการ")
        listed = []
    for index, entry in enumerate(listed):
        name = f"{where}.reports_due[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{name}: ต้องเป็นออบเจกต์")
            continue
        title = entry.get("report")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            problems.append(f"{name}.report: ต้องเป็นชื่อรายงานที่ไม่ว่าง ยาวไม่เกิน 200 ตัวอักษร")
        cutoff = _month_day(entry.get("cutoff"))
        if cutoff is None:
            problems.append(f"{name}.cutoff: ต้องเป็นเดือน-วัน เช่น 03-31")
        days = number(entry, "days_before", range(91), 14, name)
        if isinstance(title, str) and cutoff is not None:
            reports.append(ReportDue(title.strip(), cutoff[0], cutoff[1], days))
    if problems:
        raise Invalid(f"{notices.FILE} มีข้อผิดพลาด: " + "; ".join(problems))
    return Schedule(hour, repeat, tuple(reports))


def _month_day(text: Any) -> tuple[int, int] | None:
    """"03-31" as (3, 31); a day every year has (no 29 February)."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != "-":
        return None
    try:
        day = date.fromisoformat(f"2001-{text}")
    except ValueError:
        return None
    return day.month, day.day


# --- The daily job ---------------------------------------------------------------------------
def schedule(ctx: Context) -> int:
    """The timer sweep's part: queue the day's reminder job once its Bangkok hour has come, once a
    day (the job itself writes nothing twice, should two sweepers queue it at once); 1 if queued."""
    now = ctx.clock.now()
    try:
        kept = schedule_of(ctx.settings.processes_dir)
    except (Invalid, ValueError) as err:  # a bad file must not stop the sweep of everyone's timers
        oplog.log("reminders_not_scheduled", error=str(err)[:500])
        return 0
    if kept is None or now.astimezone(BANGKOK).hour < kept.hour:
        return 0
    key = f"{JOB}:{day_of(now).isoformat()}"
    with ctx.db.write() as session:
        if jobs.latest(session, key) is not None:
            return 0
        jobs.enqueue(session, JOB, {"day": day_of(now).isoformat()}, key, now)
    return 1


@jobs.handles(JOB)
def _job(ctx: Context, payload: dict[str, Any]) -> None:
    remind(ctx)


def remind(ctx: Context) -> int:
    """Write today's reminders of every organization with a tracked plan of this fiscal year (or the
    next, whose first cut-off may be near), each organization in its own transaction; how many."""
    kept = schedule_of(ctx.settings.processes_dir)
    if kept is None:
        return 0
    now = ctx.clock.now()
    today = day_of(now)
    years = (dates.fiscal_year_of(today), dates.fiscal_year_of(today) + 1)
    with ctx.db.read() as session:
        organizations = list(session.scalars(
            select(Plan.organization_id).where(Plan.fiscal_year.in_(years),
                                               Plan.id.in_(select(TrackedProject.plan_id).distinct()))
            .distinct().order_by(Plan.organization_id)))
    return sum(_remind_organization(ctx, organization_id, years, today, now, kept)
               for organization_id in organizations)


def _remind_organization(ctx: Context, organization_id: int, years: tuple[int, int], today: date, now: datetime,
                         kept: Schedule) -> int:
    with ctx.db.write() as session:
        # one run at a time per organization (PostgreSQL; SQLite serializes writers anyway): two
        # jobs of one day, queued by two sweepers at once, find each other's notices
        session.scalars(select(Organization.id).where(Organization.id == organization_id).with_for_update()).first()
        plans = list(session.scalars(select(Plan).where(
            Plan.organization_id == organization_id, Plan.fiscal_year.in_(years),
            Plan.id.in_(select(TrackedProject.plan_id).distinct())).order_by(Plan.id)))
        written = 0
        for plan in plans:
            version = ctx.models.published(session, plan.process_version_id)
            if plan.fiscal_year == years[0]:
                written += _overdue(session, version, plan, today, now, kept.repeat_days)
            written += _reports_due(session, version, plan, today, now, kept.reports)
        return written


def _overdue(session: Session, version: Published, plan: Plan, today: date, now: datetime, repeat_days: int) -> int:
    """Tell each unit official of the plan's organization which of their units' projects are overdue
    (as the progress page flags them): one message a day at most, and only when a project joined
    their list since their last one, or that one is ``repeat_days`` old."""
    rows = list(session.execute(select(TrackedProject.number, TrackedProject.name, TrackedProject.unit,
                                       TrackedProject.months, TrackedProject.status, TrackedProject.withdrawn)
                                .where(TrackedProject.plan_id == plan.id).order_by(TrackedProject.position)))
    late = [row for row in rows if reads.overdue(row, today, plan.fiscal_year)]
    if not late:
        return 0
    units: dict[int, set[str]] = {}
    for user_id, unit in session.execute(
            select(UnitMembership.user_id, UnitMembership.unit)
            .join(User, User.id == UnitMembership.user_id)
            .join(RoleMembership, (RoleMembership.user_id == UnitMembership.user_id)
                  & (RoleMembership.organization_id == UnitMembership.organization_id) & (RoleMembership.role == UNIT))
            .where(UnitMembership.organization_id == plan.organization_id, User.is_active.is_(True))):
        units.setdefault(user_id, set()).add(unit)
    last = {note.user_id: note for note in session.scalars(select(Notification).where(
        Notification.event == OVERDUE, Notification.plan_id == plan.id,
        Notification.user_id.in_(list(units))).order_by(Notification.id))} if units else {}
    source = f"{plan.id}:overdue:{today.isoformat()}"
    base = _about(session, version.title, plan)
    notes = []
    for user_id in sorted(units):
        mine = [row for row in late if row.unit in units[user_id]]
        if not mine or not _news(last.get(user_id), [row.number for row in mine], source, today, repeat_days):
            continue
        lines = [f"• {row.number} {row.name} ({row.unit}) ตามแผน {_months(row.months, plan.fiscal_year)}"
                 for row in mine]
        values = {**base, "count": str(len(mine)), "items": _items(lines), "due": f"วันที่ {dates.long(today)}",
                  "projects": [row.number for row in mine]}
        notes.append(_note(user_id, plan, OVERDUE, values, f"/plans/{plan.id}/progress?status=overdue", source, now))
    return _outbox(session, notes, source, plan.id, now)


def _news(last: Notification | None, numbers: list[str], source: str, today: date, repeat_days: int) -> bool:
    """Whether a person's overdue list is worth a message: not today's already; a project new to it
    (one started or finished leaves it shorter, which needs no message); or the weekly repeat."""
    if last is None:
        return True
    if last.source == source:
        return False
    told = set(last.values.get("projects") or [])
    return bool(set(numbers) - told) or (today - day_of(last.created_at)).days >= repeat_days


def _months(months: list[int], fiscal_year: int) -> str:
    """The months planned, as ผด.02's bar spans them: "ม.ค.–มี.ค. 2564"."""
    names = {month: (name, year) for month, name, year in dates.fiscal_months(fiscal_year)}
    ordered = sorted(months, key=lambda m: (m - 10) % 12)
    (first, _), (last, year) = names[ordered[0]], names[ordered[-1]]
    return f"{first}–{last} {year}" if first != last else f"{last} {year}"


def _reports_due(session: Session, version: Published, plan: Plan, today: date, now: datetime,
                 reports: tuple[ReportDue, ...]) -> int:
    """Tell the process's editors that a report's cut-off comes within its ``days_before`` days:
    once per plan and cut-off (a day the job did not run is made up the next, until the cut-off)."""
    editors = set((version.meta.get(TRACKING_KEY) or {}).get("editors") or [])
    written = 0
    for report in reports:
        cutoff = report.cutoff(plan.fiscal_year)
        if not cutoff - timedelta(days=report.days_before) <= today <= cutoff or not editors:
            continue
        source = f"{plan.id}:report_due:{cutoff.isoformat()}"
        if session.scalars(select(Notification.id).where(Notification.source == source).limit(1)).first():
            continue
        values = {**_about(session, version.title, plan), "report": report.report,
                  "due": f"วันที่ {dates.long(cutoff)}", "count": str((cutoff - today).days)}
        written += _outbox(session, [_note(user_id, plan, REPORT_DUE, values, f"/plans/{plan.id}/progress", source, now)
                                     for user_id in _holders(session, plan.organization_id, editors, None)],
                           source, plan.id, now)
    return written


# --- A progress recorded ---------------------------------------------------------------------
_PENDING = "progress_notices"


@dataclass
class _Recorded:
    """What one person recorded of one plan in one transaction: told once, at its commit."""

    plan: Plan
    actor: str
    source: str
    now: datetime
    lines: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


def progress_recorded(session: Session, actor: Actor, plan: Plan, row: TrackedProject, role: str, seq: int,
                      now: datetime) -> None:
    """A unit official recorded a project's progress: the process's editors are told (never the
    official). A transaction that records many (an import) tells them once, listing the projects,
    when it commits; a refused one tells nobody. An editor's own recording is the office's work and
    tells no one."""
    if role != UNIT:
        return
    pending: dict[tuple[int, str], _Recorded] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
        event.listen(session, "before_commit", _tell_editors, once=True)
    recorded = pending.setdefault((plan.id, actor.username), _Recorded(plan, actor.username, f"{plan.id}:{seq}", now))
    status = STATUSES.get(row.status, row.status)
    recorded.lines.append(f"• {row.number} {row.name} ({row.unit}): {status}")
    recorded.numbers.append(row.number)


def _tell_editors(session: Session) -> None:
    for recorded in session.info.pop(_PENDING, {}).values():
        plan = recorded.plan
        title, editors = _tracking_of(session, plan.process_version_id)
        if not editors:
            continue
        told = list(session.execute(_TOLD, {"organization_id": plan.organization_id, "roles": editors,
                                            "actor": recorded.actor}))
        if not told:
            continue
        _, shown, organization = told[0]
        values = {"plan": f"{title} ประจำปีงบประมาณ พ.ศ. {plan.fiscal_year}", "organization": organization or "",
                  "by": shown or labels.actor_name(recorded.actor), "count": str(len(recorded.numbers)),
                  "items": _items(recorded.lines)}
        link = f"/plans/{plan.id}/progress" + (f"/{recorded.numbers[0]}" if len(recorded.numbers) == 1 else "")
        _outbox(session, [_note(user_id, plan, RECORDED, values, link, recorded.source, recorded.now)
                          for user_id, _, _ in told], recorded.source, plan.id, recorded.now)


#: a published version never changes: its title and its tracking's editors, read once per process
_TRACKING: dict[int, tuple[str, list[str]]] = {}


def _tracking_of(session: Session, version_id: int) -> tuple[str, list[str]]:
    if version_id not in _TRACKING:
        title, meta = session.execute(select(ProcessVersion.title, ProcessVersion.meta)
                                      .where(ProcessVersion.id == version_id)).one()
        _TRACKING[version_id] = (title, sorted(set((meta.get(TRACKING_KEY) or {}).get("editors") or [])))
    return _TRACKING[version_id]


#: the editors to tell (active, holding an editor's role in the organization itself, not the one who
#: recorded) with that one's display name and the organization's name, in one round trip; built once
_TOLD = (select(User.id,
                select(User.display_name).where(User.username == bindparam("actor")).limit(1).scalar_subquery(),
                select(Organization.name).where(Organization.id == bindparam("organization_id")).scalar_subquery())
         .join(RoleMembership, RoleMembership.user_id == User.id)
         .where(RoleMembership.organization_id == bindparam("organization_id"),
                RoleMembership.role.in_(bindparam("roles", expanding=True)), User.is_active.is_(True),
                User.username != bindparam("actor"))
         .distinct().order_by(User.id))


# --- Writing them ----------------------------------------------------------------------------
def _about(session: Session, title: str, plan: Plan) -> dict[str, str]:
    """What every message of a plan fills in, as the procedure's messages word it."""
    organization = session.get(Organization, plan.organization_id)
    return {"plan": f"{title} ประจำปีงบประมาณ พ.ศ. {plan.fiscal_year}",
            "organization": organization.name if organization else ""}


def _holders(session: Session, organization_id: int, roles: set[str], besides: str | None) -> list[int]:
    """The active people holding one of ``roles`` in the organization itself (not nationally), but
    ``besides`` (who is never told of what they did)."""
    if not roles:
        return []
    return [user_id for user_id, _, _ in session.execute(
        _TOLD, {"organization_id": organization_id, "roles": sorted(roles), "actor": besides or ""})]


def _items(lines: list[str]) -> str:
    shown = lines[:ITEMS]
    if len(lines) > ITEMS:
        shown.append(f"และอีก {len(lines) - ITEMS} โครงการ")
    return "\n".join(shown)


def _note(user_id: int, plan: Plan, kind: str, values: dict[str, Any], link: str, source: str,
          now: datetime) -> Notification:
    return Notification(user_id=user_id, organization_id=plan.organization_id, plan_id=plan.id, event=kind,
                        values=values, link=link, source=source, created_at=now, read_at=None)


def _outbox(session: Session, notes: list[Notification], source: str, plan_id: int, now: datetime) -> int:
    """Add the notifications and the job that delivers them (one per source while it waits)."""
    if notes:
        session.add_all(notes)
        jobs.enqueue(session, notices.DELIVER, {"source": source}, f"{notices.DELIVER}:{source}", now,
                     plan_id=plan_id, max_attempts=notices.MAX_ATTEMPTS)
    return len(notes)
