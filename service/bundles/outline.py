"""A bundle's outline: its tasks, lanes, forms, timers and branches, and the difference between
two versions' outlines that a designer reviews before publishing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.bundles.catalog import Bundle
from service.bundles.elements import BPMN, NS, TIMER_KINDS, USER_TASKS, form_property, lanes_of, local
from service.engine import safexml


@dataclass
class Outline:
    """What a designer compares between two versions: tasks, lanes, forms and timers."""

    tasks: dict[str, dict[str, Any]]
    lanes: dict[str, str | None]
    forms: dict[str, Any]
    timers: dict[str, dict[str, Any]]
    branches: list[tuple[str, str]]  # (gateway id, target id) of exclusive/inclusive gateways


ACTIVITIES = (*USER_TASKS, "scriptTask", "task", "subProcess", "callActivity")


def outline(bundle: Bundle) -> Outline:
    tasks: dict[str, dict[str, Any]] = {}
    lanes: dict[str, str | None] = {}
    timers: dict[str, dict[str, Any]] = {}
    branches: list[tuple[str, str]] = []
    for text in bundle.bpmn_files.values():
        tree = safexml.parse(text.encode("utf-8"))
        lane_of = lanes_of(tree)
        for lane in tree.iterfind(".//bpmn:lane", NS):
            lanes[lane.get("name") or lane.get("id")] = bundle.lane_roles.get(lane.get("name") or "")
        for element in tree.iter(*(f"{{{BPMN}}}{tag}" for tag in ACTIVITIES)):
            tasks[element.get("id")] = {"name": element.get("name") or "", "type": local(element),
                                        "lane": lane_of.get(element.get("id")), "form": form_property(element)}
        for definition in tree.iterfind(".//bpmn:timerEventDefinition", NS):
            event = definition.getparent()
            expression = next((c for c in definition if isinstance(c.tag, str) and local(c) in TIMER_KINDS), None)
            timers[event.get("id")] = {
                "name": event.get("name") or "", "event": local(event),
                "kind": local(expression) if expression is not None else None,
                "expression": (expression.text or "").strip() if expression is not None else "",
                "attached_to": event.get("attachedToRef"),
            }
        for gateway in tree.iter(f"{{{BPMN}}}exclusiveGateway", f"{{{BPMN}}}inclusiveGateway"):
            branches.extend((gateway.get("id"), f.get("targetRef")) for f in tree.iterfind(".//bpmn:sequenceFlow", NS)
                            if f.get("sourceRef") == gateway.get("id"))
    return Outline(tasks, lanes, dict(bundle.forms), timers, branches)


def diff(old: Outline | None, new: Outline) -> dict[str, list[dict[str, Any]]]:
    """Added, removed and changed tasks, lanes, forms and timers from ``old`` to ``new``."""
    result = {}
    for kind in ("tasks", "lanes", "forms", "timers"):
        before = getattr(old, kind) if old is not None else {}
        after = getattr(new, kind)
        changes = [{"key": key, "change": "added", "after": after[key]} for key in after if key not in before]
        changes += [{"key": key, "change": "removed", "before": before[key]} for key in before if key not in after]
        for key in after:
            if key in before and before[key] != after[key]:
                fields = sorted(k for k in set(_as_dict(before[key])) | set(_as_dict(after[key]))
                                if _as_dict(before[key]).get(k) != _as_dict(after[key]).get(k))
                changes.append({"key": key, "change": "changed", "fields": fields,
                                "before": before[key], "after": after[key]})
        result[kind] = changes
    return result


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}
