import json
from pathlib import Path

import pytest

from service.errors import Invalid
from service.taskforms import validation as formcheck

FORMS = Path(__file__).resolve().parents[2] / "forms"
COLLECT = json.loads((FORMS / "collect_projects.schema.json").read_text(encoding="utf-8"))
PROJECT = {"name": "ถนน", "budget": 1234567.89, "place": "หมู่ 1", "responsible_unit": "กองช่าง",
           "strategy": "โครงสร้างพื้นฐาน", "plan_program": "การศึกษา", "source": "lao", "funding": "ordinance",
           "months": [10, 1]}


def errors_of(schema, data):
    with pytest.raises(Invalid) as caught:
        formcheck.validate(schema, data)
    return {e["field"]: e["message"] for e in caught.value.errors}


@pytest.mark.parametrize("budget", [0, 0.07, 1234567.89, 480000, 2500000.5, 19.99])
def test_two_decimal_budgets_are_accepted(budget):
    formcheck.validate(COLLECT, {"projects": [{**PROJECT, "budget": budget}]})


def test_every_shipped_form_is_a_valid_schema():
    for path in FORMS.glob("*.schema.json"):
        assert formcheck.schema_problems(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


@pytest.mark.parametrize("change, field, words", [
    ({"budget": -1}, "/projects/0/budget", "ไม่น้อยกว่า 0"),
    ({"budget": 1.234}, "/projects/0/budget", "ทศนิยม"),
    ({"budget": "หนึ่งร้อย"}, "/projects/0/budget", "ตัวเลข"),
    ({"months": [13]}, "/projects/0/months/0", "เดือน"),
    ({"months": [0]}, "/projects/0/months/0", "เลือกจากรายการ"),
    ({"plan_program": "อื่น ๆ"}, "/projects/0/plan_program", "เลือกจากรายการ"),
    ({"source": "central"}, "/projects/0/agency", "กรุณากรอกชื่อหน่วยงาน"),
])
def test_bad_projects_are_named_by_field_in_thai(change, field, words):
    errors = errors_of(COLLECT, {"projects": [{**PROJECT, **change}]})
    assert field in errors and words in errors[field], errors


def test_missing_required_fields_and_unknown_fields():
    project = {k: v for k, v in PROJECT.items() if k != "name"}
    errors = errors_of(COLLECT, {"projects": [project], "announced_on": "2020-10-01"})
    assert errors["/projects/0/name"].startswith("กรุณากรอก")
    assert errors["/announced_on"] == "แบบฟอร์มนี้ไม่มีช่องนี้"


def test_dates_must_be_real_dates():
    schema = json.loads((FORMS / "announce_plan.schema.json").read_text(encoding="utf-8"))
    errors = errors_of(schema, {"announced_on": "2020-02-30", "executive_name": "ก", "executive_title": "ข"})
    assert "วันที่" in errors["/announced_on"]


def test_data_must_be_an_object():
    assert errors_of(COLLECT, ["projects"]) == {"": "ต้องเป็นชุดข้อมูล"}


# --- Forms checked safely (issue 12) ---------------------------------------------------------
@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/x.json", "file:///etc/passwd", "other.schema.json#/a",
                                 "#/$defs/missing"])
def test_a_ref_outside_the_form_or_to_nothing_in_it_is_refused(ref):
    schema = {"type": "object", "$defs": {"x": {"type": "string"}}, "properties": {"a": {"$ref": ref}}}
    assert any("$ref" in p for p in formcheck.schema_problems(schema))


def test_a_ref_inside_the_form_is_kept_and_used():
    schema = {"type": "object", "$defs": {"x": {"type": "string", "title": "ชื่อ"}},
              "properties": {"a": {"$ref": "#/$defs/x"}}}
    assert formcheck.schema_problems(schema) == []
    with pytest.raises(Invalid):
        formcheck.validate(schema, {"a": 5})


def test_a_remote_ref_in_a_form_published_before_the_check_is_never_fetched():
    schema = {"type": "object", "properties": {"a": {"$ref": "http://10.255.255.1/x.json"}}}
    with pytest.raises(Invalid, match="แบบฟอร์มของขั้นตอนนี้ใช้งานไม่ได้"):
        formcheck.validate(schema, {"a": 1})


def test_patterns_run_on_re2():
    """RE2's \\d is ASCII only (Python's re takes Thai digits too), and a backreference, which only a
    backtracking engine runs, is refused; a catastrophic pattern answers at once."""
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^\\d+$"}}}
    with pytest.raises(Invalid):
        formcheck.validate(schema, {"code": "๑๒๓"})
    assert formcheck.validate(schema, {"code": "123"})
    assert formcheck.schema_problems({"type": "object", "properties": {"a": {"type": "string",
                                                                              "pattern": "^(a)\\1$"}}})
    catastrophic = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}
    with pytest.raises(Invalid):
        formcheck.validate(catastrophic, {"a": "a" * 40 + "!"})


@pytest.mark.parametrize("data, field", [
    ({"a": ["x"] * 5001}, "/a"), ({"a": "x" * 20_001}, "/a"),
    ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {"m": 1}}}}}}}}}}}}}, None),
])
def test_data_past_the_system_bounds_is_refused_whatever_the_form_says(data, field):
    with pytest.raises(Invalid) as refused:
        formcheck.validate({"type": "object"}, data)
    assert field is None or refused.value.errors[0]["field"] == field


@pytest.mark.parametrize("keyword, value", [("maxItems", 10**9), ("maxLength", 10**6)])
def test_a_form_may_not_allow_more_than_the_system(keyword, value):
    assert formcheck.schema_problems({"type": "object", "properties": {"a": {keyword: value}}})
