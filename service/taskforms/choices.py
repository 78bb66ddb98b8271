"""Choices a form takes from a list its organization keeps, rather than from the form itself.

A string field declares ``"x-choices": "<list name>"`` (e.g. ``"strategies"``: the development
strategies of the plan's organization). Before a form is shown, checked or filled from a
spreadsheet, the server resolves it: the field gets an ``enum`` of the list, so the page renders a
select, the validator refuses any other value (a Thai message beside the field), the template
offers the list and an import refuses other values by row and column, with no code that knows the
field. Values the plan already recorded stay valid even when the list has since dropped them, and
so do those the organization's other plans of the same fiscal year recorded (an amendment may
keep a project's strategy as the announced plan had it): a change of the list never makes a
recorded plan wrong. An organization that keeps no such list
(an empty list) leaves the field as the form declares it (free text), so a deployment keeps
working until its administrator enters the list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CHOICES_KEY = "x-choices"
#: The lists an organization keeps that a form may name (bundles/choices.py reads them).
KEPT_LISTS = {"strategies": "ยุทธศาสตร์การพัฒนาขององค์กร"}


def declaration_problems(schema: Any, where: str = "") -> list[str]:
    """Why the form's ``x-choices`` cannot be resolved (for the designers' checks): a list the
    server does not keep, or a field that is not text."""
    found: list[str] = []
    if isinstance(schema, dict):
        name = schema.get(CHOICES_KEY)
        if CHOICES_KEY in schema:
            if name not in KEPT_LISTS:
                found.append(f"{where or '(root)'}: {CHOICES_KEY} ต้องเป็นชื่อรายการที่องค์กรกำหนดไว้ "
                             f"({', '.join(KEPT_LISTS)}) ไม่ใช่ {name!r}")
            elif schema.get("type") != "string":
                found.append(f"{where or '(root)'}: {CHOICES_KEY} ใช้ได้กับช่องข้อความ (type string) เท่านั้น")
        for key, value in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                found += declaration_problems(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += declaration_problems(item, f"{where}/{index}")
    return found


def declared(schema: Any) -> set[str]:
    """The names of the lists the form takes choices from."""
    found: set[str] = set()
    if isinstance(schema, dict):
        name = schema.get(CHOICES_KEY)
        if isinstance(name, str):
            found.add(name)
        for key, value in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                found |= declared(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= declared(item)
    return found


def resolve(schema: Mapping[str, Any], lists: Mapping[str, Sequence[str]], recorded: Any,
            also: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """``schema`` with each field that names a non-empty list given that list as its ``enum``, plus
    the values ``recorded`` (the plan's data, in the form's shape) already holds there and those
    ``also`` names for that list (what related plans recorded: see ``values_of``)."""
    resolved = _resolve(schema, lists, [recorded], also or {})
    return resolved if isinstance(resolved, dict) else dict(schema)


def values_of(schema: Any, data: Any, found: dict[str, list[str]]) -> None:
    """Add to ``found`` (list name -> values) what ``data``, in the shape of ``schema``, holds in
    the fields that pick from a kept list."""
    if not isinstance(schema, dict):
        return
    name = schema.get(CHOICES_KEY)
    if isinstance(name, str) and isinstance(data, str) and data not in found.setdefault(name, []):
        found[name].append(data)
    properties = schema.get("properties")
    if isinstance(properties, dict) and isinstance(data, dict):
        for key, sub in properties.items():
            if key in data:
                values_of(sub, data[key], found)
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(data, list):
        for item in data:
            values_of(items, item, found)


def _resolve(node: Any, lists: Mapping[str, Sequence[str]], values: list[Any],
             also: Mapping[str, Sequence[str]]) -> Any:
    if not isinstance(node, dict):
        return node
    out = dict(node)
    name = node.get(CHOICES_KEY)
    kept = list(lists.get(name) or []) if isinstance(name, str) else []
    if kept:
        earlier = [v for v in [*values, *also.get(str(name), [])] if isinstance(v, str) and v not in kept]
        out["enum"] = kept + list(dict.fromkeys(earlier))
        out.setdefault("x-widget", "select")
    properties = node.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {key: _resolve(sub, lists, [v[key] for v in values if isinstance(v, dict) and key in v],
                                           also)
                             for key, sub in properties.items()}
    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _resolve(items, lists, [x for v in values if isinstance(v, list) for x in v], also)
    return out
