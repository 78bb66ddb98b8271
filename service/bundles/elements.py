"""Reading BPMN 2.0 elements the way the checks, the outline and the dry run all need: names,
lanes, forms, what the engine runs."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from service import engine

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
USER_TASKS = ("userTask", "manualTask")
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


def local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def where(element) -> str:
    """An element as a finding names it: «name» (id), or its id alone."""
    name = element.get("name")
    return f"«{name}» ({element.get('id')})" if name else str(element.get("id") or local(element))


def lanes_of(tree) -> dict[str, str]:
    """Flow node id -> the name of the lane it stands in."""
    return {ref.text.strip(): lane.get("name") or "" for lane in tree.iterfind(".//bpmn:lane", NS)
            for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}


def form_property(task) -> str | None:
    """The form a user task names (SpiffArena's formJsonSchemaFilename property)."""
    for prop in task.iter("{*}property"):
        if prop.get("name") == engine.FORM_PROPERTY and prop.get("value"):
            return prop.get("value")
    return None
