"""The tracked list of a plan's projects: the first list from the announced plan, and what each
announced amendment adds, changes and withdraws. Pure: data in, entries out.

A project keeps the number ผด.02 gives it when it is first listed: ``strategy.plan-program.row``
("2.1.3"), equipment of ผด.02/1 ``ค.plan-program.row``. A project an amendment adds takes the next
row of its strategy and plan-program, so numbers already on reports never move.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from service.documents.records import Project, by_program, by_strategy, projects_of

EQUIPMENT = "ค."


@dataclass(frozen=True)
class Listed:
    number: str
    name: str
    unit: str
    strategy: str
    plan_program: str
    budget: int  # satang
    months: list[int]
    is_equipment: bool = False

    def as_dict(self) -> dict[str, Any]:
        """As an event records it: the budget in baht, as the plan's forms record money."""
        return {**asdict(self), "budget": self.budget / 100}

    @classmethod
    def of(cls, recorded: dict[str, Any]) -> Listed:
        """From an event's record (as_dict)."""
        return cls(**{**recorded, "budget": satang(recorded["budget"])})


def satang(baht: Decimal | float | int) -> int:
    return int((Decimal(str(baht)) * 100).to_integral_value())


def _listed(number: str, project: Project, equipment: bool) -> Listed:
    return Listed(number, project.name, project.unit, project.strategy, project.plan_program, satang(project.budget),
                  sorted(project.months, key=_fiscal_order), equipment)


def _fiscal_order(month: int) -> int:
    return (month - 10) % 12


def first_list(items: list[dict[str, Any]]) -> list[Listed]:
    """The projects of an announced plan, numbered and ordered as its ผด.02 and ผด.02/1 print them."""
    projects, equipment = projects_of({"projects": items})
    listed = []
    for strategy in by_strategy(projects):
        for p, program in enumerate(strategy.groups, start=1):
            listed += [_listed(f"{strategy.number}.{p}.{row}", project, False)
                       for row, project in enumerate(program.projects, start=1)]
    for p, program in enumerate(by_program(equipment), start=1):
        listed += [_listed(f"{EQUIPMENT}{p}.{row}", project, True) for row, project in enumerate(program.projects, 1)]
    return listed


def sort_key(number: str) -> tuple[int, ...]:
    """The paper's order: ผด.02's projects by their numbers, then ผด.02/1's equipment."""
    equipment = number.startswith(EQUIPMENT)
    parts = number.removeprefix(EQUIPMENT).split(".")
    return (int(equipment), *(int(part) if part.isdigit() else 0 for part in parts))


@dataclass
class Amended:
    added: list[Listed]
    changed: list[Listed]
    withdrawn: list[str]  # numbers
    unmatched: list[str]  # names an amendment changes or withdraws that the list does not hold


def amend(current: list[Listed], adds: list[dict[str, Any]], changes: list[dict[str, Any]],
          removes: list[dict[str, Any]]) -> Amended:
    """What an announced amendment does to the list ``current`` (the projects not withdrawn). A
    changed or withdrawn project is the listed one of the same name (and unit, when given)."""
    remaining = list(current)
    unmatched: list[str] = []

    def take(item: dict[str, Any]) -> Listed | None:
        name, unit = str(item.get("name") or "").strip(), str(item.get("responsible_unit") or "").strip()
        found = next((entry for entry in remaining if entry.name.strip() == name and (not unit or entry.unit == unit)),
                     None) or next((entry for entry in remaining if entry.name.strip() == name), None)
        if found is None:
            unmatched.append(name)
        else:
            remaining.remove(found)
        return found

    withdrawn = [entry.number for entry in map(take, removes) if entry is not None]
    changed = []
    for item in changes:
        entry = take(item)
        if entry is not None:
            changed.append(_listed(entry.number, _parsed(item)[0], entry.is_equipment))
    numbers = _Numbers(current)
    added = []
    for item in adds:
        project, equipment = _parsed(item)
        number = numbers.next_equipment(project.plan_program) if equipment \
            else numbers.next_project(project.strategy, project.plan_program)
        added.append(_listed(number, project, equipment))
    return Amended(added, changed, withdrawn, unmatched)


def _parsed(item: dict[str, Any]) -> tuple[Project, bool]:
    """One project of an amendment's list, and whether it is equipment (ผด.02/1)."""
    projects, equipment = projects_of({"projects": [item]})
    return (projects or equipment)[0], bool(equipment)


class _Numbers:
    """The next free number of a strategy's plan-program, from the numbers already given."""

    def __init__(self, listed: list[Listed]):
        self.strategies: dict[str, int] = {}
        self.programs: dict[tuple[str, str], int] = {}
        self.rows: dict[str, int] = {}
        for entry in listed:
            parts = entry.number.removeprefix(EQUIPMENT).split(".")
            if entry.is_equipment:
                self.programs[(EQUIPMENT, entry.plan_program)] = int(parts[0])
            else:
                self.strategies[entry.strategy] = int(parts[0])
                self.programs[(entry.strategy, entry.plan_program)] = int(parts[1])
            prefix = entry.number.rsplit(".", 1)[0]
            self.rows[prefix] = max(self.rows.get(prefix, 0), int(parts[-1]))

    def next_project(self, strategy: str, program: str) -> str:
        if strategy not in self.strategies:
            self.strategies[strategy] = max(self.strategies.values(), default=0) + 1
        return self._next(f"{self.strategies[strategy]}.", (strategy, program))

    def next_equipment(self, program: str) -> str:
        return self._next(EQUIPMENT, (EQUIPMENT, program))

    def _next(self, head: str, key: tuple[str, str]) -> str:
        if key not in self.programs:
            used = [p for (owner, _), p in self.programs.items() if owner == key[0]]
            self.programs[key] = max(used, default=0) + 1
        prefix = f"{head}{self.programs[key]}"
        self.rows[prefix] = self.rows.get(prefix, 0) + 1
        return f"{prefix}.{self.rows[prefix]}"
