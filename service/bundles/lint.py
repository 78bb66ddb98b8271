"""The checks a process bundle passes before anything of it is stored: size limits, safe XML,
the BPMN XSD, SpiffWorkflow's parser and this project's own rules (lanes and roles, forms,
timers, scripts, gateways, elements the engine runs). Every finding names its file and line
and reads as a sentence a process designer understands, in Thai or English."""

from __future__ import annotations

import ast
import copy
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service import engine
from service.auth import SYSTEM_ROLES
from service.bundles import catalog, committees, elements, samples, sendback
from service.bundles.elements import BPMN, NS, TIMER_KINDS, USER_TASKS
from service.bundles.findings import BundleRejected, Finding, finding
from service.bundles.intake import MAX_FILE_BYTES, check_files
from service.bundles.outline import Outline, outline
from service.engine import safexml, sandbox
from service.taskforms import rules, validation
from service.thai import legaldays

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MAX_LOOP = 100  # instances of one multi-instance activity
ACTIVITIES_WITH_BOUNDARIES = {"userTask", "manualTask", "scriptTask", "task", "subProcess", "callActivity"}
BPMN_ID_SPACES = {BPMN, "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DI"}
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FLOW_NODES = {  # what this engine runs
    "startEvent", "endEvent", "userTask", "manualTask", "scriptTask", "task", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", "subProcess", "callActivity",
}
UNSUPPORTED = {  # element -> why, in Thai and English
    "serviceTask": ("ระบบไม่มีบริการภายนอกให้เรียก", "there is no external service to call"),
    "businessRuleTask": ("ระบบไม่ใช้ตารางตัดสินใจ DMN", "DMN decision tables are not used"),
    "sendTask": ("ระบบไม่ส่งข้อความ (message) ระหว่างกระบวนงาน", "messages between processes are not delivered"),
    "receiveTask": ("ระบบไม่ส่งข้อความ (message) ระหว่างกระบวนงาน", "messages between processes are not delivered"),
    "complexGateway": ("SpiffWorkflow ไม่รองรับ", "SpiffWorkflow does not support it"),
    "transaction": ("SpiffWorkflow ไม่รองรับ", "SpiffWorkflow does not support it"),
    "adHocSubProcess": ("SpiffWorkflow ไม่รองรับ", "SpiffWorkflow does not support it"),
    "messageEventDefinition": ("ระบบไม่ส่งข้อความ (message) ระหว่างกระบวนงาน", "messages are not delivered"),
    "conditionalEventDefinition": ("ไม่มีผู้ตรวจเงื่อนไขซ้ำระหว่างรอ", "nothing re-evaluates the condition"),
    "compensateEventDefinition": ("ระบบไม่รองรับการชดเชย (compensation)", "compensation is not supported"),
    "cancelEventDefinition": ("ระบบไม่รองรับ transaction", "transactions are not supported"),
}
_UNQUOTED_ISO = re.compile(r"^(R\d*/)?P(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?$|^\d{4}-\d{2}-\d{2}(T[\d:.+\-Z]+)?$",
                           re.IGNORECASE)


# --- The whole check --------------------------------------------------------------------
@dataclass
class Checked:
    """A bundle that passed every static check, its parsed model and its outline."""

    bundle: catalog.Bundle
    model: engine.ProcessModel
    outline: Outline
    warnings: list[Finding] = field(default_factory=list)


