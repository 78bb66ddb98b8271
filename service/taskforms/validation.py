"""Validates submitted form data against a task's JSON Schema, with Thai messages per field.

A form is designer data, so it is held to what can be checked safely and in bounded time: its
``$ref``s resolve inside the form only (never over the network or from the file system), its
``pattern``s run on RE2 (linear time: no catastrophic backtracking), and the data checked against
it is bounded in list length, text length and depth whatever the form says."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema_rs
import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from service.errors import Invalid
from service.taskforms import attachments, choices

#: What any submitted data may hold, whatever its form says (a form may only say less).
MAX_ITEMS = 5000  # rows in one list (the spreadsheets allow 2,000 projects)
MAX_TEXT = 20_000  # characters in one text
MAX_DEPTH = 12  # lists and objects inside each other
#: Keywords whose regular expressions Python's re would run with backtracking.
REFUSED_KEYWORDS = {"patternProperties": "ใช้ patternProperties ไม่ได้ ให้ระบุชื่อช่องใน properties",
                    "$dynamicRef": "ใช้ $dynamicRef ไม่ได้", "$recursiveRef": "ใช้ $recursiveRef ไม่ได้"}

_TYPES = {"string": "ข้อความ", "number": "ตัวเลข", "integer": "จำนวนเต็ม", "boolean": "ใช่/ไม่ใช่",
          "array": "รายการ", "object": "ชุดข้อมูล", "null": "ค่าว่าง"}
_FORMATS = {"date": "วันที่ในรูปแบบ ปปปป-ดด-วว (ค.ศ.)", "date-time": "วันและเวลา", "email": "อีเมล"}


def _decimal_multiple_of(validator, divisor, instance, schema):
    """multipleOf in decimal arithmetic: with floats 1234567.89 is "not a multiple" of 0.01."""
    if not validator.is_type(instance, "number"):
        return
    try:
        remainder = Decimal(str(instance)) % Decimal(str(divisor))
    except InvalidOperation:
        remainder = Decimal(1)
    if remainder != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


#: the pattern of a text that must say something: spaces alone (Thai keyboards type U+3000 and
#: zero-width ones too) do not count; forms use it for reasons and comments
NOT_BLANK = "[^\\s\u00a0\u2000-\u200b\u3000\ufeff]"


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    return re2.compile(pattern)


def _linear_pattern(validator, pattern, instance, schema):
    """``pattern`` on RE2: a form's regular expression can never cost more than linear time."""
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FormValidator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of,
                                                          "pattern": _linear_pattern})
_FORMATS_CHECKED = FormatChecker()


# --- The fast path -----------------------------------------------------------------------
# A valid submission (the usual case) is checked by a compiled validator (jsonschema-rs, ~40x
# faster on a 200-project list); the keywords whose meaning is ours (decimal multipleOf, RE2
# patterns, python-jsonschema's formats) run as the slow path runs them. Only data it refuses,
# or a form it cannot compile, goes through FormValidator, which alone writes the Thai messages:
# the fast path decides nothing but "valid", so a difference between the two can only cost time.
class _FastMultipleOf:
    def __init__(self, parent_schema: Any, value: Any, schema_path: Any):
        self.divisor = Decimal(str(value))

    def validate(self, instance: Any) -> None:
        if isinstance(instance, int | float) and not isinstance(instance, bool):
            try:
                remainder = Decimal(str(instance)) % self.divisor
            except InvalidOperation:
                remainder = Decimal(1)
            if remainder != 0:
                raise ValueError("multipleOf")


class _FastPattern:
    def __init__(self, parent_schema: Any, value: Any, schema_path: Any):
        self.regex = _regex(value)

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not self.regex.search(instance):
            raise ValueError("pattern")


class _FastFormat:
    def __init__(self, parent_schema: Any, value: Any, schema_path: Any):
        self.format = value

    def validate(self, instance: Any) -> None:
        if not _FORMATS_CHECKED.conforms(instance, self.format):
            raise ValueError("format")


_FAST_KEYWORDS: dict[str, Any] = {"multipleOf": _FastMultipleOf, "pattern": _FastPattern, "format": _FastFormat}


def _refuse_fast_retrieval(uri: str) -> Any:
    raise ValueError(f"{uri}: a form reaches nothing outside itself")


