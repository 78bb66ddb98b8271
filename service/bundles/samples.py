"""Sample data made from a bundle's forms: what the checks evaluate conditions and timers with and
the dry run completes tasks with."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from service.taskforms import validation
from service.thai import legaldays

#: Data every plan starts with besides its start form (commands/plans.start_plan adds it).
START_DATA = {"organization_code": "sample", "organization_name": "องค์กรปกครองส่วนท้องถิ่นตัวอย่าง",
              "province": "จังหวัดตัวอย่าง", "fiscal_year": 2564}



def sample(schema: Any, today: datetime | None = None, choose: dict[str, Any] | None = None) -> Any:
    """Small valid data for a JSON Schema: every property filled, the first choice of each
    enum unless ``choose`` names another; the schema's own first example wins."""
    today = today or datetime.now(UTC)
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        value = copy.deepcopy(schema["examples"][0])
        if isinstance(value, dict) and choose:
            value.update({k: v for k, v in choose.items() if k in schema.get("properties", {})})
        return value
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    for keyword in ("oneOf", "anyOf"):
        if schema.get(keyword):
            return sample(schema[keyword][0], today)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        values = {key: sample(sub, today) for key, sub in schema.get("properties", {}).items()}
        values.update({k: v for k, v in (choose or {}).items() if k in values})
        return values
    if kind == "array":
        items = schema.get("items", {})
        count = max(int(schema.get("minItems", 1)), 1)
        options = items.get("enum") if isinstance(items, dict) else None
        if options and schema.get("uniqueItems"):
            return list(options[:count])
        return [sample(items, today) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return legaldays.day_of(today).isoformat()
        if fmt == "date-time":
            return today.isoformat()
        if fmt == "email":
            return "designer@example.org"
        text = "ตัวอย่าง" * max(1, int(schema.get("minLength", 0)) // 8 + 1)
        return text[:schema["maxLength"]] if "maxLength" in schema else text
    if kind in ("number", "integer"):
        if "minimum" in schema:
            return schema["minimum"]
        if "exclusiveMinimum" in schema:
            return schema["exclusiveMinimum"] + 1
        return min(0, schema.get("maximum", 0))
    if kind == "boolean":
        return False
    return None


def sample_problem(schema: dict[str, Any], data: Any) -> str | None:
    try:
        validation.validate(schema, data)
    except validation.Invalid as err:
        return "; ".join(f"{e['field']}: {e['message']}" for e in err.errors[:3]) or err.message
    return None


def merged(samples: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    merged = dict(START_DATA)
    for data in samples.values():
        if isinstance(data, dict):
            merged.update(data)
    return merged


def enums(forms: dict[str, Any]) -> dict[str, list[Any]]:
    """Top-level fields of every form whose values are a closed list (enum or boolean)."""
    found: dict[str, list[Any]] = {}
    for schema in forms.values():
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        for key, sub in properties.items() if isinstance(properties, dict) else ():
            if isinstance(sub, dict) and isinstance(sub.get("enum"), list):
                found.setdefault(key, []).extend(v for v in sub["enum"] if v not in found.get(key, []))
            elif isinstance(sub, dict) and sub.get("type") == "boolean":
                found.setdefault(key, [True, False])
    return found
