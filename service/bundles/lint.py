"""The checks a process bundle passes before anything of it is stored: size limits, safe XML,
the BPMN XSD, SpiffWorkflow's parser and this project's own rules (lanes and roles, forms,
timers, scripts, gateways, elements the engine runs). Every finding names its file and line
and reads as a sentence a process designer understands, in Thai or English."""

from __future__ import annotations

import ast
import copy
import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lxml import etree

from service import engine
from service.bundles import catalog
from service.engine import safexml, sandbox
from service.taskforms import validation
from service.thai import legaldays

MAX_FILES = 100
MAX_FILE_BYTES = safexml.MAX_XML_BYTES
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Data every plan starts with besides its start form (commands.start_plan adds it).
START_DATA = {"organization_code": "sample", "organization_name": "องค์กรปกครองส่วนท้องถิ่นตัวอย่าง",
              "province": "จังหวัดตัวอย่าง", "fiscal_year": 2564}

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
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
USER_TASKS = ("userTask", "manualTask")
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
_UNQUOTED_ISO = re.compile(r"^(R\d*/)?P(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?$|^\d{4}-\d{2}-\d{2}(T[\d:.+\-Z]+)?$",
                           re.IGNORECASE)

MESSAGES: dict[str, tuple[str, str]] = {
    "too_many_files": ("ส่งไฟล์มาเกิน {limit} ไฟล์", "more than {limit} files"),
    "file_too_large": ("ไฟล์ใหญ่เกินกำหนด {limit:,} KB (ไฟล์นี้ {size:,} KB) กรุณาลดขนาดไฟล์",
                       "file is larger than {limit:,} KB ({size:,} KB)"),
    "bundle_too_large": ("ไฟล์ทั้งหมดรวมกันใหญ่เกินกำหนด {limit:,} KB", "the files together exceed {limit:,} KB"),
    "bad_file_name": ("ชื่อไฟล์ใช้ไม่ได้: ต้องไม่มีโฟลเดอร์ ไม่มี .. และลงท้ายด้วย .bpmn หรือ .json",
                      "bad file name: no folders, no '..', ending in .bpmn or .json"),
    "duplicate_file": ("มีไฟล์ชื่อนี้ซ้ำกันในชุดไฟล์", "the bundle holds two files of this name"),
    "bad_zip": ("ไฟล์ zip เสียหายหรือไม่ใช่ไฟล์ zip: {detail}", "the zip file is damaged or not a zip: {detail}"),
    "no_bpmn": ("ไม่มีไฟล์ .bpmn ในชุดไฟล์", "there is no .bpmn file in the bundle"),
    "not_utf8": ("ไฟล์ต้องเป็นข้อความ UTF-8", "the file must be UTF-8 text"),
    "xml_malformed": ("XML ไม่ถูกต้อง: {detail}", "XML is not well formed: {detail}"),
    "xml_doctype": ("ห้ามมี DOCTYPE หรือ ENTITY ในไฟล์ BPMN (อาจใช้อ่านไฟล์ในเครื่องหรือเรียกเครือข่ายได้) "
                    "ให้ลบส่วน <!DOCTYPE ...> ออก",
                    "a DOCTYPE or ENTITY is not allowed (it could read files or the network): remove <!DOCTYPE ...>"),
    "xsd": ("ไม่เป็นไปตามมาตรฐาน BPMN 2.0: {detail}", "not valid BPMN 2.0 (XSD): {detail}"),
    "parse": ("SpiffWorkflow อ่านกระบวนงานนี้ไม่ได้: {detail}", "SpiffWorkflow cannot read the process: {detail}"),
    "json_invalid": ("JSON ไม่ถูกต้อง: {detail}", "invalid JSON: {detail}"),
    "roles_invalid": ('roles.json ต้องมีรูปแบบ {{"lanes": {{"ชื่อเลน": "ชื่อบทบาท"}}}}',
                      'roles.json must look like {{"lanes": {{"lane name": "role"}}}}'),
    "bad_role": ('บทบาท "{role}" ของเลน "{lane}" ใช้ไม่ได้: ใช้ตัวอักษรอังกฤษตัวเล็ก ตัวเลข และ _ เช่น planning_office',
                 'role "{role}" of lane "{lane}" must be lower-case letters, digits and _ (e.g. planning_office)'),
    "meta_invalid": ("process.json ต้องเป็นชุดข้อมูล JSON (object)", "process.json must be a JSON object"),
    "no_name": ('process.json ต้องระบุ "name" ของกระบวนงาน', 'process.json must give the process "name"'),
    "bad_name": ('ชื่อกระบวนงาน "{name}" ใช้ไม่ได้: ใช้ตัวอักษรอังกฤษตัวเล็ก ตัวเลข และ _ เช่น operational_plan',
                 'process name "{name}" must be lower-case letters, digits and _ (e.g. operational_plan)'),
    "start_form_missing": ('ไม่พบแบบฟอร์มเริ่มต้น "{form}" ที่ process.json ระบุไว้ (start_form) ให้อัปโหลดไฟล์นี้ด้วย',
                           'the start form "{form}" named in process.json is not in the bundle'),
    "duplicate_id": ('รหัส (id) "{id}" ซ้ำกับที่บรรทัด {first} แต่ละองค์ประกอบต้องมี id ไม่ซ้ำกัน',
                     'id "{id}" is used again (first on line {first}); every element needs its own id'),
    "no_process": ('ไม่มีกระบวนงานที่ทำงานได้ (bpmn:process ที่มี isExecutable="true")',
                   'no executable process (bpmn:process with isExecutable="true")'),
    "no_start_event": ("{where} ไม่มีเหตุการณ์เริ่มต้น (start event) ให้เพิ่มวงกลมเริ่มต้นหนึ่งจุด",
                       "{where} has no start event"),
    "dangling_flow": ('เส้นลำดับงาน {flow} ชี้ไปยัง "{ref}" ({attr}) ซึ่งไม่มีอยู่ในระดับเดียวกันของกระบวนงาน '
                      'ให้ลากปลายเส้นไปต่อกับองค์ประกอบ หรือลบเส้นนี้',
                      'sequence flow {flow} points to "{ref}" ({attr}), which is not an element at its level'),
    "dangling_ref": ('{where} อ้างถึงเส้นลำดับงาน "{ref}" ซึ่งไม่มีอยู่', '{where} refers to flow "{ref}", which does not exist'),
    "unsupported": ("ระบบนี้ยังไม่รองรับ {element} ที่ {where} ({why_th})", "{element} at {where} is not supported ({why_en})"),
    "call_missing": ('{where} เรียกกระบวนงาน "{ref}" ซึ่งไม่มีในชุดไฟล์', '{where} calls process "{ref}", which is not in the bundle'),
    "task_no_lane": ("งาน {where} ไม่อยู่ในเลน (lane) ใด ให้ลากงานไปวางในเลนของผู้รับผิดชอบ",
                     "task {where} is in no lane: put it in the lane of whoever does it"),
    "lane_no_name": ("เลน {where} ไม่มีชื่อ ชื่อเลนใช้จับคู่กับบทบาทใน roles.json", "lane {where} has no name"),
    "lane_no_role": ('เลน "{lane}" ไม่ได้กำหนดบทบาทใน roles.json ให้เพิ่ม "{lane}": "ชื่อบทบาท"',
                     'lane "{lane}" maps to no role in roles.json: add "{lane}": "role"'),
    "task_no_form": ("งาน {where} ไม่ได้ระบุแบบฟอร์ม (property formJsonSchemaFilename)",
                     "task {where} names no form (property formJsonSchemaFilename)"),
    "form_missing": ('ไม่พบไฟล์แบบฟอร์ม "{form}" ที่งาน {where} อ้างถึง ให้อัปโหลดไฟล์นี้ด้วย',
                     'form "{form}" of task {where} is not in the bundle'),
    "form_not_schema": ("แบบฟอร์มนี้ไม่ใช่ JSON Schema ที่ถูกต้อง: {detail}", "this form is not a valid JSON Schema: {detail}"),
    "form_not_object": ('แบบฟอร์มต้องเป็น JSON Schema ที่มี "type": "object"', 'a form must be a JSON Schema with "type": "object"'),
    "form_no_sample": ('สร้างข้อมูลตัวอย่างจากแบบฟอร์มนี้ไม่ได้ ({detail}) ให้ใส่ตัวอย่างข้อมูลที่ถูกต้องไว้ใน "examples"',
                       'no valid sample data can be made from this form ({detail}): add a valid one under "examples"'),
    "code_rejected": ("โค้ดใน {where} ใช้ไม่ได้: {detail}", "the code in {where} is not allowed: {detail}"),
    "timer_unquoted": ('นิพจน์เวลาของ {where} ต้องอยู่ในเครื่องหมายคำพูด: เขียน "{expr}" แทน {expr} '
                       '(นิพจน์เวลาเป็นนิพจน์ Python ที่ต้องให้ผลเป็นข้อความ)',
                       'the timer expression of {where} must be quoted: write "{expr}" instead of {expr} '
                       '(timer expressions are Python expressions that must give a string)'),
    "unknown_name": ('{where} ใช้ชื่อ "{name}" ซึ่งไม่มีในแบบฟอร์มใดของกระบวนงาน ตรวจการสะกด หรือเพิ่มช่องนี้ในแบบฟอร์ม',
                     '{where} uses "{name}", which no form of the process has: check the spelling or add the field'),
    "expression_failed": ("คำนวณนิพจน์ของ {where} กับข้อมูลตัวอย่างไม่ได้: {detail}",
                          "the expression of {where} fails on sample data: {detail}"),
    "timer_bad_value": ("นิพจน์เวลาของ {where} ให้ค่า {value} ซึ่งไม่ใช่{expected_th}ตามมาตรฐาน ISO 8601",
                        "the timer expression of {where} gives {value}, which is not an ISO 8601 {expected_en}"),
    "gateway_no_outgoing": ("ทางแยก {where} ไม่มีทางออก ให้เพิ่มเส้นลำดับงานขาออก", "gateway {where} has no way out"),
    "flow_no_condition": ("เส้น {flow} ที่ออกจากทางแยก {where} ไม่มีเงื่อนไขและไม่ใช่ทางออกเริ่มต้น (default)",
                          "flow {flow} out of gateway {where} has no condition and is not the default"),
    "gateway_uncovered": ("ทางแยก {where} ไม่มีทางออกเริ่มต้น (default) และไม่มีเงื่อนไขใดเป็นจริงเมื่อ {cases} "
                          "ให้เพิ่มเงื่อนไข หรือกำหนดทางออกเริ่มต้น",
                          "gateway {where} has no default flow and no condition holds when {cases}"),
    "gateway_unprovable": ("ทางแยก {where} ไม่มีทางออกเริ่มต้น (default) และเงื่อนไขใช้ช่องที่ไม่มีรายการค่าให้เลือก "
                           "จึงตรวจไม่ได้ว่าครอบคลุมทุกกรณี ให้กำหนดทางออกเริ่มต้น",
                           "gateway {where} has no default flow and its conditions use fields with no enum: "
                           "add a default flow"),
    "dry_run_failed": ("ทดลองเดินกระบวนงาน ({run}) แล้วหยุดที่ {where}: {detail}",
                       "the dry run ({run}) stopped at {where}: {detail}"),
    "dry_run_stuck": ("ทดลองเดินกระบวนงาน ({run}) แล้วค้าง: ไม่มีงานให้ทำและไม่มีกำหนดเวลารอ แต่กระบวนงานยังไม่จบ "
                      "(หลัง {where})", "the dry run ({run}) is stuck after {where}: no task, no timer, not finished"),
    "dry_run_endless": ("ทดลองเดินกระบวนงาน ({run}) ครบ {steps} ขั้นแล้วยังไม่จบ อาจวนซ้ำไม่รู้จบ (ล่าสุดที่ {where})",
                        "the dry run ({run}) did not finish in {steps} steps: an endless loop? (last at {where})"),
    "branch_not_taken": ("การทดลองเดินไม่ผ่านเส้นทาง {where} → {target} เลย ตรวจว่าเงื่อนไขเป็นจริงได้",
                         "no dry run took the branch {where} → {target}: check that its condition can hold"),
    "timer_not_fired": ("การทดลองเดินไม่มีรอบใดที่ {where} ครบกำหนด", "no dry run reached timer {where}"),
}


