"""A form's lists of rows (arrays of objects, such as the project list) as spreadsheet columns,
in the layout of form ผด.02: the columns come from the JSON Schema of the list's items (titles,
x-enumTitles, arrays of choices as one column per choice), so a new field gets a column without
code. Reading (reading.py) and writing (writing.py) share this layout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.taskforms import fields

MAX_ROWS = 2000
ROW_NUMBER_HEADERS = ("ที่", "ลำดับ", "ลำดับที่", "no.", "no")
MARK = "✓"  # written in a choice column (e.g. a month) or a yes/no column; reading accepts any mark
FORMULA_START = ("=", "+", "-", "@")  # a text cell starting so would run as a formula in Excel


@dataclass(frozen=True)
class Column:
    """One spreadsheet column: the item field ``key`` it fills (empty for the row number)."""

    key: str
    header: str
    kind: str  # number_of_row text number date choice flag option choices
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    option: Any = None  # option: the value of a multiple choice that a mark in this column picks
    group: str = ""  # option: the title of the field the choice belongs to (e.g. เดือนที่ดำเนินการ)


def tables(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, title) of the form's top-level lists of objects: the ones a spreadsheet can fill."""
    return [(name, sub.get("title", name)) for name, sub in schema.get("properties", {}).items()
            if isinstance(sub, dict) and sub.get("type") == "array"
            and isinstance(sub.get("items"), dict) and sub["items"].get("type") == "object"]


def columns(item_schema: Mapping[str, Any]) -> list[Column]:
    """The layout written to templates and exports: the row number, then one column per field
    (one per choice for a multiple choice), in the schema's order. Nested objects and lists of
    free values do not fit a cell and get no column."""
    found = [Column("", ROW_NUMBER_HEADERS[0], "number_of_row")]
    for key, sub in item_schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        title = sub.get("x-column") or sub.get("title") or key
        kind = sub.get("type")
        if kind == "array" and "enum" in sub.get("items", {}):
            found += [Column(key, label, "option", sub, value, title) for value, label in choices(sub["items"])]
        elif kind in ("array", "object"):
            continue
        elif "enum" in sub:
            found.append(Column(key, title, "choice", sub))
        elif kind == "boolean":
            found.append(Column(key, title, "flag", sub))
        elif kind in ("number", "integer"):
            found.append(Column(key, title, "number", sub))
        elif kind == "string" and sub.get("format") == "date":
            found.append(Column(key, title, "date", sub))
        else:
            found.append(Column(key, title, "text", sub))
    return found


def readable(item_schema: Mapping[str, Any]) -> list[Column]:
    """What an upload may use: the layout, plus a multiple choice in one column ("ต.ค., พ.ย.")."""
    extra = [Column(key, sub.get("x-column") or sub.get("title") or key, "choices", sub)
             for key, sub in item_schema.get("properties", {}).items()
             if isinstance(sub, dict) and sub.get("type") == "array" and "enum" in sub.get("items", {})]
    return columns(item_schema) + extra


def choices(schema: Mapping[str, Any]) -> list[tuple[Any, str]]:
    titles = schema.get("x-enumTitles", [])
    return [(value, titles[i] if i < len(titles) else str(value)) for i, value in enumerate(schema.get("enum", []))]


def is_month(column: Column) -> bool:
    """A choice among the calendar months (1-12): its header may carry a year to check."""
    values = column.schema.get("items", {}).get("enum", [])
    return column.kind == "option" and bool(values) and all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 12 for v in values)


def items_of(data: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The rows a form's data holds in list ``name``; values that could not be read kept as typed."""
    rows = data.get(name) if isinstance(data, Mapping) else None
    return [_plain(row) for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.raw if isinstance(v, fields.Unparsed) and not isinstance(v.raw, dict) else v)
            for k, v in row.items() if not isinstance(v, fields.Unparsed) or not isinstance(v.raw, dict)}