def check(files: dict[str, bytes], default_name: str | None = None) -> Checked:
    """Every static check on uploaded files; :raise BundleRejected: listing every problem."""
    problems = check_files(files)
    if any(p.code in ("too_many_files", "bundle_too_large") for p in problems):
        raise BundleRejected(problems)
    texts: dict[str, str] = {}
    for name, content in files.items():
        if len(content) > MAX_FILE_BYTES:
            continue
        try:
            texts[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(finding(name, None, "not_utf8"))
    trees: dict[str, etree._ElementTree] = {}
    for name in texts:
        if name.endswith(".bpmn"):
            tree = _safe_tree(name, files[name], problems)
            if tree is not None:
                trees[name] = tree
    jsons = {name: _json(name, text, problems) for name, text in texts.items() if name.endswith(".json")}
    lane_roles = _lane_roles(jsons.pop(catalog.ROLE_MAP_FILE, {}) or {}, problems)
    meta = _meta(jsons.pop(catalog.META_FILE, {}) or {}, default_name, problems)
    forms = {name: value for name, value in jsons.items() if value is not None}
    if trees and not problems:
        for name, tree in trees.items():
            problems.extend(finding(name, p.line, "xsd", detail=_xsd_detail(p.message))
                            for p in engine.xsd_problems(tree, name))
    problems.extend(_lint_trees(trees, forms, lane_roles, meta, files))
    if problems:
        raise BundleRejected(problems)
    bundle = catalog.Bundle(meta["name"], {name: texts[name] for name in trees},
                            {name: forms[name] for name in _used_forms(trees, meta) if name in forms},
                            lane_roles, meta)
    try:
        model = engine.parse_process({name: files[name] for name in trees}, meta.get("process_id"))
        catalog.check(bundle, model)  # the model just parsed: SpiffWorkflow reads a bundle once
    except engine.InvalidProcess as err:
        raise BundleRejected([finding(p.file, p.line, "parse", detail=p.message) for p in err.problems]) from err
    return Checked(bundle, model, outline(bundle))


def _safe_tree(name: str, content: bytes, problems: list[Finding]) -> etree._ElementTree | None:
    line = safexml.declaration_line(content)
    if line is not None:  # whether or not the parser would choke on its entities first
        problems.append(finding(name, line, "xml_doctype"))
        return None
    try:
        return safexml.parse(content, name)
    except safexml.UnsafeXml as err:
        text = str(err)
        match = re.search(r": line (\d+): XML is not well formed: (.*)$", text)
        if match:
            problems.append(finding(name, int(match.group(1)), "xml_malformed", detail=match.group(2)))
        elif "DOCTYPE" in text:
            problems.append(finding(name, 1, "xml_doctype"))
        else:
            problems.append(finding(name, None, "xml_malformed", detail=text.removeprefix(f"{name}: ")))
        return None


def _xsd_detail(message: str) -> str:
    return message.replace(f"{{{BPMN}}}", "bpmn:")


def _json(name: str, text: str, problems: list[Finding]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        problems.append(finding(name, err.lineno, "json_invalid", detail=err.msg))
        return None


def _lane_roles(data: Any, problems: list[Finding]) -> dict[str, str]:
    lanes = data.get("lanes") if isinstance(data, dict) else None
    if not isinstance(lanes, dict) or not all(isinstance(v, str) for v in lanes.values()):
        problems.append(finding(catalog.ROLE_MAP_FILE, None, "roles_invalid"))
        return {}
    seen: dict[str, str] = {}
    for lane, role in lanes.items():
        if not ROLE_PATTERN.match(role):
            problems.append(finding(catalog.ROLE_MAP_FILE, None, "bad_role", lane=lane, role=role))
        elif role in SYSTEM_ROLES:
            problems.append(finding(catalog.ROLE_MAP_FILE, None, "system_role_lane", lane=lane, role=role))
        if invisible(lane):
            problems.append(finding(catalog.ROLE_MAP_FILE, None, "invisible_name", name=repr(lane)))
        elif normalised(lane) in seen:
            problems.append(finding(catalog.ROLE_MAP_FILE, None, "lookalike_names", name=lane,
                                    other=seen[normalised(lane)]))
        seen.setdefault(normalised(lane), lane)
    return lanes


def invisible(name: str) -> bool:
    """A name holding characters no one sees (zero-width, controls, bidirectional marks): two such
    names look the same on screen and map to different roles."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name) or name != name.strip()


def normalised(name: str) -> str:
    """A name as people read it: NFKC, spaces collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _meta(data: Any, default_name: str | None, problems: list[Finding]) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.append(finding(catalog.META_FILE, None, "meta_invalid"))
        return {"name": default_name or ""}
    meta = dict(data)
    meta.setdefault("name", default_name)
    if not meta["name"]:
        problems.append(finding(catalog.META_FILE, None, "no_name"))
    elif not isinstance(meta["name"], str) or not NAME_PATTERN.match(meta["name"]):
        problems.append(finding(catalog.META_FILE, None, "bad_name", name=str(meta["name"])))
    for key, (kinds, shown) in META_TYPES.items():
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, kinds) or isinstance(value, list) and not all(isinstance(v, str) for v in value):
            problems.append(finding(catalog.META_FILE, None, "meta_type", key=key, expected=shown))
    return meta


#: process.json's keys and what each must hold (None is always allowed: the key is left out).
META_TYPES: dict[str, tuple[tuple[type, ...], tuple[str, str]]] = {
    "title": ((str,), ("ข้อความ", "a text")), "regulation": ((str,), ("ข้อความ", "a text")),
    "change_note": ((str,), ("ข้อความ", "a text")), "effective_on": ((str,), ("วันที่ (ข้อความ)", "a date as text")),
    "process_id": ((str,), ("ข้อความ", "a text")), catalog.START_FORM_KEY: ((str,), ("ชื่อไฟล์", "a file name")),
    catalog.DEFAULT_KEY: ((bool,), ("true หรือ false", "true or false")),
    catalog.ONE_PER_YEAR_KEY: ((bool,), ("true หรือ false", "true or false")),
    catalog.STARTER_ROLES_KEY: ((list,), ("รายการชื่อบทบาท", "a list of role names")),
    catalog.TRACKING_KEY: ((dict,), ("ชุดข้อมูล (JSON object)", "an object")),
}


def _used_forms(trees: dict[str, etree._ElementTree], meta: dict[str, Any]) -> set[str]:
    names = catalog.meta_forms(meta)
    for tree in trees.values():
        names.update(tree.xpath(f"//*[local-name()='property'][@name='{engine.FORM_PROPERTY}']/@value"))
    return names


# --- This project's rules ---------------------------------------------------------------------
def _lint_trees(trees, forms, lane_roles, meta, files) -> list[Finding]:
    problems: list[Finding] = []
    form_samples = _form_samples(forms, _used_forms(trees, meta), problems)
    for form_name, schema in forms.items():
        problems.extend(_committee_keywords(form_name, schema, set(lane_roles.values())))
    start_form = meta.get("start_form")
    if start_form and start_form not in forms:
        problems.append(finding(catalog.META_FILE, None, "start_form_missing", form=start_form))
    process_ids = {p.get("id") for tree in trees.values() for p in tree.iterfind(".//bpmn:process", NS)}
    sample_data = samples.merged(form_samples, meta)
    enums = samples.enums(forms)
    executable = False
    for name, tree in trees.items():
        problems.extend(_duplicate_ids(name, tree))
        lane_of = elements.lanes_of(tree)
        for process in tree.iterfind(".//bpmn:process", NS):
            executable = executable or process.get("isExecutable") == "true"
            for container in [process, *process.iterfind(".//bpmn:subProcess", NS)]:
                problems.extend(_lint_container(name, container, process_ids))
        for lane in tree.iterfind(".//bpmn:lane", NS):
            holds_tasks = any(elements.local(node) in USER_TASKS for node in _lane_nodes(tree, lane))
            if not lane.get("name"):
                problems.append(finding(name, lane.sourceline, "lane_no_name", where=elements.where(lane)))
            elif invisible(lane.get("name")):
                problems.append(finding(name, lane.sourceline, "invisible_name", name=repr(lane.get("name"))))
            elif holds_tasks and lane.get("name") not in lane_roles:
                problems.append(finding(name, lane.sourceline, "lane_no_role", lane=lane.get("name")))
        for task in tree.iter(*(f"{{{BPMN}}}{tag}" for tag in USER_TASKS)):
            if task.get("id") not in lane_of:
                problems.append(finding(name, task.sourceline, "task_no_lane", where=elements.where(task)))
            form = elements.form_property(task)
            if form is None:
                problems.append(finding(name, task.sourceline, "task_no_form", where=elements.where(task)))
            elif form not in forms:
                problems.append(finding(name, task.sourceline, "form_missing", form=form, where=elements.where(task)))
            problems.extend(sendback.problems(name, task, forms))
        problems.extend(_lint_code(name, tree, sample_data))
        for gateway in tree.iter(f"{{{BPMN}}}exclusiveGateway", f"{{{BPMN}}}inclusiveGateway"):
            problems.extend(_lint_gateway(name, tree, gateway, sample_data, enums))
    if trees and not executable and not problems:
        problems.append(finding(next(iter(trees)), None, "no_process"))
    return problems


def _duplicate_ids(name: str, tree) -> list[Finding]:
    """BPMN ids are unique among the model's and the diagram's elements. Vendor extension elements
    (Camunda, Zeebe, Signavio ...) may repeat ids among themselves, but not take a BPMN id:
    SpiffWorkflow looks elements up by id and would read the extension as the task."""
    first: dict[str, int] = {}
    problems = []
    vendor = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.get("id") is None:
            continue
        if etree.QName(element).namespace not in BPMN_ID_SPACES:
            vendor.append(element)
        elif element.get("id") in first:
            problems.append(finding(name, element.sourceline, "duplicate_id", id=element.get("id"),
                                    first=first[element.get("id")]))
        else:
            first[element.get("id")] = element.sourceline
    problems += [finding(name, e.sourceline, "duplicate_id", id=e.get("id"), first=first[e.get("id")])
                 for e in vendor if e.get("id") in first]
    return problems


def _lane_nodes(tree, lane) -> list:
    ids = {ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}
    return [e for e in tree.iter() if isinstance(e.tag, str) and e.get("id") in ids]



def _lint_container(name: str, container, process_ids: set[str]) -> list[Finding]:
    problems = []
    children = [c for c in container if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN]
    nodes = {c.get("id"): c for c in children if elements.local(c) in FLOW_NODES or elements.local(c) in UNSUPPORTED}
    flows = {c.get("id"): c for c in children if elements.local(c) == "sequenceFlow"}
    if not any(elements.local(c) == "startEvent" for c in children) and (
            elements.local(container) == "subProcess" or container.get("isExecutable") == "true"):
        problems.append(finding(name, container.sourceline, "no_start_event", where=elements.where(container)))
    for child in children:
        if elements.local(child) in UNSUPPORTED:
            problems.append(finding(name, child.sourceline, "unsupported", element=elements.local(child),
                                    where=elements.where(child), why_th=UNSUPPORTED[elements.local(child)][0],
                                    why_en=UNSUPPORTED[elements.local(child)][1]))
        for definition in child:
            if isinstance(definition.tag, str) and elements.local(definition) in UNSUPPORTED:
                why = UNSUPPORTED[elements.local(definition)]
                problems.append(finding(name, definition.sourceline, "unsupported", element=elements.local(definition),
                                        where=elements.where(child), why_th=why[0], why_en=why[1]))
        if elements.local(child) == "boundaryEvent":
            host = nodes.get(child.get("attachedToRef"))
            if host is not None and elements.local(host) not in ACTIVITIES_WITH_BOUNDARIES:
                problems.append(finding(name, child.sourceline, "boundary_not_on_activity", where=elements.where(child),
                                        host=elements.where(host)))
        loop = child.find("bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", NS)
        if loop is not None and not _small_count((loop.text or "").strip()):
            problems.append(finding(name, loop.sourceline, "loop_unbounded", where=elements.where(child),
                                    limit=MAX_LOOP))
        if elements.local(child) == "callActivity" and child.get("calledElement") not in process_ids:
            problems.append(finding(name, child.sourceline, "call_missing", where=elements.where(child),
                                    ref=child.get("calledElement") or ""))
        if child.get("id") in nodes:
            for ref in [*child.iterfind("bpmn:incoming", NS), *child.iterfind("bpmn:outgoing", NS)]:
                if (ref.text or "").strip() not in flows:
                    problems.append(finding(name, ref.sourceline, "dangling_ref", where=elements.where(child),
                                            ref=(ref.text or "").strip()))
    for flow in flows.values():
        for attr in ("sourceRef", "targetRef"):
            if flow.get(attr) not in nodes:
                problems.append(finding(name, flow.sourceline, "dangling_flow", flow=flow.get("id"), attr=attr,
                                        ref=flow.get(attr) or ""))
    return problems


def _small_count(text: str) -> bool:
    """A multi-instance count the engine can expand: a constant of at most MAX_LOOP (the count of a
    list in the data is bounded by the form's list limit instead: use loopDataInputRef for it)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_LOOP


# --- Code: scripts, conditions, timers -----------------------------------------------------
def _owner(element):
    owner = element.getparent()
    while owner is not None and (owner.get("id") is None or elements.local(owner).endswith("EventDefinition")):
        owner = owner.getparent()
    return owner


def _code_line(element, reason: str) -> int | None:
    match = re.search(r"[Ll]ine (\d+)", reason)
    text = element.text or ""
    leading = text[:len(text) - len(text.lstrip())].count("\n")
    return (element.sourceline or 0) + leading + (int(match.group(1)) - 1 if match else 0) or None


def _thai_reason(reason: str) -> tuple[str, str]:
    detail = re.sub(r"^[Ll]ine \d+: ", "", reason)
    patterns = [
        (r"import is not allowed", "ห้ามใช้ import ในโค้ดของกระบวนงาน"),
        (r"'except' must name", "except ต้องระบุชนิดข้อผิดพลาดที่จัดการ เช่น except ValueError: "
                                "(except เปล่าจะหยุดการจำกัดเวลาของโค้ดได้)"),
        (r"'\*\*' needs a constant exponent of at most (\d+)", "การยกกำลัง (**) ต้องใช้เลขชี้กำลังคงที่ไม่เกิน {0}"),
        (r"a constant factor above ([\d,]+)", "การคูณด้วยค่าคงที่เกิน {0} ทำไม่ได้ในโค้ดของกระบวนงาน"),
        (r"'<<' is not allowed", "ห้ามใช้ << ในโค้ดของกระบวนงาน"),
        (r"'(\w+)' is not allowed", "ห้ามใช้ {0} ในโค้ดของกระบวนงาน"),
        (r'"(\w+)" is an invalid (attribute|variable) name because it starts with "_"',
         'ห้ามใช้ชื่อที่ขึ้นต้นด้วย _ เช่น {0} (ใช้หลบออกจาก sandbox ได้)'),
        (r"syntax error: (.*)", "ไวยากรณ์ Python ผิด: {0}"),
        (r"SyntaxError: (.*)", "ไวยากรณ์ Python ผิด: {0}"),
    ]
    for pattern, thai in patterns:
        match = re.search(pattern, detail)
        if match:
            return thai.format(*match.groups()), detail
    return f"sandbox ไม่ยอมให้ใช้: {detail}", detail


def _lint_code(name: str, tree, sample_data: dict[str, Any]) -> list[Finding]:
    problems = []
    box = sandbox.Sandbox(legaldays.timer_helpers(()), time_limit=0.5)
    for element, text, mode in engine.code_elements(tree):
        kind = elements.local(element)
        owner = _owner(element)
        where = elements.where(owner) if owner is not None else kind
        if kind == "timeCycle":  # SpiffWorkflow would wait on it and never schedule it: a stuck plan
            problems.append(finding(name, element.sourceline, "timer_cycle", where=where))
            continue
        if kind in TIMER_KINDS and _UNQUOTED_ISO.match(text):
            problems.append(finding(name, element.sourceline, "timer_unquoted", where=where, expr=text))
            continue
        reasons = sandbox.check(text, mode)
        for reason in reasons:
            problems.append(finding(name, _code_line(element, reason), "code_rejected", where=where,
                                    detail=_thai_reason(reason)))
        if reasons or kind not in (*TIMER_KINDS, "conditionExpression"):
            continue  # scripts run in the dry run, where their data exists
        problems.extend(_evaluate(name, element, where, kind, text, box, sample_data))
    return problems


def _evaluate(name, element, where, kind, text, box, sample_data) -> list[Finding]:
    try:
        value = box.evaluate(text, copy.deepcopy(sample_data))
    except NameError as err:
        missing = re.search(r"name '(\w+)' is not defined", str(err))
        return [finding(name, element.sourceline, "unknown_name", where=where,
                        name=missing.group(1) if missing else str(err))]
    except Exception as err:  # any failure of designer code is a finding, never a crash
        return [finding(name, element.sourceline, "expression_failed", where=where,
                        detail=f"{type(err).__name__}: {err}")]
    if kind in TIMER_KINDS and engine.timer_value_problem(kind, value) is not None:
        expected = {"timeDate": ("วันเวลา (เช่น 2020-10-16T23:59:59+07:00)", "date-time"),
                    "timeDuration": ("ช่วงเวลา (เช่น \"P15D\")", "duration"),
                    "timeCycle": ("รอบเวลา (เช่น \"R3/P1D\")", "repeating interval")}[kind]
        return [finding(name, element.sourceline, "timer_bad_value", where=where, value=repr(value),
                        expected_th=expected[0], expected_en=expected[1])]
    return []


def _lint_gateway(name: str, tree, gateway, sample_data, enums) -> list[Finding]:
    outgoing = [f for f in tree.iterfind(".//bpmn:sequenceFlow", NS) if f.get("sourceRef") == gateway.get("id")]
    where = elements.where(gateway)
    if not outgoing:
        return [finding(name, gateway.sourceline, "gateway_no_outgoing", where=where)]
    if gateway.get("default") or elements.local(gateway) != "exclusiveGateway" or len(outgoing) == 1:
        return []  # a single way out (a converging gateway, a merge) needs no condition
    problems = []
    conditions = {}
    for flow in outgoing:
        expression = flow.find("bpmn:conditionExpression", NS)
        if expression is None or not (expression.text or "").strip():
            problems.append(finding(name, flow.sourceline, "flow_no_condition", flow=elements.where(flow), where=where))
        else:
            conditions[flow.get("id")] = expression.text.strip()
    if problems or not conditions:
        return problems
    try:
        names = sorted({n.id for text in conditions.values() for n in ast.walk(ast.parse(text, mode="eval"))
                        if isinstance(n, ast.Name)} & set(sample_data))
    except SyntaxError:
        return []  # reported with the code
    choices = [[(n, v) for v in enums[n]] for n in names if n in enums]
    if not choices or len(choices) != len([n for n in names if n not in legaldays.timer_helpers(())]):
        return [finding(name, gateway.sourceline, "gateway_unprovable", where=where)]
    box = sandbox.Sandbox(legaldays.timer_helpers(()), time_limit=0.5)
    uncovered = []
    for case in itertools.islice(itertools.product(*choices), 256):
        data = {**sample_data, **dict(case)}
        try:
            holds = any(box.evaluate(text, copy.deepcopy(data)) for text in conditions.values())
        except Exception:  # a failing condition is reported by _lint_code
            return []
        if not holds:
            uncovered.append(", ".join(f"{n} = {v!r}" for n, v in case))
    if uncovered:
        problems.append(finding(name, gateway.sourceline, "gateway_uncovered", where=where,
                                cases="; ".join(uncovered[:5])))
    return problems


# --- Forms and their sample data ----------------------------------------------------------------
def _form_samples(forms: dict[str, Any], used: set[str], problems: list[Finding]) -> dict[str, Any]:
    found = {}
    for name, schema in forms.items():
        reasons = validation.schema_problems(schema)
        if reasons:
            problems.extend(finding(name, None, "form_not_schema", detail=r) for r in reasons)
            continue
        problems.extend(finding(name, None, "form_rule", detail=r) for r in rules.problems(schema))
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(finding(name, None, "form_not_object"))
            continue
        data = samples.sample(schema)
        reason = samples.sample_problem(schema, data)
        if reason:
            problems.append(finding(name, None, "form_no_sample", detail=reason))
        else:
            found[name] = data
    return found


def _committee_keywords(name: str, schema: Any, roles: set[str]) -> list[Finding]:
    """The committee keywords of a form's fields (bundles/committees.py reads them, never refusing):
    a prefill from a committee the lanes do not declare, or a meeting date that is not a date, would
    leave a form empty or a record without who sat, and say nothing."""
    fields = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(fields, dict):
        return []
    problems = []
    dates = []
    for key, spec in fields.items():
        if not isinstance(spec, dict):
            continue
        if committees.DEFAULT_FROM in spec:
            problems.extend(_default_from(name, key, spec, roles))
        if committees.COMMITTEE_DATE in spec:
            dates.append(key)
            if spec[committees.COMMITTEE_DATE] is not True:
                problems.append(finding(name, None, "committee_date_not_true", field=key,
                                        value=json.dumps(spec[committees.COMMITTEE_DATE], ensure_ascii=False)[:80]))
            if spec.get("type") != "string" or spec.get("format") != "date":
                problems.append(finding(name, None, "committee_date_not_date", field=key))
    if len(dates) > 1:
        problems.append(finding(name, None, "committee_date_twice", fields=", ".join(dates)))
    return problems


def _default_from(name: str, key: str, spec: dict[str, Any], roles: set[str]) -> list[Finding]:
    source = spec[committees.DEFAULT_FROM]
    if not isinstance(source, dict) or not isinstance(source.get("committee"), str) \
            or set(source) - {"committee", "field"}:
        return [finding(name, None, "committee_default_shape", field=key)]
    problems = []
    if roles and source["committee"] not in roles:  # no roles at all: roles.json's own finding says it
        problems.append(finding(name, None, "committee_default_unknown", field=key, committee=source["committee"][:80],
                                roles=", ".join(sorted(roles))))
    if source.get("field", "name") not in committees.DEFAULT_FIELDS:
        problems.append(finding(name, None, "committee_default_field", field=key,
                                value=json.dumps(source.get("field"), ensure_ascii=False)[:80]))
    if spec.get("type") != "string":
        problems.append(finding(name, None, "committee_default_not_text", field=key))
    return problems
