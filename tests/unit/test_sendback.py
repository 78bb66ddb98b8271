"""Send-backs as a process declares them (bundles/sendback), without a database: which open step
was sent back, what changed in a list between two rounds, and the designers' checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from service.bundles import catalog, lint, sendback

ROOT = Path(__file__).parents[2]
AT = datetime(2020, 9, 24, 3, 0, tzinfo=UTC)
ELEMENTS = {
    "consider": {"name": "พิจารณาร่าง", "properties": {"sendBackWhen": "resolution=revise|redo",
                                                       "sendBackReasonField": "comments"}},
    "draft": {"name": "จัดทำร่าง", "properties": {}},
    "propose": {"name": "เสนอร่าง", "properties": {}},
}


def done(seq, task, **data):
    return {"id": seq, "seq": seq, "at": AT, "actor": f"user{seq}", "role": "r", "task": task, "data": data}


ROUND = [done(1, "draft"), done(2, "propose"), done(3, "consider", resolution="revise", comments="แก้งบ")]


def test_a_step_reopened_by_a_send_back_says_who_when_and_why():
    sender = sendback.reopened_by("draft", AT, ROUND)
    assert sender is ROUND[2]
    assert sendback.returned(sender, sender["data"], ELEMENTS) == {
        "by": "user3", "role": "r", "at": AT.isoformat(), "from_step": "consider", "from_title": "พิจารณาร่าง",
        "reason": "แก้งบ"}


@pytest.mark.parametrize("events, step", [
    (ROUND[:2], "consider"),  # the first visit of a step
    (ROUND + [done(4, "draft")], "propose"),  # proposed again after the re-draft: no send-back
    (ROUND[:2] + [done(3, "consider", resolution="approve")], "draft"),  # a decision that does not send back
])
def test_other_reopenings_are_no_send_back(events, step):
    sender = sendback.reopened_by(step, AT, events)
    assert sender is None or sendback.returned(sender, sender["data"], ELEMENTS) is None


def test_completions_after_the_step_opened_do_not_count():
    later = {**done(4, "other"), "at": datetime(2020, 9, 25, tzinfo=UTC)}
    assert sendback.reopened_by("draft", AT, [*ROUND, later]) is ROUND[2]


def test_the_second_value_sends_back_too_and_a_missing_reason_reads_empty():
    sender = done(3, "consider", resolution="redo")
    assert sendback.returned(sender, sender["data"], ELEMENTS)["reason"] == ""


def test_list_changes_by_name_and_budget():
    before = [{"name": "ถนน", "budget": 480000}, {"name": "รถน้ำ", "budget": 2500000.5}, {"name": "ซ้ำ", "budget": 1}]
    after = [{"name": "ถนน", "budget": 520000.0}, {"name": "คลอง", "budget": 150000}, {"name": "ซ้ำ", "budget": 1.0}]
    assert sendback.list_changes(before, after) == {
        "added": [{"name": "คลอง", "budget": "150000.00"}],
        "removed": [{"name": "รถน้ำ", "budget": "2500000.50"}],
        "changed": [{"name": "ถนน", "budget_before": "480000.00", "budget": "520000.00", "fields": ["budget"]}],
    }
    assert sendback.list_changes(before, before) == {"added": [], "removed": [], "changed": []}
    moved = [{**before[0], "months": [3, 1]}]
    assert sendback.list_changes([{**before[0], "months": [1, 3]}], moved)["changed"] == []


def test_changes_by_event_only_for_a_list_given_again():
    events = [{"seq": 1, "kind": "plan_started", "data": {}},
              {"seq": 2, "kind": "task_completed", "data": {"projects": [{"name": "ก", "budget": 1}]}},
              {"seq": 3, "kind": "task_completed", "data": {"projects": [{"name": "ก", "budget": 1}]}},
              {"seq": 4, "kind": "task_claimed", "data": {"projects": []}},
              {"seq": 5, "kind": "task_completed", "data": {"projects": [], "posting_places": ["บอร์ด"]}}]
    assert sendback.changes_by_event(events, {"plan_started", "task_completed"}) == {
        5: {"projects": {"added": [], "removed": [{"name": "ก", "budget": "1.00"}], "changed": []}}}


# --- The designers' checks ---------------------------------------------------------------------------
FORM = {"type": "object", "properties": {
    "resolution": {"type": "string", "enum": ["approve", "revise"]},
    "comments": {"type": "string"}}, "required": ["resolution"]}
REQUIRING = {**FORM, "if": {"properties": {"resolution": {"const": "revise"}}, "required": ["resolution"]},
             "then": {"required": ["comments"], "properties": {"comments": {"minLength": 1}}}}
LISTS = {"type": "object", "properties": {"projects": {"type": "array", "items": {"type": "object"}}}}


def task(**properties):
    props = "".join(f'<s:property name="{k}" value="{v}"/>' for k, v in properties.items())
    return etree.fromstring(
        '<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:s="http://spiffworkflow.org/bpmn/schema/1.0/core" id="consider" name="พิจารณา">'
        f'<bpmn:extensionElements><s:properties><s:property name="formJsonSchemaFilename" value="c.json"/>{props}'
        '</s:properties></bpmn:extensionElements></bpmn:userTask>')


def codes(element, form=REQUIRING):
    return [f.code for f in sendback.problems("p.bpmn", element, {"c.json": form, "l.json": LISTS})]


@pytest.mark.parametrize("properties, form, expected", [
    ({"sendBackWhen": "resolution=revise", "sendBackReasonField": "comments", "draftLists": "projects"},
     REQUIRING, []),
    ({"sendBackWhen": "resolution"}, REQUIRING, ["send_back_syntax"]),
    ({"sendBackWhen": "decision=revise", "sendBackReasonField": "comments"}, REQUIRING, ["send_back_field"]),
    ({"sendBackWhen": "resolution=reject", "sendBackReasonField": "comments"}, REQUIRING, ["send_back_value"]),
    ({"sendBackWhen": "resolution=revise"}, REQUIRING, ["send_back_no_reason"]),
    ({"sendBackReasonField": "comments"}, REQUIRING, ["send_back_reason_only"]),
    ({"sendBackWhen": "resolution=revise", "sendBackReasonField": "resolution_note"}, REQUIRING,
     ["send_back_reason_field"]),
    ({"sendBackWhen": "resolution=revise", "sendBackReasonField": "comments"}, FORM, ["send_back_reason_optional"]),
    ({"draftLists": "projects, equipment"}, REQUIRING, ["draft_list_unknown"]),
])
def test_send_back_properties_are_checked_against_the_forms(properties, form, expected):
    assert codes(task(**properties), form) == expected


def test_the_messages_name_the_task_and_say_what_to_do():
    found = sendback.problems("p.bpmn", task(sendBackWhen="resolution=revise", sendBackReasonField="comments"),
                              {"c.json": FORM})
    assert "ไม่บังคับกรอก \"comments\" เมื่อ resolution = revise" in found[0].message()
    assert "«พิจารณา» (consider)" in found[0].message() and "if/then" in found[0].message("en")


@pytest.mark.parametrize("name", ["operational_plan", "amendment"])
def test_the_shipped_processes_declare_their_send_backs_cleanly(name):
    bundle = catalog.read_bundle(ROOT / "processes" / name, ROOT / "forms")
    checked = lint.check({k: v.encode() for k, v in bundle.files().items()}, name)
    declared = [key for key, element in checked.model.elements.items()
                if sendback.declared(element["properties"]) is not None]
    assert len(declared) == 2 and not checked.warnings
    for key in declared:
        form = json.loads(bundle.files()[checked.model.elements[key]["properties"]["formJsonSchemaFilename"]])
        assert sendback.draft_lists(checked.model.elements[key]["properties"])
        assert form["then"]["required"] == [checked.model.elements[key]["properties"]["sendBackReasonField"]]