def _compiled(strict: dict[str, Any]) -> Any:
    """The compiled validator of a form (None when it cannot be compiled: the slow path says why)."""
    try:
        key = json.dumps(strict, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return _compiled_text(key)


@functools.lru_cache(maxsize=256)
def _compiled_text(key: str) -> Any:
    try:
        return jsonschema_rs.Draft202012Validator(json.loads(key), validate_formats=False, keywords=_FAST_KEYWORDS,
                                                  retriever=_refuse_fast_retrieval)
    except Exception:  # noqa: BLE001 - an unresolvable $ref, a pattern RE2 refuses: FormValidator reports it
        return None


def _refuse_retrieval(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs field; a form reaches nothing outside itself


NO_RETRIEVAL: Registry = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]  # attrs field


def schema_problems(schema: Any) -> list[str]:
    """Why this JSON Schema cannot be a form (empty when it can): not valid JSON Schema, a ``$ref``
    outside the form or to nothing in it, a pattern RE2 cannot run, a bound above the system's."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return [f"{'/'.join(str(p) for p in err.path) or '(root)'}: {err.message}"]
    return [f"{where or '(root)'}: {why}" for where, why in _unsafe(schema, schema, "")] + \
        attachments.declaration_problems(schema) + \
        choices.declaration_problems(schema)  # lists the organization keeps (taskforms/choices.py)


def _unsafe(root: Any, node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _unsafe(root, item, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    for keyword, why in REFUSED_KEYWORDS.items():
        if keyword in node:
            yield where, why
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            yield where, f"$ref ต้องอ้างถึงส่วนในแบบฟอร์มเดียวกัน (ขึ้นต้นด้วย #) ไม่ใช่ {ref}"
        elif _pointer_target(root, ref) is None:
            yield where, f"$ref {ref} ไม่ได้ชี้ไปยังส่วนใดในแบบฟอร์ม"
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            _regex(pattern)
        except re2.error:
            yield where, (f"pattern {pattern!r} ใช้ไม่ได้: ระบบตรวจรูปแบบด้วย RE2 ซึ่งไม่รองรับ backreference "
                          "และ lookaround (เพื่อให้ตรวจได้ในเวลาจำกัดเสมอ)")
    for keyword, limit in (("maxItems", MAX_ITEMS), ("maxLength", MAX_TEXT)):
        value = node.get(keyword)
        if isinstance(value, int) and value > limit:
            yield where, f"{keyword} ต้องไม่เกิน {limit:,}"
    for key, value in node.items():
        if key not in ("enum", "const", "examples", "default"):  # values, not schemas
            yield from _unsafe(root, value, f"{where}/{key}")


def _pointer_target(root: Any, ref: str) -> Any:
    """What a same-document ``$ref`` points to (None when nothing); an anchor counts as found."""
    pointer = ref[1:]
    if pointer and not pointer.startswith("/"):
        return True  # a plain-name anchor ("#name"): check_schema and the validator handle it
    node = root
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def validate(schema: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """The data, if valid; otherwise raise Invalid listing every field and what is wrong."""
    if not isinstance(data, dict):
        raise Invalid("ข้อมูลที่ส่งต้องเป็นชุดข้อมูล (JSON object)", [{"field": "", "message": "ต้องเป็นชุดข้อมูล"}])
    within, plain = _walk(data)
    if not within:
        raise Invalid("ข้อมูลที่ส่งมีขนาดเกินที่ระบบรับได้", list(_beyond_bounds(data, "", 0)))
    strict = dict(schema)
    strict["additionalProperties"] = False  # form data must never overwrite other process data
    fast = _compiled(strict) if plain else None
    if fast is not None:
        try:
            if fast.is_valid(data):
                return data
        except Exception:  # noqa: BLE001 - whatever the compiled validator cannot take, the slow path judges
            pass
    validator = FormValidator(strict, format_checker=FormatChecker(), registry=NO_RETRIEVAL)
    errors = []
    try:
        found = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    except (Unresolvable, re2.error) as err:  # a form published before these checks existed
        raise Invalid("แบบฟอร์มของขั้นตอนนี้ใช้งานไม่ได้ กรุณาแจ้งผู้ออกแบบกระบวนงาน",
                      [{"field": "", "message": f"แบบฟอร์มอ้างถึงสิ่งที่ระบบไม่เปิดให้ใช้: {err}"}]) from err
    for error in found:
        errors.extend(_describe(error, _nearest_title(strict, error), _enclosing_properties(strict, error)))
    if errors:
        unique = list({(e["field"], e["message"]): e for e in errors}.values())
        raise Invalid("ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ", unique)
    return data


_SCALARS = (str, int, float, bool, type(None))


def _walk(data: Any) -> tuple[bool, bool]:
    """Whether the data is within MAX_ITEMS, MAX_TEXT and MAX_DEPTH (_beyond_bounds says where
    not), and whether it holds only what JSON does (what the compiled validator takes as such)."""
    plain = True
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is str:
            if len(value) > MAX_TEXT:
                return False, plain
        elif kind is dict or kind is list:
            if depth >= MAX_DEPTH or (kind is list and len(value) > MAX_ITEMS):
                return False, plain
            if kind is dict:
                plain = plain and all(type(key) is str for key in value)
                children = value.values()
            else:
                children = value
            for item in children:
                if type(item) in _SCALARS:
                    if type(item) is str and len(item) > MAX_TEXT:
                        return False, plain
                else:
                    stack.append((item, depth + 1))
        elif kind not in _SCALARS:
            if isinstance(value, str | list | dict):  # a subclass: bounded like its kind, judged slowly
                return not any(_beyond_bounds(data, "", 0)), False
            plain = False
    return True, plain


def _beyond_bounds(value: Any, pointer: str, depth: int) -> Iterator[dict[str, str]]:
    """Where data goes past what the system accepts from any form (MAX_ITEMS, MAX_TEXT, MAX_DEPTH)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            yield {"field": pointer, "message": f"ข้อความยาวได้ไม่เกิน {MAX_TEXT:,} ตัวอักษร"}
        return
    if not isinstance(value, (list, dict)):
        return
    if depth >= MAX_DEPTH:
        yield {"field": pointer, "message": f"ข้อมูลซ้อนกันได้ไม่เกิน {MAX_DEPTH} ชั้น"}
        return
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            yield {"field": pointer, "message": f"รายการมีได้ไม่เกิน {MAX_ITEMS:,} รายการ"}
            return
        for index, item in enumerate(value):
            yield from _beyond_bounds(item, f"{pointer}/{index}", depth + 1)
    else:
        for key, item in value.items():
            yield from _beyond_bounds(item, pointer + _pointer([key]), depth + 1)


def _pointer(path) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)


