"""A form's cross-field rules (service/taskforms/rules.py): declared as data, checked in the
sandbox against the plan's data and today, refused with a Thai message beside the field."""

from __future__ import annotations

from datetime import date

import pytest

from service.errors import Invalid
from service.taskforms import rules
from service.thai.legaldays import timer_helpers

FORM = {
    "type": "object",
    "properties": {"posted_on": {"type": "string", "format": "date"}, "note": {"type": "string"}},
    "x-rules": [
        {"check": "posted_on >= announced_on", "field": "posted_on",
         "message": "วันที่ปิดประกาศต้องไม่ก่อนวันที่ประกาศ ({announced_on})"},
        {"check": "posted_on <= today", "field": "posted_on", "message": "ต้องไม่เป็นวันในอนาคต"},
    ],
}
TODAY = date(2020, 10, 5)
HELPERS = timer_helpers(())


def broken(submitted, known=None, form=FORM):
    try:
        rules.enforce(form, submitted, known or {"announced_on": "2020-10-01"}, TODAY, HELPERS)
    except Invalid as err:
        return err.errors
    return []


def test_rules_that_hold_pass_and_broken_ones_name_their_field_in_thai():
    assert broken({"posted_on": "2020-10-02"}) == []
    assert broken({"posted_on": "2020-09-30"}) == [
        {"field": "/posted_on", "message": "วันที่ปิดประกาศต้องไม่ก่อนวันที่ประกาศ (1 ตุลาคม พ.ศ. 2563)"}]
    assert [e["message"] for e in broken({"posted_on": "2020-10-06"})] == ["ต้องไม่เป็นวันในอนาคต"]


def test_a_rule_is_skipped_while_its_field_is_empty():
    assert broken({}) == [] and broken({"note": "x"}) == []


def test_legal_day_helpers_count_as_the_timers_do():
    form = {"type": "object", "properties": {"removed_on": {"type": "string"}, "reason": {"type": "string"}},
            "x-rules": [{"check": "removed_on > legal_minimum_day(posted_on, 30) or bool(reason)",
                         "field": "removed_on", "message": "ไม่ครบสามสิบวัน"}]}
    known = {"posted_on": "2020-10-02"}
    assert broken({"removed_on": "2020-11-01"}, known, form) != []  # the thirtieth day is 1 Nov: not complete
    assert broken({"removed_on": "2020-11-02"}, known, form) == []
    assert broken({"removed_on": "2020-11-01", "reason": "ประกาศถูกฉีก"}, known, form) == []


def test_a_rule_that_fails_to_run_says_so_and_a_message_cannot_format_anything_else():
    form = {"type": "object", "properties": {"a": {"type": "string"}},
            "x-rules": [{"check": "a > unknown_field", "field": "a", "message": "m"},
                        {"check": "a == 'x'", "field": "a", "message": "{a.__class__} {today} {missing}"}]}
    errors = broken({"a": "y"}, {}, form)
    assert "ผู้ออกแบบ" in errors[0]["message"]
    assert errors[1]["message"] == "{a.__class__} 5 ตุลาคม พ.ศ. 2563 {missing}"


@pytest.mark.parametrize("bad, reason", [
    ({"x-rules": "posted_on > 1"}, "must be a list"),
    ({"x-rules": [{"check": "posted_on > 1", "field": "posted_on"}]}, "exactly"),
    ({"x-rules": [{"check": "__import__('os')", "field": "posted_on", "message": "m"}]}, "not allowed"),
    ({"x-rules": [{"check": "posted_on >", "field": "posted_on", "message": "m"}]}, "syntax"),
    ({"x-rules": [{"check": "True", "field": "nowhere", "message": "m"}]}, "not a field"),
    ({"x-rules": [{"check": "True", "field": "posted_on", "message": " "}]}, "empty"),
    ({"x-rules": [{"check": "1 + " * 200 + "1", "field": "posted_on", "message": "m"}]}, "longer"),
])
def test_the_designers_checks_name_what_is_wrong_with_a_rule(bad, reason):
    form = {"type": "object", "properties": {"posted_on": {"type": "string"}}, **bad}
    found = rules.problems(form)
    assert found and reason in " ".join(found), found


def test_the_shipped_forms_rules_all_pass_the_checks():
    import json
    from pathlib import Path

    forms = Path(__file__).resolve().parents[2] / "forms"
    with_rules = 0
    for path in forms.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert rules.problems(schema) == [], path.name
        with_rules += bool(schema.get("x-rules"))
    assert with_rules >= 20
