"""Validates submitted form data against a task's JSON Schema, with Thai messages per field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from service.errors import Invalid

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


FormValidator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of})


def schema_problems(schema: Any) -> list[str]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return [f"{'/'.join(str(p) for p in err.path) or '(root)'}: {err.message}"]
    return []


def validate(schema: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """The data, if valid; otherwise raise Invalid listing every field and what is wrong."""
    if not isinstance(data, dict):
        raise Invalid("ข้อมูลที่ส่งต้องเป็นชุดข้อมูล (JSON object)", [{"field": "", "message": "ต้องเป็นชุดข้อมูล"}])
    strict = dict(schema)
    strict["additionalProperties"] = False  # form data must never overwrite other process data
    validator = FormValidator(strict, format_checker=FormatChecker())
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.extend(_describe(error, _nearest_title(strict, error), _enclosing_properties(strict, error)))
    if errors:
        unique = list({(e["field"], e["message"]): e for e in errors}.values())
        raise Invalid("ข้อมูลในแบบฟอร์มไม่ถูกต้อง กรุณาแก้ไขช่องที่ระบุ", unique)
    return data


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
        "enum": lambda: f"{title} ต้องเลือกจากรายการที่กำหนด",
        "const": lambda: f"{title} ไม่ตรงกับค่าที่กำหนด",
        "format": lambda: f"{title} ต้องเป็น{_FORMATS.get(value, value)}",
        "minLength": lambda: (f"กรุณากรอก{title}" if value == 1 else f"{title} ต้องยาวอย่างน้อย {value} ตัวอักษร"),
        "maxLength": lambda: f"{title} ยาวได้ไม่เกิน {value} ตัวอักษร",
        "pattern": lambda: f"{title} มีรูปแบบไม่ถูกต้อง",
        "minItems": lambda: f"{title} ต้องมีอย่างน้อย {value} รายการ",
        "maxItems": lambda: f"{title} มีได้ไม่เกิน {value} รายการ",
        "uniqueItems": lambda: f"{title} มีรายการซ้ำกัน",
    }
    describe = messages.get(kind, lambda: f"{title} ไม่ถูกต้องตามรูปแบบที่กำหนด")
    return [{"field": field, "message": describe()}]