@dataclass(frozen=True)
class Finding:
    """One problem (or, with ``warning``, a remark) about one file and line."""

    file: str
    line: int | None
    code: str
    params: tuple[tuple[str, Any], ...] = ()
    warning: bool = False

    def message(self, lang: str = "th") -> str:
        th, en = MESSAGES[self.code]
        values = dict(self.params)
        values.update({k: v[0 if lang == "th" else 1] for k, v in values.items() if isinstance(v, tuple)})
        return (en if lang == "en" else th).format(**values)

    def as_dict(self, lang: str = "th") -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message(lang),
                "severity": "warning" if self.warning else "error"}

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message()}"


def finding(file: str, line: int | None, code: str, warning: bool = False, **params: Any) -> Finding:
    return Finding(file, line, code, tuple(params.items()), warning)


class BundleRejected(ValueError):
    def __init__(self, findings: list[Finding]):
        super().__init__("\n".join(map(str, findings)))
        self.findings = findings


# --- Reading uploaded files --------------------------------------------------------------
def files_from_zip(data: bytes) -> dict[str, bytes]:
    """The .bpmn and .json files of a zip (folders flattened), read within the size limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                   and not i.filename.rsplit("/", 1)[-1].startswith(".")]
    except (zipfile.BadZipFile, ValueError) as err:
        raise BundleRejected([finding("(zip)", None, "bad_zip", detail=str(err))]) from err
    if len(entries) > MAX_FILES:
        raise BundleRejected([finding("(zip)", None, "too_many_files", limit=MAX_FILES)])
    files: dict[str, bytes] = {}
    problems: list[Finding] = []
    total = 0
    for entry in entries:
        name = entry.filename.rsplit("/", 1)[-1]
        if entry.file_size > MAX_FILE_BYTES:
            problems.append(finding(name, None, "file_too_large", limit=MAX_FILE_BYTES // 1024,
                                    size=entry.file_size // 1024))
            continue
        total += entry.file_size
        if total > MAX_BUNDLE_BYTES:
            raise BundleRejected([finding("(zip)", None, "bundle_too_large", limit=MAX_BUNDLE_BYTES // 1024)])
        try:
            with archive.open(entry) as stream:
                content = stream.read(MAX_FILE_BYTES + 1)  # the header's size may lie
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as err:
            problems.append(finding(name, None, "bad_zip", detail=str(err)))
            continue
        if name in files:
            problems.append(finding(name, None, "duplicate_file"))
        files[name] = content
    if problems:
        raise BundleRejected(problems)
    return files


def _check_files(files: dict[str, bytes]) -> list[Finding]:
    problems = []
    if len(files) > MAX_FILES:
        return [finding("(bundle)", None, "too_many_files", limit=MAX_FILES)]
    total = 0
    for name, content in files.items():
        if "/" in name or "\\" in name or ".." in name or not name.endswith((".bpmn", ".json")) or len(name) > 200:
            problems.append(finding(name, None, "bad_file_name"))
        if len(content) > MAX_FILE_BYTES:
            problems.append(finding(name, None, "file_too_large", limit=MAX_FILE_BYTES // 1024,
                                    size=len(content) // 1024))
        total += len(content)
    if total > MAX_BUNDLE_BYTES:
        problems.append(finding("(bundle)", None, "bundle_too_large", limit=MAX_BUNDLE_BYTES // 1024))
    if not any(name.endswith(".bpmn") for name in files):
        problems.append(finding("(bundle)", None, "no_bpmn"))
    return problems


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
    problems = _check_files(files)
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
    for name, text in texts.items():
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
        catalog.check(bundle)
    except engine.InvalidProcess as err:
        raise BundleRejected([finding(p.file, p.line, "parse", detail=p.message) for p in err.problems]) from err
    return Checked(bundle, model, outline(bundle))


def _safe_tree(name: str, content: bytes, problems: list[Finding]) -> etree._ElementTree | None:
    doctype = re.search(rb"<!(DOCTYPE|ENTITY)", content, re.IGNORECASE)
    if doctype:  # whether or not the parser would choke on its entities first
        problems.append(finding(name, content[:doctype.start()].count(b"\n") + 1, "xml_doctype"))
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
    for lane, role in lanes.items():
        if not ROLE_PATTERN.match(role):
            problems.append(finding(catalog.ROLE_MAP_FILE, None, "bad_role", lane=lane, role=role))
    return lanes


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
    return meta


def _used_forms(trees: dict[str, etree._ElementTree], meta: dict[str, Any]) -> set[str]:
    names = {meta["start_form"]} if meta.get("start_form") else set()
    for tree in trees.values():
        names.update(tree.xpath(f"//*[local-name()='property'][@name='{engine.FORM_PROPERTY}']/@value"))
    return names


# --- This project's rules ---------------------------------------------------------------------
def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _where(element) -> str:
    name = element.get("name")
    return f"«{name}» ({element.get('id')})" if name else str(element.get("id") or _local(element))


def _lint_trees(trees, forms, lane_roles, meta, files) -> list[Finding]:
    problems: list[Finding] = []
    samples = _form_samples(forms, _used_forms(trees, meta), problems)
    start_form = meta.get("start_form")
    if start_form and start_form not in forms:
        problems.append(finding(catalog.META_FILE, None, "start_form_missing", form=start_form))
    process_ids = {p.get("id") for tree in trees.values() for p in tree.iterfind(".//bpmn:process", NS)}
    sample_data = _merged_sample(samples, meta)
    enums = _enums(forms)
    executable = False
    for name, tree in trees.items():
        problems.extend(_duplicate_ids(name, tree))
        lanes_of = _lanes_of(tree)
        for process in tree.iterfind(".//bpmn:process", NS):
            executable = executable or process.get("isExecutable") == "true"
            for container in [process, *process.iterfind(".//bpmn:subProcess", NS)]:
                problems.extend(_lint_container(name, container, process_ids))
        for lane in tree.iterfind(".//bpmn:lane", NS):
            holds_tasks = any(_local(node) in USER_TASKS for node in _lane_nodes(tree, lane))
            if not lane.get("name"):
                problems.append(finding(name, lane.sourceline, "lane_no_name", where=_where(lane)))
            elif holds_tasks and lane.get("name") not in lane_roles:
                problems.append(finding(name, lane.sourceline, "lane_no_role", lane=lane.get("name")))
        for task in tree.iter(*(f"{{{BPMN}}}{tag}" for tag in USER_TASKS)):
            if task.get("id") not in lanes_of:
                problems.append(finding(name, task.sourceline, "task_no_lane", where=_where(task)))
            form = _form_property(task)
            if form is None:
                problems.append(finding(name, task.sourceline, "task_no_form", where=_where(task)))
            elif form not in forms:
                problems.append(finding(name, task.sourceline, "form_missing", form=form, where=_where(task)))
        problems.extend(_lint_code(name, tree, sample_data))
        for gateway in tree.iter(f"{{{BPMN}}}exclusiveGateway", f"{{{BPMN}}}inclusiveGateway"):
            problems.extend(_lint_gateway(name, tree, gateway, sample_data, enums))
    if trees and not executable and not problems:
        problems.append(finding(next(iter(trees)), None, "no_process"))
    return problems


def _duplicate_ids(name: str, tree) -> list[Finding]:
    first: dict[str, int] = {}
    problems = []
    for element in tree.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id is None:
            continue
        if element_id in first:
            problems.append(finding(name, element.sourceline, "duplicate_id", id=element_id, first=first[element_id]))
        else:
            first[element_id] = element.sourceline
    return problems


def _lanes_of(tree) -> dict[str, str]:
    return {ref.text.strip(): lane.get("name") or "" for lane in tree.iterfind(".//bpmn:lane", NS)
            for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}


def _lane_nodes(tree, lane) -> list:
    ids = {ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}
    return [e for e in tree.iter() if isinstance(e.tag, str) and e.get("id") in ids]


def _form_property(task) -> str | None:
    for prop in task.iter("{*}property"):
        if prop.get("name") == engine.FORM_PROPERTY and prop.get("value"):
            return prop.get("value")
    return None


def _lint_container(name: str, container, process_ids: set[str]) -> list[Finding]:
    problems = []
    children = [c for c in container if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN]
    nodes = {c.get("id"): c for c in children if _local(c) in FLOW_NODES or _local(c) in UNSUPPORTED}
    flows = {c.get("id"): c for c in children if _local(c) == "sequenceFlow"}
    if not any(_local(c) == "startEvent" for c in children) and (
            _local(container) == "subProcess" or container.get("isExecutable") == "true"):
        problems.append(finding(name, container.sourceline, "no_start_event", where=_where(container)))
    for child in children:
        if _local(child) in UNSUPPORTED:
            problems.append(finding(name, child.sourceline, "unsupported", element=_local(child), where=_where(child),
                                    why_th=UNSUPPORTED[_local(child)][0], why_en=UNSUPPORTED[_local(child)][1]))
        for definition in child:
            if isinstance(definition.tag, str) and _local(definition) in UNSUPPORTED:
                why = UNSUPPORTED[_local(definition)]
                problems.append(finding(name, definition.sourceline, "unsupported", element=_local(definition),
                                        where=_where(child), why_th=why[0], why_en=why[1]))
        if _local(child) == "callActivity" and child.get("calledElement") not in process_ids:
            problems.append(finding(name, child.sourceline, "call_missing", where=_where(child),
                                    ref=child.get("calledElement") or ""))
        if child.get("id") in nodes:
            for ref in [*child.iterfind("bpmn:incoming", NS), *child.iterfind("bpmn:outgoing", NS)]:
                if (ref.text or "").strip() not in flows:
                    problems.append(finding(name, ref.sourceline, "dangling_ref", where=_where(child),
                                            ref=(ref.text or "").strip()))
    for flow in flows.values():
        for attr in ("sourceRef", "targetRef"):
            if flow.get(attr) not in nodes:
                problems.append(finding(name, flow.sourceline, "dangling_flow", flow=flow.get("id"), attr=attr,
                                        ref=flow.get(attr) or ""))
    return problems


# --- Code: scripts, conditions, timers -----------------------------------------------------
def _owner(element):
    owner = element.getparent()
    while owner is not None and (owner.get("id") is None or _local(owner).endswith("EventDefinition")):
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
    for element in tree.iter(*engine._CODE_ELEMENTS):
        text = (element.text or "").strip()
        kind = _local(element)
        owner = _owner(element)
        where = _where(owner) if owner is not None else kind
        if not text:
            continue
        if kind in TIMER_KINDS and _UNQUOTED_ISO.match(text):
            problems.append(finding(name, element.sourceline, "timer_unquoted", where=where, expr=text))
            continue
        reasons = sandbox.check(text, engine._CODE_ELEMENTS[element.tag])
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
    where = _where(gateway)
    if not outgoing:
        return [finding(name, gateway.sourceline, "gateway_no_outgoing", where=where)]
    if gateway.get("default") or _local(gateway) != "exclusiveGateway":
        return []
    problems = []
    conditions = {}
    for flow in outgoing:
        expression = flow.find("bpmn:conditionExpression", NS)
        if expression is None or not (expression.text or "").strip():
            problems.append(finding(name, flow.sourceline, "flow_no_condition", flow=_where(flow), where=where))
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


# --- Sample data from forms ---------------------------------------------------------------------
def sample(schema: Any, today: datetime | None = None, choose: dict[str, Any] | None = None) -> Any:
    """Small valid data for a JSON Schema: every property filled, the first choice of each
    enum unless ``choose`` names another; the schema's own first example wins."""
    today = today or datetime.now(timezone.utc)
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


