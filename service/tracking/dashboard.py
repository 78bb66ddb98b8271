"""The plan's dashboard, read: the figures its charts draw (documents/charts.py), for one unit or
the whole plan. Money and statuses from the read model (the latest progress of each project); the
disbursement month by month from the plan's progress events, each counted in the month of the
event's own time (Asia/Bangkok), the moment it was recorded: the form's dates say when the work
started and ended, not when money was paid, so they cannot place a disbursement in a month."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, select

from service.auth import Actor
from service.bundles import catalog
from service.context import Context
from service.documents.records import PLAN_PROGRAMS
from service.errors import Conflict, Invalid, NotFound
from service.eventlog import PROGRESS_RECORDED
from service.models import Event, Plan, TrackedProject, UnitMembership
from service.thai.dates import fiscal_months
from service.thai.legaldays import day_of, end_of_day
from service.tracking import reads, reports

_ROWS = (TrackedProject.number, TrackedProject.unit, TrackedProject.strategy, TrackedProject.plan_program,
         TrackedProject.budget, TrackedProject.months, TrackedProject.withdrawn, TrackedProject.status,
         TrackedProject.list_version, TrackedProject.progress["contracted"].as_float().label("contracted"),
         TrackedProject.progress["disbursed"].as_float().label("disbursed"),
         TrackedProject.progress["months_worked"].label("months_worked"))
NOT_TRACKED = ("แผนนี้ยังไม่ได้ประกาศใช้ (หรือเป็นการแก้ไขแผน) จึงยังไม่มีแผงสรุปผลการดำเนินงาน "
               "แผงสรุปแสดงผลของแผนการดำเนินงานที่ประกาศใช้แล้ว")


def dashboard(ctx: Context, actor: Actor, plan_id: int, unit: str | None = None) -> dict[str, Any]:
    """The figures of the plan's tracked projects that are still in it, of ``unit`` ("" the whole
    plan; None: the caller's own unit when they belong to exactly one of the plan's, else the whole).
    :raise NotFound: (another organization's plan) Conflict: (not tracked) Invalid: (no such unit)"""
    today = day_of(ctx.clock.now())
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        rows = list(session.execute(select(*_ROWS).where(TrackedProject.plan_id == plan_id)
                                    .order_by(TrackedProject.position)))
        if not rows:
            raise Conflict(NOT_TRACKED)
        units = sorted({row.unit for row in rows})
        mine = sorted(set(session.scalars(select(UnitMembership.unit).where(
            UnitMembership.user_id == actor.user_id, UnitMembership.organization_id == plan.organization_id))))
        if unit is None:
            own = [u for u in mine if u in units]
            unit = own[0] if len(own) == 1 else ""
        elif unit and unit not in units:
            message = f"ไม่มีหน่วยงาน {unit[:100]} ในแผนนี้ หน่วยงานที่มี: {', '.join(units)}"
            raise Invalid(message, [{"field": "unit", "message": message}])
        kept = [row for row in rows if not row.withdrawn and (not unit or row.unit == unit)]
        numbers = {row.number for row in kept}
        starts = _month_starts(plan.fiscal_year)
        # the month of each event placed by the database (comparing the stored instants with each month's
        # end): 5,000 events converted to Python datetimes would cost more than all the rest
        month = case(*((Event.at <= end_of_day(start - timedelta(days=1)), index)
                       for index, start in enumerate(starts[1:])), else_=12)
        events = session.execute(select(month, Event.data["project"].as_string(),
                                        Event.data[("progress", "disbursed")].as_float())
                                 .where(Event.plan_id == plan_id, Event.kind == PROGRESS_RECORDED)
                                 .order_by(Event.seq))
        disbursed = _by_month(((index, number, value) for index, number, value in events if number in numbers),
                              starts, today)
        version = ctx.models.published(session, plan.process_version_id)
        titles = catalog.status_titles(catalog.progress_form(version.meta, version.forms))
        fiscal_year = plan.fiscal_year
    return {"plan_id": plan_id, "fiscal_year": fiscal_year, "as_of": today.isoformat(), "unit": unit,
            "units": units, "mine": mine, "list_version": max(row.list_version for row in rows),
            **_figures(kept, fiscal_year, today, titles, disbursed)}


def _figures(rows: list[Any], fiscal_year: int, today: date, titles: dict[str, str],
             disbursed: list[float | None]) -> dict[str, Any]:
    counts = Counter(row.status for row in rows)
    amounts = {row.number: (row.budget, _satang(row.contracted), _satang(row.disbursed)) for row in rows}

    def money(name: str, members: list[Any]) -> dict[str, Any]:
        return _money(name, [amounts[row.number] for row in members])
    planned: Counter[int] = Counter()
    worked: Counter[int] = Counter()
    strategies: dict[str, list[Any]] = {}
    programs: dict[str, list[Any]] = {}
    for row in rows:
        planned.update(set(row.months or []))
        worked.update(_worked(row))
        strategies.setdefault(row.strategy, []).append(row)
        programs.setdefault(row.plan_program, []).append(row)
    order = sorted(programs, key=lambda n: PLAN_PROGRAMS.index(n) if n in PLAN_PROGRAMS else len(PLAN_PROGRAMS))
    months = [{"month": month, "label": f"{name} {year % 100:02d}", "year": year, "planned": planned[month],
               "worked": worked[month], "disbursed": disbursed[index]}
              for index, (month, name, year) in enumerate(fiscal_months(fiscal_year))]
    return {
        "totals": {**money("", rows), "overdue": sum(1 for row in rows if reads.overdue(row, today, fiscal_year))},
        "by_strategy": [money(name, members) for name, members in strategies.items()],
        "by_program": [money(name, programs[name]) for name in order],
        "by_status": [{"status": status, "title": titles.get(status, reports.STATUSES[status]),
                       "count": counts.get(status, 0)} for status in reads.STATUSES],
        "months": months,
    }


def _worked(row: Any) -> set[int]:
    worked = row.months_worked
    return {m for m in worked if isinstance(m, int)} if isinstance(worked, list) else set()


def _money(name: str, amounts: list[tuple[int, int, int]]) -> dict[str, Any]:
    """Budget, contracted and disbursed of some projects ((satang, satang, satang) each: exact sums)
    with the shares of the budget."""
    budget, contracted, disbursed = (sum(values) for values in zip(*amounts, strict=True)) if amounts else (0, 0, 0)
    return {**({"name": name} if name else {}), "projects": len(amounts), "budget": budget / 100,
            "contracted": contracted / 100, "disbursed": disbursed / 100,
            "contracted_percent": _percent(contracted, budget), "disbursed_percent": _percent(disbursed, budget)}


def _month_starts(fiscal_year: int) -> list[date]:
    """The first days of the fiscal year's twelve months and of the month after them."""
    return [date(fiscal_year - 544 + (9 + k) // 12, (9 + k) % 12 + 1, 1) for k in range(13)]


def _by_month(events: Any, starts: list[date], today: date) -> list[float | None]:
    """The disbursement of the projects by the end of each month of the fiscal year, from the events
    in order as (month index, project, disbursed): each project's amount as its last event in or
    before the month recorded it (an event before October counts in October; one after September
    does not count); None for a month that has not begun."""
    latest: dict[str, int] = {}
    totals: list[float | None] = []
    for index, number, value in events:
        while len(totals) < min(index, 12):
            totals.append(sum(latest.values()) / 100)
        if index >= 12:
            break
        latest[number] = _satang(value)
    while len(totals) < 12:
        totals.append(sum(latest.values()) / 100)
    return [total if starts[month] <= today else None for month, total in enumerate(totals)]


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def _satang(value: Any) -> int:
    return round(float(value) * 100) if isinstance(value, (int, float)) else 0
