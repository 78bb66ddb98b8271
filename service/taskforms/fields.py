"""Turns a task's JSON Schema into fields for an HTML form and a submitted HTML form back into
JSON data. Generic: it knows JSON Schema types and UI hints (x-widget, x-enumTitles), never the
fields of a particular procedure. Inputs are named by JSON pointer, so the validator's error
pointers land beside the field they concern."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.thai.dates import BE_OFFSET, MONTHS

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
ROW_ACTION = "_row"  # the submit buttons that add, remove and move table rows without JavaScript
DATE_PARTS = ("d", "m", "y")  # a date is picked as day, Thai month and Buddhist-Era year: /x#d /x#m /x#y
NEW_ROW = "__new__"  # the index in a row template that JavaScript replaces when it adds a row
RADIO_LIMIT = 4  # enums with at most this many choices are radios, longer ones a drop-down


@dataclass
class Unparsed:
    """What the user typed where it could not be read as the schema's type; shown back as typed."""

    raw: Any


@dataclass
class Field:
    kind: str  # text textarea number date select radios checkbox checkboxes list table group
    pointer: str  # JSON pointer of the value; also the input's name
    label: str
    help: str = ""
    required: bool = False
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (submitted value, label)
    errors: list[str] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)  # group: its fields; list/table: one per item
    blank: Field | None = None  # list/table: an empty item, for adding one
    money: bool = False

    @property
    def id(self) -> str:
        return "f" + re.sub(r"[^A-Za-z0-9_-]", "-", self.pointer)


@dataclass
class Form:
    title: str
    help: str
    fields: list[Field]
    summary: list[tuple[str | None, str]]  # (field id or None, message), in form order


# --- Schema -> fields -----------------------------------------------------------------
def build(schema: Mapping[str, Any], data: Any, errors: Sequence[Mapping[str, str]] = ()) -> Form:
    """The fields of ``schema`` filled with ``data``, each with the errors whose pointer is its own."""
    pending: dict[str, list[str]] = {}
    for error in errors:
        pending.setdefault(error.get("field", ""), []).append(error["message"])
    summary: list[tuple[str | None, str]] = []
    fields = _object_fields(schema, data if isinstance(data, dict) else {}, "", pending, summary)
    leftover = [(None, message) for messages in pending.values() for message in messages]
    return Form(schema.get("title", ""), schema.get("description", ""), fields, leftover + summary)


def _object_fields(schema, data, pointer, pending, summary) -> list[Field]:
    required = set(schema.get("required", []))
    return [_field(sub, data.get(name), f"{pointer}/{_escape(name)}", name, name in required, pending, summary)
            for name, sub in schema.get("properties", {}).items() if isinstance(sub, dict)]


def _field(schema, value, pointer, name, required, pending, summary) -> Field:
    kind = _kind(schema)
    item = Field(kind=kind, pointer=pointer, label=schema.get("title", name), help=schema.get("description", ""),
                 required=required, errors=pending.pop(pointer, []))
    summary.extend((item.id, message) for message in item.errors)
    if value is None and "default" in schema:
        value = schema["default"]
    if kind == "group":
        item.children = _object_fields(schema, value if isinstance(value, dict) else {}, pointer, pending, summary)
    elif kind in ("list", "table"):
        items = schema.get("items", {})
        values = value if isinstance(value, list) else []
        if not values:
            values = [None]  # an empty form shows one empty row to start from
        item.children = [_field(items, v, f"{pointer}/{i}", name, False, pending, summary)
                         for i, v in enumerate(values)]
        item.blank = _field(items, None, f"{pointer}/{NEW_ROW}", name, False, {}, [])
    elif kind in ("select", "radios", "checkboxes"):
        enum_schema = schema.get("items", {}) if kind == "checkboxes" else schema
        item.options = _options(enum_schema)
        chosen = value if isinstance(value, list) else [] if value is None else [value]
        item.value = {_submitted(v) for v in chosen}
    elif kind == "checkbox":
        item.value = value is True
    elif kind == "number":
        item.money = schema.get("multipleOf") == 0.01
        item.value = _number_text(value, item.money)
    elif kind == "date":
        item.value = _date_parts(value)
    else:
        item.value = value.raw if isinstance(value, Unparsed) else "" if value is None else str(value)
    return item


def _kind(schema) -> str:
    kind = schema.get("type")
    widget = schema.get("x-widget")
    if kind == "object":
        return "group"
    if kind == "array":
        items = schema.get("items", {})
        if "enum" in items:
            return "checkboxes"
        return "table" if items.get("type") == "object" else "list"
    if "enum" in schema:
        if widget in ("select", "radios"):
            return widget
        return "radios" if len(schema["enum"]) <= RADIO_LIMIT else "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("number", "integer"):
        return "number"
    if kind == "string" and schema.get("format") == "date":
        return "date"
    return "textarea" if widget == "textarea" else "text"


def _options(schema) -> list[tuple[str, str]]:
    enum = schema.get("enum", [])
    titles = schema.get("x-enumTitles", [])
    return [(_submitted(v), titles[i] if i < len(titles) else str(v)) for i, v in enumerate(enum)]


def _submitted(value) -> str:
    if isinstance(value, Unparsed):
        return str(value.raw)
    return "true" if value is True else "false" if value is False else str(value)


def _number_text(value, money: bool) -> str:
    if isinstance(value, Unparsed):
        return value.raw
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if money:
        return f"{value:,.2f}"
    return f"{value:,}"


