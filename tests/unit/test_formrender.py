"""The generic form renderer: every schema type both ways, and what was typed kept on errors."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from service.taskforms import fields as formrender

SCHEMA = {
    "type": "object",
    "required": ["title", "amount"],
    "properties": {
        "title": {"type": "string", "title": "ชื่อ"},
        "note": {"type": "string", "x-widget": "textarea"},
        "amount": {"type": "number", "multipleOf": 0.01, "title": "จำนวนเงิน"},
        "count": {"type": "integer"},
        "on": {"type": "string", "format": "date", "title": "วันที่"},
        "choice": {"type": "string", "enum": ["a", "b"], "x-enumTitles": ["ก", "ข"]},
        "many": {"type": "string", "enum": list("abcdef")},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "months": {"type": "array", "items": {"type": "integer", "enum": [10, 11, 1]}},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "ok": {"type": "boolean"}}}},
    },
}


def test_kinds_follow_the_schema_not_field_names():
    form = formrender.build(SCHEMA, {})
    kinds = {f.pointer: f.kind for f in form.fields}
    assert kinds == {"/title": "text", "/note": "textarea", "/amount": "number", "/count": "number", "/on": "date",
                     "/choice": "radios", "/many": "select", "/flag": "checkbox", "/tags": "list",
                     "/months": "checkboxes", "/rows": "table"}
    choice = next(f for f in form.fields if f.pointer == "/choice")
    assert choice.options == [("a", "ก"), ("b", "ข")]


def test_values_are_shown_as_thai_officials_read_them():
    form = formrender.build(SCHEMA, {"amount": 2500000.5, "count": 1200, "on": "2020-10-16", "months": [1]})
    shown = {f.pointer: f.value for f in form.fields}
    assert shown["/amount"] == "2,500,000.50" and shown["/count"] == "1,200"
    assert shown["/on"] == {"d": "16", "m": "10", "y": "2563"}
    assert shown["/months"] == {"1"}


def test_a_submitted_form_becomes_json_data():
    form = MultiDict([("/title", " งาน "), ("/note", "บรรทัด\r\nสอง"), ("/amount", "๑,๒๕๐.๕"), ("/count", "3"),
                      ("/on#d", "16"), ("/on#m", "10"), ("/on#y", "2563"), ("/choice", "b"), ("/flag", "true"),
                      ("/tags/0", "หน้าสำนักงาน"), ("/tags/1", ""), ("/months", "1"), ("/months", "10"),
                      ("/rows/0/name", "แถวหนึ่ง"), ("/rows/3/name", "แถวสอง"), ("/rows/3/ok", "true"),
                      ("/rows/7/name", "")])
    data, problems = formrender.parse(SCHEMA, form)
    assert problems == []
    assert data == {"title": "งาน", "note": "บรรทัด\nสอง", "amount": 1250.5, "count": 3, "on": "2020-10-16",
                    "choice": "b", "flag": True, "tags": ["หน้าสำนักงาน"], "months": [10, 1],
                    "rows": [{"name": "แถวหนึ่ง", "ok": False}, {"name": "แถวสอง", "ok": True}]}


def test_unreadable_values_are_reported_and_shown_back_as_typed():
    form = MultiDict([("/amount", "สองล้าน"), ("/on#d", "31"), ("/on#m", "2"), ("/on#y", "2563")])
    data, problems = formrender.parse(SCHEMA, form)
    assert {p["field"] for p in problems} == {"/amount", "/on"}
    rebuilt = formrender.build(SCHEMA, data, problems + [{"field": "/title", "message": "กรุณากรอกชื่อ"}])
    fields = {f.pointer: f for f in rebuilt.fields}
    assert fields["/amount"].value == "สองล้าน" and fields["/amount"].errors
    assert fields["/on"].value == {"d": "31", "m": "2", "y": "2563"}
    assert fields["/title"].errors == ["กรุณากรอกชื่อ"]
    assert [target for target, _ in rebuilt.summary] == ["f-title", "f-amount", "f-on"]


def test_a_gregorian_year_is_refused_with_a_hint():
    _, problems = formrender.parse(SCHEMA, MultiDict([("/on#d", "1"), ("/on#m", "1"), ("/on#y", "2020")]))
    assert "พ.ศ." in problems[0]["message"]


def test_row_buttons():
    data = {"rows": [{"name": "1"}, {"name": "2"}]}
    assert formrender.apply_row_action(data, "down /rows/0")["rows"] == [{"name": "2"}, {"name": "1"}]
    assert formrender.apply_row_action(data, "remove /rows/1")["rows"] == [{"name": "2"}]
    assert len(formrender.apply_row_action(data, "add /rows")["rows"]) == 2
    assert formrender.apply_row_action({"rows": []}, "add /rows")["rows"] == [None, None]
    assert formrender.apply_row_action(data, "remove /nowhere/9") == data


def test_a_row_left_as_the_form_showed_it_is_not_a_row():
    """A new row shows its select at the form's default and its tick box unticked: untouched, it is blank."""
    row = {"type": "object", "properties": {
        "name": {"type": "string"},
        "funding": {"type": "string", "enum": ["ordinance", "subsidy"], "default": "ordinance"},
        "flag": {"type": "boolean", "default": False}}}
    schema = {"type": "object", "properties": {"rows": {"type": "array", "items": row}}}
    untouched = MultiDict({"/rows/0/name": "", "/rows/0/funding": "ordinance"})
    assert formrender.parse(schema, untouched)[0] == {"rows": []}
    chosen = MultiDict({"/rows/0/name": "", "/rows/0/funding": "subsidy"})
    assert formrender.parse(schema, chosen)[0] == {"rows": [{"funding": "subsidy", "flag": False}]}
    named = MultiDict({"/rows/0/name": "ถนน", "/rows/0/funding": "ordinance"})
    assert formrender.parse(schema, named)[0] == {"rows": [{"name": "ถนน", "funding": "ordinance", "flag": False}]}