def _form_samples(forms: dict[str, Any], used: set[str], problems: list[Finding]) -> dict[str, Any]:
    samples = {}
    for name, schema in forms.items():
        reasons = validation.schema_problems(schema)
        if reasons:
            problems.extend(finding(name, None, "form_not_schema", detail=r) for r in reasons)
            continue
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(finding(name, None, "form_not_object"))
            continue
        data = sample(schema)
        reason = sample_problem(schema, data)
        if reason:
            problems.append(finding(name, None, "form_no_sample", detail=reason))
        else:
            samples[name] = data
    return samples


def sample_problem(schema: dict[str, Any], data: Any) -> str | None:
    try:
        validation.validate(schema, data)
    except validation.Invalid as err:
        return "; ".join(f"{e['field']}: {e['message']}" for e in err.errors[:3]) or err.message
    return None


def _merged_sample(samples: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    merged = dict(START_DATA)
    for data in samples.values():
        if isinstance(data, dict):
            merged.update(data)
    return merged


def _enums(forms: dict[str, Any]) -> dict[str, list[Any]]:
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


def decision_fields(bundle: catalog.Bundle) -> dict[str, list[Any]]:
    """Closed-list form fields that some gateway condition reads: the dry run tries each value."""
    enums = _enums(bundle.forms)
    names = set()
    for text in bundle.bpmn_files.values():
        tree = safexml.parse(text.encode("utf-8"))
        for expression in tree.iterfind(".//bpmn:conditionExpression", NS):
            try:
                names.update(n.id for n in ast.walk(ast.parse((expression.text or "").strip(), mode="eval"))
                             if isinstance(n, ast.Name))
            except SyntaxError:
                continue
    return {name: values for name, values in enums.items() if name in names and len(values) > 1}


# --- Outline, for the diff between versions -------------------------------------------------
@dataclass
class Outline:
    """What a designer compares between two versions: tasks, lanes, forms and timers."""

    tasks: dict[str, dict[str, Any]]
    lanes: dict[str, str | None]
    forms: dict[str, Any]
    timers: dict[str, dict[str, Any]]
    branches: list[tuple[str, str]]  # (gateway id, target id) of exclusive/inclusive gateways


ACTIVITIES = (*USER_TASKS, "scriptTask", "task", "subProcess", "callActivity")


def outline(bundle: catalog.Bundle) -> Outline:
    tasks, lanes, timers, branches = {}, {}, {}, []
    for text in bundle.bpmn_files.values():
        tree = safexml.parse(text.encode("utf-8"))
        lanes_of = _lanes_of(tree)
        for lane in tree.iterfind(".//bpmn:lane", NS):
            lanes[lane.get("name") or lane.get("id")] = bundle.lane_roles.get(lane.get("name") or "")
        for element in tree.iter(*(f"{{{BPMN}}}{tag}" for tag in ACTIVITIES)):
            tasks[element.get("id")] = {"name": element.get("name") or "", "type": _local(element),
                                        "lane": lanes_of.get(element.get("id")), "form": _form_property(element)}
        for definition in tree.iterfind(".//bpmn:timerEventDefinition", NS):
            event = definition.getparent()
            expression = next((c for c in definition if isinstance(c.tag, str) and _local(c) in TIMER_KINDS), None)
            timers[event.get("id")] = {
                "name": event.get("name") or "", "event": _local(event),
                "kind": _local(expression) if expression is not None else None,
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

