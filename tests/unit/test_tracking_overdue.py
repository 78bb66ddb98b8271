"""The progress page's overdue flag and filters (service/tracking/reads.py): a project is overdue
from the first day after its last planned month when it has not started, with the fiscal year's
months running October to September across two calendar years."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from service.tracking import reads


def project(months, status="not_started", withdrawn=False, number="1.1.1", unit="กองช่าง", strategy="ก"):
    """A tracked project as the read model's rows give it (the figures' columns and the page's)."""
    return SimpleNamespace(number=number, name=number, unit=unit, strategy=strategy, plan_program="p", budget=100,
                           months=list(months), status=status, withdrawn=withdrawn, progress={"status": status},
                           list_version=0, is_equipment=False, contracted=None, disbursed=None, updated_at=None,
                           updated_by=None)


@pytest.mark.parametrize(("months", "last_day_on_time", "first_day_late"), [
    ([10], date(2020, 10, 31), date(2020, 11, 1)),
    ([10, 11, 12], date(2020, 12, 31), date(2021, 1, 1)),  # Oct–Dec of FY 2564: late from New Year's Day
    ([12, 10], date(2020, 12, 31), date(2021, 1, 1)),  # in any order
    ([1], date(2021, 1, 31), date(2021, 2, 1)),
    ([11, 2], date(2021, 2, 28), date(2021, 3, 1)),  # across the calendar year: February is the last
    ([12, 1], date(2021, 1, 31), date(2021, 2, 1)),  # December then January: January is the last
    ([6, 7, 8], date(2021, 8, 31), date(2021, 9, 1)),
    ([9], date(2021, 9, 30), date(2021, 10, 1)),  # September: late from the first day of the next fiscal year
    (list(range(1, 13)), date(2021, 9, 30), date(2021, 10, 1)),
])
def test_a_project_not_started_is_overdue_from_the_day_after_its_last_planned_month(months, last_day_on_time,
                                                                                   first_day_late):
    row = project(months)
    assert not reads.overdue(row, last_day_on_time, 2564)
    assert reads.overdue(row, first_day_late, 2564)
    assert reads.overdue(row, date(2030, 1, 1), 2564)
    assert not reads.overdue(row, date(2020, 10, 1), 2564)


def test_the_fiscal_year_names_its_own_calendar_years():
    assert not reads.overdue(project([9]), date(2026, 9, 30), 2569)  # FY 2569: 1 Oct 2025 – 30 Sep 2026
    assert reads.overdue(project([9]), date(2026, 10, 1), 2569)
    assert reads.overdue(project([10, 11, 12]), date(2026, 1, 1), 2569)
    assert not reads.overdue(project([10, 11, 12]), date(2025, 12, 31), 2569)


@pytest.mark.parametrize("row", [project([10], "in_progress"), project([10], "done"), project([10], "cancelled"),
                                 project([10], withdrawn=True), project([])])
def test_started_finished_cancelled_withdrawn_or_unplanned_projects_are_never_overdue(row):
    assert not reads.overdue(row, date(2030, 1, 1), 2564)


def test_the_filters_keep_by_unit_strategy_status_and_overdue_and_never_narrow_the_figures():
    rows = [project([10], number="1.1.1"), project([9], number="1.1.2"),
            project([10], "in_progress", number="1.1.3", unit="กองคลัง", strategy="ข"),
            project([10], withdrawn=True, number="1.1.4")]
    today = date(2021, 1, 15)

    def numbers(**filters):
        def shown(numbers):
            return {row.number: row for row in rows if row.number in numbers}

        page = reads._listing(1, 2564, rows, shown, reads.Filters(**filters), None, None, today, False, set(), {})
        assert page["summary"]["projects"] == 3 and page["summary"]["overdue"] == 1  # the whole list's
        return [p["number"] for p in page["projects"]]

    assert numbers() == ["1.1.1", "1.1.2", "1.1.3", "1.1.4"]
    assert numbers(status="overdue") == ["1.1.1"]
    assert numbers(status="not_started") == ["1.1.1", "1.1.2"]  # a withdrawn project has no status to filter by
    assert numbers(unit="กองคลัง") == ["1.1.3"]
    assert numbers(strategy="ก", status="in_progress") == []
    assert numbers(unit="กองช่าง", status="overdue") == ["1.1.1"]