def _title(schema: Any, fallback: str = "ช่องนี้") -> str:
    return schema.get("title", fallback) if isinstance(schema, dict) else fallback


def _nearest_title(root: dict[str, Any], error) -> str:
    """The title of the innermost schema around the failing keyword (an item takes its list's)."""
    title, node = _title(root), root
    for key in list(error.absolute_schema_path)[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "title" in node:
            title = node["title"]
    return title


def _enclosing_properties(root: dict[str, Any], error) -> dict[str, Any]:
    """Field schemas declared around the keyword, the innermost title winning: a `required`
    inside an if/then names fields that the enclosing object declares with their titles."""
    found: dict[str, Any] = {}
    node = root
    levels = [root]
    for key in list(error.absolute_schema_path)[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        levels.append(node)
    for level in levels:
        properties = level.get("properties") if isinstance(level, dict) else None
        if isinstance(properties, dict):
            for name, field in properties.items():
                if isinstance(field, dict) and ("title" in field or name not in found):
                    found[name] = field
    return found


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _describe(error, title: str, properties: dict[str, Any]) -> list[dict[str, str]]:
    field = _pointer(error.absolute_path)
    value, schema, kind = error.validator_value, error.schema, error.validator
    if kind == "required":
        props = properties
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return [{"field": f"{field}/{name}", "message": f"กรุณากรอก{_title(props.get(name), name)}"}
                for name in missing]
    if kind == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        return [{"field": f"{field}/{name}", "message": "แบบฟอร์มนี้ไม่มีช่องนี้"} for name in extra]
    messages = {
        "type": lambda: f"{title} ต้องเป็น{_TYPES.get(value if isinstance(value, str) else value[0], str(value))}",
        "minimum": lambda: f"{title} ต้องไม่น้อยกว่า {value:,}",
        "exclusiveMinimum": lambda: f"{title} ต้องมากกว่า {value:,}",
        "maximum": lambda: f"{title} ต้องไม่เกิน {value:,}",
        "exclusiveMaximum": lambda: f"{title} ต้องน้อยกว่า {value:,}",
        "multipleOf": lambda: (f"{title} มีทศนิยมได้ไม่เกิน 2 ตำแหน่ง" if value == 0.01
                               else f"{title} ต้องเป็นผลคูณของ {value}"),
        "enum": lambda: (f"{title} “{_short(error.instance)}” ไม่อยู่ในรายการ{title}ที่องค์กรกำหนด กรุณาเลือกจากรายการ"
                         if isinstance(schema, dict) and schema.get("x-choices")
                         else f"{title} ต้องเลือกจากรายการที่กำหนด"),
        "const": lambda: f"{title} ไม่ตรงกับค่าที่กำหนด",
        "format": lambda: f"{title} ต้องเป็น{_FORMATS.get(value, value)}",
        "minLength": lambda: (f"กรุณากรอก{title}" if value == 1 else f"{title} ต้องยาวอย่างน้อย {value} ตัวอักษร"),
        "maxLength": lambda: f"{title} ยาวได้ไม่เกิน {value} ตัวอักษร",
        "pattern": lambda: f"กรุณากรอก{title} (ช่องว่างอย่างเดียวไม่นับ)" if value == NOT_BLANK else f"{title} มีรูปแบบไม่ถูกต้อง",
        "minItems": lambda: f"{title} ต้องมีอย่างน้อย {value} รายการ",
        "maxItems": lambda: f"{title} มีได้ไม่เกิน {value} รายการ",
        "uniqueItems": lambda: f"{title} มีรายการซ้ำกัน",
    }
    describe = messages.get(kind, lambda: f"{title} ไม่ถูกต้องตามรูปแบบที่กำหนด")
    return [{"field": field, "message": describe()}]
