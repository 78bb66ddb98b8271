"""The plan's year, read: a plan's tracked projects with their progress (filtered, a page at a
time) and the figures a unit and an executive look at. From the read model only: no event is
replayed and no workflow restored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from service.auth import Actor
from service.bundles import catalog
from service.bundles.catalog import TRACKING_KEY
from service.context import Context
from service.errors import Invalid, NotFound
from service.evidence.listing import of_projects
from service.models import Plan, TrackedProject, UnitMembership
from service.taskforms import attachments
from service.thai.legaldays import day_of
from service.tracking.replay import NOT_STARTED

#: what a status filter may name besides the progress form's own statuses
OVERDUE = "overdue"
STATUSES = ("not_started", "in_progress", "done", "cancelled")


#: what the figures and the filters read of every tracked project: plain rows (the identity map of
#: hundreds of ORM objects per request would cost the most), the money taken out of the progress in SQL
_FIGURES = (TrackedProject.number, TrackedProject.unit, TrackedProject.strategy, TrackedProject.budget,
            TrackedProject.months, TrackedProject.list_version, TrackedProject.withdrawn, TrackedProject.status,
            TrackedProject.progress["contracted"].as_float().label("contracted"),
            TrackedProject.progress["disbursed"].as_float().label("disbursed"))
#: what a page shows of each of its projects, read for that page only
_COLUMNS = (TrackedProject.number, TrackedProject.name, TrackedProject.unit, TrackedProject.strategy,
            TrackedProject.plan_program, TrackedProject.budget, TrackedProject.months, TrackedProject.is_equipment,
            TrackedProject.list_version, TrackedProject.withdrawn, TrackedProject.status, TrackedProject.progress,
            TrackedProject.updated_at, TrackedProject.updated_by)
Tracked = Any  # a row of _FIGURES or _COLUMNS


@dataclass(frozen=True)
class Filters:
    unit: str = ""
    strategy: str = ""
    status: str = ""  # a status, or OVERDUE


def overdue(row: Tracked, today: date, fiscal_year: int) -> bool:
    """Not started although the last month planned for it is over."""
    if row.withdrawn or row.status != NOT_STARTED or not row.months:
        return False
    last = max((m - 10) % 12 for m in row.months)  # months counted from October
    year, month = fiscal_year - 544 + (last + 9) // 12, (last + 9) % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return today >= following


def progress(ctx: Context, actor: Actor, plan_id: int, filters: Filters = Filters(), limit: int | None = 100,
             after: str | None = None) -> dict[str, Any]:
    """The tracked projects the filters keep, in the paper's order from ``after`` (a project's number),
    with the figures of the whole list. :raise NotFound: Invalid: a bad filter"""
    if filters.status and filters.status not in (*STATUSES, OVERDUE):
        raise Invalid(f"สถานะที่กรองได้: {', '.join((*STATUSES, OVERDUE))}")
    today = day_of(ctx.clock.now())
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        version = ctx.models.published(session, plan.process_version_id)
        tracking = version.meta.get(TRACKING_KEY) or {}
        rows = list(session.execute(select(*_FIGURES).where(TrackedProject.plan_id == plan_id)
                                    .order_by(TrackedProject.position)))

        def shown(numbers: list[str]) -> dict[str, Tracked]:
            return {row.number: row for row in session.execute(select(*_COLUMNS).where(
                TrackedProject.plan_id == plan_id, TrackedProject.number.in_(numbers)))} if numbers else {}
        mine = set(session.scalars(select(UnitMembership.unit).where(
            UnitMembership.user_id == actor.user_id, UnitMembership.organization_id == plan.organization_id)))
        roles = actor.roles_in(plan.organization_id)
        editor = bool(roles & {*tracking.get("editors", []), "admin"})
        form = catalog.progress_form(version.meta, version.forms)
        return _listing(plan.id, plan.fiscal_year, rows, shown, filters, limit, after, today, editor, mine, form,
                        lambda numbers: of_projects(session, plan_id, numbers))


def _listing(plan_id: int, fiscal_year: int, rows: list[Tracked], shown: Callable[[list[str]], dict[str, Tracked]],
             filters: Filters, limit: int | None, after: str | None, today: date, editor: bool, mine: set[str],
             form: dict[str, Any], attached: Callable[[list[str]], dict[str, list[Any]]] = lambda numbers: {}
             ) -> dict[str, Any]:
    """The page of ``rows`` (the figures' rows of the whole list) the filters keep; ``shown`` reads the
    page's projects in full, ``attached`` their progress evidence."""
    late = {row.number for row in rows if overdue(row, today, fiscal_year)}
    kept = [row for row in rows if _kept(row, filters, late)]
    start = 0
    if after:
        start = next((i + 1 for i, row in enumerate(kept) if row.number == after), None)  # type: ignore[assignment]
        if start is None:
            raise Invalid("ค่า after ไม่ใช่ลำดับโครงการในรายการนี้")
    page = kept[start:start + limit] if limit else kept[start:]
    following = page[-1].number if limit and start + limit < len(kept) else None
    full = shown([row.number for row in page])
    evidence = attached([row.number for row in page])
    return {
        "plan_id": plan_id, "fiscal_year": fiscal_year, "tracked": bool(rows),
        "list_version": max((row.list_version for row in rows), default=0),
        "projects": [dict(_entry(full[row.number]), overdue=row.number in late,
                          editable=editor or row.unit in mine, evidence=evidence.get(row.number, []))
                     for row in page],
        "next": following, "count": len(kept), "summary": summary(rows, late),
        "units": sorted({row.unit for row in rows}), "strategies": list(dict.fromkeys(row.strategy for row in rows)),
        "statuses": catalog.status_titles(form), "mine": sorted(mine), "editor": editor,
    }


def _kept(row: Tracked, filters: Filters, late: set[str]) -> bool:
    if filters.unit and row.unit != filters.unit or filters.strategy and row.strategy != filters.strategy:
        return False
    if filters.status == OVERDUE:
        return row.number in late
    return not filters.status or (row.status == filters.status and not row.withdrawn)


def _entry(row: Tracked) -> dict[str, Any]:
    return {"number": row.number, "name": row.name, "unit": row.unit, "strategy": row.strategy,
            "plan_program": row.plan_program, "budget": row.budget / 100, "months": list(row.months),
            "is_equipment": row.is_equipment, "list_version": row.list_version, "withdrawn": row.withdrawn,
            "status": row.status, "progress": dict(row.progress),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None, "updated_by": row.updated_by}


def summary(rows: list[Tracked], late: set[str]) -> dict[str, Any]:
    """Counts by status and the money, of the projects still in the plan."""
    current = [row for row in rows if not row.withdrawn]
    counts = Counter(row.status for row in current)
    money = {key: sum(_satang(getattr(row, key)) for row in current) / 100 for key in ("contracted", "disbursed")}
    budget = sum(row.budget for row in current) / 100
    strategies: dict[str, dict[str, Any]] = {}
    for row in current:
        figures = strategies.setdefault(row.strategy, {"strategy": row.strategy, "projects": 0, "budget": 0,
                                                       "contracted": 0, "disbursed": 0})
        figures["projects"] += 1
        figures["budget"] += row.budget
        for key in ("contracted", "disbursed"):
            figures[key] += _satang(getattr(row, key))
    for figures in strategies.values():
        for key in ("budget", "contracted", "disbursed"):
            figures[key] /= 100
    return {"projects": len(current), "withdrawn": len(rows) - len(current), "overdue": len(late),
            "by_status": {status: counts.get(status, 0) for status in STATUSES}, "budget": budget, **money,
            "disbursed_percent": _percent(money["disbursed"], budget), "by_strategy": list(strategies.values())}


def _percent(part: float, whole: float) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def _satang(value: Any) -> int:
    return round(float(value) * 100) if isinstance(value, (int, float)) else 0


def project(ctx: Context, actor: Actor, plan_id: int, number: str) -> dict[str, Any]:
    """One tracked project with the progress form it is recorded by. :raise NotFound:"""
    page = progress(ctx, actor, plan_id, limit=None)
    found = next((p for p in page["projects"] if p["number"] == number), None)
    if found is None:
        raise NotFound(f"ไม่มีโครงการลำดับที่ {number[:20]} ในแผนการดำเนินงานที่ประกาศใช้")
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None  # progress() found it
        version = ctx.models.published(session, plan.process_version_id)
        form = catalog.progress_form(version.meta, version.forms)
    return {"plan_id": plan_id, "fiscal_year": page["fiscal_year"], "project": found, "form": form,
            "statuses": page["statuses"], "accepts": _accepts(form)}


def evidence(ctx: Context, actor: Actor, plan_id: int, number: str) -> dict[str, Any]:
    """A tracked project's progress evidence, in the order attached, and what its progress form takes
    (``accepts``, None: no files). :raise NotFound: no such plan for the actor, or no such project in it."""
    with ctx.db.read() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        found = session.scalars(select(TrackedProject.number).where(TrackedProject.plan_id == plan_id,
                                                                    TrackedProject.number == number[:20])).first()
        if found is None:
            raise NotFound(f"ไม่มีโครงการลำดับที่ {number[:20]} ในแผนการดำเนินงานที่ประกาศใช้")
        version = ctx.models.published(session, plan.process_version_id)
        return {"plan_id": plan_id, "number": found, "accepts": _accepts(catalog.progress_form(version.meta,
                                                                                                version.forms)),
                "attachments": of_projects(session, plan_id, [found])[found]}


def _accepts(form: dict[str, Any]) -> dict[str, Any] | None:
    declaration = attachments.declared(form)
    return declaration.as_dict() if declaration else None
