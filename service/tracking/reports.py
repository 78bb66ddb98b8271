"""The 6-month report (October–March) and the annual report (October–September) of a tracked plan:
its figures as replay.State says the projects stood at the cut-off. Pure: state in, plain data out
(amounts in Decimal baht, exact to the satang; percentages to two places), the same for the PDF,
the spreadsheet, the JSON and the monitoring committee's evaluation report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.documents.records import PLAN_PROGRAMS
from service.tracking.listing import EQUIPMENT
from service.tracking.replay import NOT_STARTED, State, Tracked

SIX_MONTHS, ANNUAL = "six-months", "annual"
TITLES = {SIX_MONTHS: "รายงานการกำกับติดตามการดำเนินงานและการใช้งบประมาณ รอบ ๖ เดือน",
          ANNUAL: "รายงานผลการดำเนินงาน"}  # "ประจำปีงบประมาณ พ.ศ. …" follows it on paper
#: The statuses a progress records, in the order the reports count them, with the form's titles
#: when it has none of its own (reporting.py reads the form's).
STATUSES = {"done": "ดำเนินการแล้วเสร็จ", "in_progress": "อยู่ระหว่างดำเนินการ", NOT_STARTED: "ยังไม่ได้ดำเนินการ",
            "cancelled": "ยกเลิก"}
NOT_CARRIED_OUT = ("cancelled", NOT_STARTED)
EQUIPMENT_GROUP = "ครุภัณฑ์ที่ไม่ได้ดำเนินการในโครงการพัฒนาท้องถิ่น (แบบ ผด.๐๒/๑)"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    kind: str
    first: date  # 1 October of the fiscal year
    last: date  # 31 March or 30 September


def period(kind: str, fiscal_year: int) -> Period:
    """The months a report covers: FY 2564 runs from 1 Oct 2020 to 30 Sep 2021."""
    start = fiscal_year - 544
    return Period(kind, date(start, 10, 1), date(start + 1, 3, 31) if kind == SIX_MONTHS else date(start + 1, 9, 30))


def list_label(version: int) -> str:
    """Which tracked list a report used, as the paper says it."""
    return f"ตามการแก้ไขครั้งที่ {version}" if version > 0 else "ตามแผนที่ประกาศใช้"


def baht(value: Any) -> Decimal:
    """An amount a progress form recorded (a JSON number of baht), exact to the satang; none is 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return Decimal("0.00")
    try:
        return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)
    except ArithmeticError:
        return Decimal("0.00")


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_CENT, ROUND_HALF_UP) if whole else Decimal("0.00")