def _date_parts(value) -> dict[str, str]:
    if isinstance(value, Unparsed):
        return value.raw
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        return {"d": "", "m": "", "y": ""}
    return {"d": str(day.day), "m": str(day.month), "y": str(day.year + BE_OFFSET)}


def month_options() -> list[tuple[str, str]]:
    return [(str(i + 1), name) for i, name in enumerate(MONTHS)]


# --- Submitted form -> data -------------------------------------------------------------
def parse(schema: Mapping[str, Any], form) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The data a submitted form holds, and a Thai message for each value that could not be read
    (such values stay in the data as Unparsed, so the form shows them back as typed)."""
    problems: list[dict[str, str]] = []
    return _parse_object(schema, form, "", problems), problems


def _parse_object(schema, form, pointer, problems) -> dict[str, Any]:
    data = {}
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        value = _parse_value(sub, form, f"{pointer}/{_escape(name)}", problems)
        if value is not None:
            data[name] = value
    return data


def _parse_value(schema, form, pointer, problems) -> Any:
    kind = _kind(schema)
    title = schema.get("title", pointer.rsplit("/", 1)[-1])
    if kind == "group":
        return _parse_object(schema, form, pointer, problems)
    if kind == "checkboxes":
        items = schema.get("items", {})
        by_text = {_submitted(v): v for v in items.get("enum", [])}
        picked = form.getlist(pointer)
        return [by_text.get(text, Unparsed(text)) for text in by_text if text in picked] + \
               [Unparsed(text) for text in picked if text not in by_text]
    if kind in ("list", "table"):
        rows = []
        for index in _indices(form, pointer):
            value = _parse_value(schema.get("items", {}), form, f"{pointer}/{index}", problems)
            if not _is_empty(value, schema.get("items", {})):
                rows.append(value)
        return rows
    if kind == "checkbox":
        return form.get(pointer) in ("true", "on", "1")
    if kind == "date":
        return _parse_date(form, pointer, title, problems)
    text = (form.get(pointer) or "").strip()
    if text == "":
        return None
    if kind in ("select", "radios"):
        by_text = {_submitted(v): v for v in schema.get("enum", [])}
        if text not in by_text and schema.get("type") == "string":
            return text  # text the list does not hold: the validator says so, in the list's words
        return by_text.get(text, Unparsed(text))
    if kind == "number":
        return _parse_number(text, schema, pointer, title, problems)
    return text.replace("\r\n", "\n")


def _parse_number(text, schema, pointer, title, problems) -> Any:
    cleaned = text.translate(THAI_DIGITS).replace(",", "").replace(" ", "")
    try:
        number = float(cleaned)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        problems.append({"field": pointer, "message": f"{title} ต้องเป็นตัวเลข เช่น 1,250,000.50"})
        return Unparsed(text)
    if schema.get("type") == "integer" or number.is_integer() and "." not in cleaned:
        if not number.is_integer():
            problems.append({"field": pointer, "message": f"{title} ต้องเป็นจำนวนเต็ม"})
            return Unparsed(text)
        return int(number)
    return round(number, 2) if schema.get("multipleOf") == 0.01 else number


def _parse_date(form, pointer, title, problems) -> Any:
    parts = {p: (form.get(f"{pointer}#{p}") or "").strip().translate(THAI_DIGITS) for p in DATE_PARTS}
    if not any(parts.values()):
        return None
    try:
        year = int(parts["y"])
        if year < 2400:
            raise OverflowError
        return date(year - BE_OFFSET, int(parts["m"]), int(parts["d"])).isoformat()
    except OverflowError:
        message = f"{title}: กรุณากรอกปีเป็นปี พ.ศ. เช่น 2563"
    except ValueError:
        filled = all(parts.values())
        message = f"{title}: ไม่มีวันที่นี้ในปฏิทิน" if filled else f"{title}: กรุณาเลือกวัน เดือน และปี พ.ศ. ให้ครบ"
    problems.append({"field": pointer, "message": message})
    return Unparsed(parts)


def _indices(form, pointer) -> list[int]:
    pattern = re.compile(re.escape(pointer) + r"/(\d+)(?:[/#]|$)")
    found = {int(m.group(1)) for key in form.keys() if (m := pattern.match(key))}
    return sorted(found)


def _is_empty(value, schema: Mapping[str, Any] | None = None) -> bool:
    """Whether a row holds nothing typed: a tick box left as it is, or a select left at the value the
    form shows already chosen (its "default"), is not something typed."""
    if isinstance(value, dict):
        fields = (schema or {}).get("properties") or {}
        return all(_is_empty(v, fields.get(k)) for k, v in value.items()
                   if not isinstance(v, bool) and not ("default" in (fields.get(k) or {})
                                                       and v == fields[k]["default"]))
    return value is None or value == [] or value == ""


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


# --- Row buttons ------------------------------------------------------------------------
def apply_row_action(data: dict[str, Any], action: str) -> dict[str, Any]:
    """Apply "add /list", "remove /list/2", "up /list/2" or "down /list/2" to the data."""
    verb, _, pointer = action.partition(" ")
    if verb == "add":
        rows = _resolve(data, pointer)
        if isinstance(rows, list):
            if not rows:
                rows.append(None)  # the empty row on screen was not submitted: keep it and add one
            rows.append(None)
        return data
    parent, _, index_text = pointer.rpartition("/")
    rows = _resolve(data, parent)
    if not isinstance(rows, list) or not index_text.isdigit() or int(index_text) >= len(rows):
        return data
    index = int(index_text)
    if verb == "remove":
        del rows[index]
    elif verb in ("up", "down"):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    return data


def _resolve(data: Any, pointer: str) -> Any:
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]:
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data
