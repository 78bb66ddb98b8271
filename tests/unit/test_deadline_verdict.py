"""The one verdict on a deadline (service/deadlines.py): the recorded fact decides, the clock adds
only that a limit passed while its step is open."""

from __future__ import annotations

from datetime import datetime

from service.deadlines import of_task, verdict
from service.thai.legaldays import BANGKOK, as_date, end_of_day

DUE = end_of_day(as_date("2020-10-16"))


def limit(**kw):
    return {"key": "posting_deadline", "name": "ปิดประกาศภายใน 15 วัน", "basis": "ข้อ 26 (2)", "kind": "limit",
            "due_at": DUE.isoformat(), "state": "pending", **kw}


def at(*args):
    return datetime(*args, tzinfo=BANGKOK)


def test_a_pending_limit_turns_overdue_only_after_its_last_day_ends():
    assert verdict(limit(), at(2020, 10, 16, 23, 59))["state"] == "pending"
    late = verdict(limit(), at(2020, 10, 18, 8, 0))
    assert (late["state"], late["overdue"], late["label"], late["days_late"]) == ("missed", True, "เกินกำหนด", 2)


def test_the_recorded_fact_decides_and_is_shown_as_the_day_it_was_done():
    met = verdict(limit(state="met", fact="posted_on", fact_on="2020-10-05",
                        actual_at=at(2020, 10, 20, 9, 0).isoformat()), at(2020, 12, 1, 9, 0))
    assert (met["state"], met["actual_on"], met["overdue"], met["days_late"]) == ("met", "2020-10-05", False, None)
    missed = verdict(limit(state="missed", fact_on="2020-10-19"), at(2020, 12, 1, 9, 0))
    assert (missed["state"], missed["label"], missed["days_late"], missed["overdue"]) == (
        "missed", "ไม่เป็นไปตามกำหนด", 3, False)


def test_a_minimum_period_is_never_overdue_and_keeps_its_reason():
    period = {**limit(kind="minimum", state="missed", fact_on="2020-10-10", reason="ประกาศถูกฉีก")}
    found = verdict(period, at(2020, 12, 1))
    assert (found["state"], found["overdue"], found["days_late"], found["reason"]) == ("missed", False, None,
                                                                                        "ประกาศถูกฉีก")
    assert verdict(limit(kind="minimum"), at(2021, 1, 1))["state"] == "pending"  # fires by its timer, not the clock


def test_an_extended_limit_shows_both_dates():
    extended = limit(due_at=end_of_day(as_date("2020-11-30")).isoformat(), extended_to="2020-11-30",
                     original_due_at=DUE.isoformat())
    found = verdict(extended, at(2020, 11, 1))
    assert (found["due_on"], found["original_due_on"], found["state"]) == ("2020-11-30", "2020-10-16", "pending")


def test_a_step_is_judged_by_the_deadline_its_due_date_comes_from():
    assert of_task(None, [limit()], at(2020, 10, 1)) is None
    matched = of_task(DUE, [limit()], at(2020, 10, 17, 1, 0))
    assert (matched["key"], matched["overdue"]) == ("posting_deadline", True)
    unmatched = of_task(DUE, [], at(2020, 10, 1))
    assert (unmatched["key"], unmatched["state"]) == ("", "pending")
