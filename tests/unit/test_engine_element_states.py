"""Where an instance stands, element by element: what the auditor's diagram marks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service import engine
from service.thai import legaldays

PROCESS = Path(__file__).resolve().parents[2] / "processes" / "operational_plan" / "operational_plan.bpmn"
START = datetime(2020, 9, 21, 9, 0, tzinfo=ZoneInfo("Asia/Bangkok"))


@pytest.fixture(scope="module")
def model():
    return engine.parse_process({PROCESS.name: PROCESS.read_bytes()})


def started(model):
    return engine.Instance.start(model, {"organization": "x", "fiscal_year": 2564, "budget_announced_on": "2020-09-20"},
                                 START, legaldays.timer_helpers(set()))


def complete(instance, name, data, at):
    task = next(t for t in instance.open_tasks() if t.spec_name == name)
    instance.complete(task.id, data, at)


def test_a_new_plan_has_passed_its_start_and_waits_on_the_first_task_and_the_budget_timer(model):
    states = started(model).element_states()
    assert states["start_plan"] == "completed"
    assert states["prepare_and_announce"] == "started"
    assert states["collect_projects"] == "ready"
    assert states["budget_deadline"] == "waiting"
    assert "draft_plan" not in states and "end_plan" not in states


def test_a_sent_back_step_shows_where_it_stands_now_not_that_it_was_done_before(model):
    instance = started(model)
    at = START
    for name, data in (("collect_projects", {"projects": []}), ("draft_plan", {"draft_prepared_on": "2020-09-22"}),
                       ("propose_draft", {"proposed_on": "2020-09-23"}),
                       ("consider_draft", {"review_meeting_date": "2020-09-25", "review_resolution": "revise",
                                           "review_comments": "แก้ไข"})):
        at += timedelta(hours=1)
        complete(instance, name, data, at)
    states = instance.element_states()
    assert states["draft_plan"] == "ready"  # done once, open again after the send-back
    assert states["consider_draft"] == "completed" and states["review_gateway"] == "completed"
    assert states["collect_projects"] == "completed"
    assert "present_to_executive" not in states


def test_element_states_do_not_change_the_instance(model):
    instance = started(model)
    before = instance.digest()
    instance.element_states()
    assert instance.digest() == before