def figures(state: State, fiscal_year: int, kind: str, cutoff: date,
            statuses: dict[str, str] | None = None) -> dict[str, Any]:
    """The report ``kind`` of the plan of ``fiscal_year`` whose tracking events ``state`` replays up
    to the end of ``cutoff``: the totals, by strategy with its plan-programs, by plan-program, each
    project with its planned and actual months, and those not carried out with their reasons."""
    titles = {**STATUSES, **(statuses or {})}
    current = [t for t in state.ordered() if not t.withdrawn]
    withdrawn = [t for t in state.ordered() if t.withdrawn]
    projects = [_project(t, titles) for t in current]
    by_number = {p["number"]: p for p in projects}
    strategies: dict[str, dict[str, Any]] = {}
    for tracked in current:
        number = tracked.listed.number
        if tracked.listed.is_equipment:
            head, program_number = EQUIPMENT, number.removeprefix(EQUIPMENT).split(".")[0]
            name = EQUIPMENT_GROUP
        else:
            head, program_number = number.split(".")[:2]
            name = tracked.listed.strategy
        strategy = strategies.setdefault(head, {"number": head, "name": name, "is_equipment": head == EQUIPMENT,
                                                "members": [], "programs": {}})
        strategy["members"].append(by_number[number])
        strategy["programs"].setdefault(program_number, {"number": program_number,
                                                         "name": tracked.listed.plan_program, "members": []})
        strategy["programs"][program_number]["members"].append(by_number[number])
    groups = [{"number": s["number"], "name": s["name"], "is_equipment": s["is_equipment"], **_sums(s["members"]),
               "programs": [{"number": p["number"], "name": p["name"], **_sums(p["members"])}
                            for p in s["programs"].values()]} for s in strategies.values()]
    programs: dict[str, list[dict[str, Any]]] = {}
    for project in projects:
        programs.setdefault(project["plan_program"], []).append(project)
    order = sorted(programs, key=lambda n: PLAN_PROGRAMS.index(n) if n in PLAN_PROGRAMS else len(PLAN_PROGRAMS))
    span = period(kind, fiscal_year)
    return {
        "kind": kind, "title": TITLES[kind], "fiscal_year": fiscal_year,
        "period": {"from": span.first, "to": span.last}, "cutoff": cutoff,
        "list_version": max(state.list_version, 0), "list_label": list_label(max(state.list_version, 0)),
        "statuses": {status: titles[status] for status in STATUSES},
        "totals": {**_sums(projects), "withdrawn": len(withdrawn)},
        "strategies": groups,
        "programs": [{"name": name, **_sums(programs[name])} for name in order],
        "projects": projects,
        "not_carried_out": [_not_carried_out(p) for p in projects if p["status"] in NOT_CARRIED_OUT]
        + [_withdrawn(t) for t in withdrawn],
    }


def _project(tracked: Tracked, titles: dict[str, str]) -> dict[str, Any]:
    entry, progress = tracked.listed, tracked.progress
    status = tracked.status if tracked.status in titles else NOT_STARTED
    budget = (Decimal(entry.budget) / 100).quantize(_CENT)
    contracted, disbursed = baht(progress.get("contracted")), baht(progress.get("disbursed"))
    worked = progress.get("months_worked")
    return {
        "number": entry.number, "name": entry.name, "unit": entry.unit, "strategy": entry.strategy,
        "plan_program": entry.plan_program, "is_equipment": entry.is_equipment, "list_version": tracked.list_version,
        "budget": budget, "contracted": contracted, "disbursed": disbursed,
        "disbursed_percent": percent(disbursed, budget),
        "months": list(entry.months), "months_worked": sorted({m for m in worked if isinstance(m, int)},
                                                              key=lambda m: (m - 10) % 12)
        if isinstance(worked, list) else [],
        "status": status, "status_title": titles[status],
        "started_on": progress.get("started_on"), "finished_on": progress.get("finished_on"),
        "reason": str(progress.get("reason") or ""), "note": str(progress.get("note") or ""),
        "transfer_number": str(progress.get("transfer_number") or ""),
    }


def _sums(projects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The counts and money of some projects, with their percentages."""
    rows = list(projects)
    counts = {status: sum(1 for p in rows if p["status"] == status) for status in STATUSES}
    money = {key: sum((p[key] for p in rows), Decimal("0.00")) for key in ("budget", "contracted", "disbursed")}
    return {"projects": len(rows), **counts, **money,
            "done_percent": percent(counts["done"], len(rows)),
            "contracted_percent": percent(money["contracted"], money["budget"]),
            "disbursed_percent": percent(money["disbursed"], money["budget"])}


def _not_carried_out(project: dict[str, Any]) -> dict[str, Any]:
    return {key: project[key] for key in ("number", "name", "unit", "budget", "status", "status_title")} | {
        "reason": project["reason"] or project["note"]}  # empty: none recorded (the paper says so)


def _withdrawn(tracked: Tracked) -> dict[str, Any]:
    entry = tracked.listed
    return {"number": entry.number, "name": entry.name, "unit": entry.unit,
            "budget": (Decimal(entry.budget) / 100).quantize(_CENT), "status": "withdrawn",
            "status_title": "ยกเลิกออกจากแผน", "reason": f"ยกเลิกออกจากแผนโดยการแก้ไขแผนครั้งที่ {tracked.list_version}"}
