"""What the checks of a bundle say: one finding per problem, each naming its file and line, in a
sentence a process designer understands, in Thai or English."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    "system_role_lane": ('เลน "{lane}" ใช้บทบาท "{role}" ไม่ได้: บทบาทนี้เป็นบทบาทของระบบ (ผู้ดูแลระบบ ผู้ตรวจสอบ '
                         'ผู้ออกแบบกระบวนงาน) ซึ่งไม่ทำงานในขั้นตอนของแผน ให้ตั้งบทบาทของผู้ปฏิบัติงาน เช่น planning_office',
                         'lane "{lane}" may not map to the system role "{role}": use a role of the people who do the '
                         'work, such as planning_office'),
    "invisible_name": ("ชื่อ {name} มีอักขระที่มองไม่เห็น (เช่น zero-width space) หรือเว้นวรรคหัวท้าย ให้พิมพ์ชื่อใหม่",
                       "the name {name} holds characters no one sees (such as a zero-width space) or spaces at its "
                       "ends: type it again"),
    "lookalike_names": ('ชื่อเลน "{name}" อ่านแล้วเหมือนกับ "{other}" ให้ตั้งชื่อที่ต่างกันชัดเจน',
                        'lane "{name}" reads the same as "{other}": give lanes names that differ'),
    "default_taken": ('มีกระบวนงานเริ่มต้น (default) อยู่แล้ว คือ "{other}" จะมีได้เพียงหนึ่งกระบวนงาน '
                      'ให้ลบ "default": true ออกจาก process.json หรือยกเลิกที่กระบวนงานเดิมก่อน',
                      'there is a default process already, "{other}": only one may be the default'),
    "meta_type": ('ค่า "{key}" ใน process.json ต้องเป็น{expected}', '"{key}" in process.json must be {expected}'),
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
    "unsupported": ("ระบบนี้ยังไม่รองรับ {element} ที่ {where} ({why_th})",
                    "{element} at {where} is not supported ({why_en})"),
    "call_missing": ('{where} เรียกกระบวนงาน "{ref}" ซึ่งไม่มีในชุดไฟล์',
                     '{where} calls process "{ref}", which is not in the bundle'),
    "task_no_lane": ("งาน {where} ไม่อยู่ในเลน (lane) ใด ให้ลากงานไปวางในเลนของผู้รับผิดชอบ",
                     "task {where} is in no lane: put it in the lane of whoever does it"),
    "lane_no_name": ("เลน {where} ไม่มีชื่อ ชื่อเลนใช้จับคู่กับบทบาทใน roles.json", "lane {where} has no name"),
    "lane_no_role": ('เลน "{lane}" ไม่ได้กำหนดบทบาทใน roles.json ให้เพิ่ม "{lane}": "ชื่อบทบาท"',
                     'lane "{lane}" maps to no role in roles.json: add "{lane}": "role"'),
    "task_no_form": ("งาน {where} ไม่ได้ระบุแบบฟอร์ม (property formJsonSchemaFilename)",
                     "task {where} names no form (property formJsonSchemaFilename)"),
    "form_missing": ('ไม่พบไฟล์แบบฟอร์ม "{form}" ที่งาน {where} อ้างถึง ให้อัปโหลดไฟล์นี้ด้วย',
                     'form "{form}" of task {where} is not in the bundle'),
    "form_rule": ('กฎตรวจข้อมูล (x-rules) ของแบบฟอร์มนี้ใช้ไม่ได้: {detail}',
                  "a cross-field rule (x-rules) of this form cannot run: {detail}"),
    "form_not_schema": ("แบบฟอร์มนี้ไม่ใช่ JSON Schema ที่ถูกต้อง: {detail}", "this form is not a valid JSON Schema: {detail}"),
    "form_not_object": ('แบบฟอร์มต้องเป็น JSON Schema ที่มี "type": "object"',
                        'a form must be a JSON Schema with "type": "object"'),
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
    "timer_cycle": ("{where} ใช้รอบเวลา (timeCycle) ซึ่งระบบยังไม่รองรับ: ให้ใช้วันเวลา (timeDate) หรือช่วงเวลา "
                    "(timeDuration) แทน", "{where} uses a repeating timer (timeCycle), which is not supported: "
                    "use timeDate or timeDuration"),
    "boundary_not_on_activity": ("เหตุการณ์ขอบ {where} ติดอยู่กับ {host} ซึ่งไม่ใช่งานหรือกระบวนงานย่อย "
                                 "ให้ย้ายไปติดกับงานที่ต้องการจับเวลา",
                                 "boundary event {where} is attached to {host}, which is not a task or subprocess"),
    "loop_unbounded": ("จำนวนรอบของ {where} ต้องเป็นตัวเลขคงที่ไม่เกิน {limit} รอบ",
                       "the loop count of {where} must be a constant of at most {limit}"),
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
    # send-backs (bundles/sendback): sendBackWhen, sendBackReasonField, draftLists on a user task
    "send_back_syntax": ('งาน {where}: sendBackWhen "{value}" ต้องเขียนเป็น ช่อง=ค่า เช่น review_resolution=revise '
                         '(หลายค่าคั่นด้วย |)', 'task {where}: sendBackWhen "{value}" must read field=value, e.g. '
                         'review_resolution=revise (several values joined by |)'),
    "send_back_field": ('งาน {where}: sendBackWhen อ้างถึงช่อง "{field}" ที่แบบฟอร์ม {form} ไม่มี',
                        'task {where}: sendBackWhen names the field "{field}", which the form {form} does not declare'),
    "send_back_value": ('งาน {where}: ช่อง "{field}" ไม่มีค่า "{value}" ให้เลือก (ค่าที่มี: {choices})',
                        'task {where}: the field "{field}" has no choice "{value}" (choices: {choices})'),
    "send_back_no_reason": ("งาน {where} ส่งกลับได้ (sendBackWhen) แต่ไม่ได้ระบุช่องเหตุผล (sendBackReasonField) "
                            "การส่งกลับต้องมีเหตุผลเสมอ",
                            "task {where} can send back (sendBackWhen) but names no reason field "
                            "(sendBackReasonField): a send-back always needs a reason"),
    "send_back_reason_only": ("งาน {where} ระบุ sendBackReasonField แต่ไม่ได้ระบุ sendBackWhen ว่าผลการพิจารณาใดคือการส่งกลับ",
                              "task {where} names sendBackReasonField but no sendBackWhen saying which decision sends "
                              "back"),
    "send_back_reason_field": ('งาน {where}: ช่องเหตุผล "{field}" ต้องเป็นช่องข้อความในแบบฟอร์ม {form}',
                               'task {where}: the reason field "{field}" must be a text field of the form {form}'),
    "send_back_reason_optional": ('แบบฟอร์ม {form} ของงาน {where} ไม่บังคับกรอก "{field}" เมื่อ {decision} '
                                  'ให้เพิ่ม if/then: {{"if": {{"properties": {{"{decision_field}": {{"const": ...}}}}}}, '
                                  '"then": {{"required": ["{field}"]}}}}',
                                  'the form {form} of task {where} does not require "{field}" when {decision}: add an '
                                  'if/then that requires it'),
    "draft_list_unknown": ('งาน {where}: draftLists อ้างถึง "{field}" ซึ่งไม่มีแบบฟอร์มใดในชุดไฟล์เก็บเป็นรายการ',
                           'task {where}: draftLists names "{field}", which no form of the bundle declares as a list'),
    # committee keywords of a form's fields (bundles/committees.py): x-default-from, x-committee-date
    "committee_default_shape": ('ช่อง "{field}": x-default-from ต้องเขียนเป็น {{"committee": "ชื่อบทบาท", '
                                '"field": "name"}} หรือ "field": "position"',
                                'field "{field}": x-default-from must read {{"committee": "<role>", "field": "name"}} '
                                'or "field": "position"'),
    "committee_default_unknown": ('ช่อง "{field}": x-default-from อ้างถึงคณะกรรมการ "{committee}" ซึ่งไม่ใช่บทบาทของเลนใดใน '
                                  'roles.json (บทบาทที่มี: {roles})',
                                  'field "{field}": x-default-from names the committee "{committee}", which is no '
                                  'lane\'s role in roles.json (roles: {roles})'),
    "committee_default_field": ('ช่อง "{field}": x-default-from ใช้ "field": {value} ไม่ได้ ให้ใช้ "name" (ชื่อ) '
                                'หรือ "position" (ตำแหน่ง)',
                                'field "{field}": x-default-from cannot take "field": {value}: use "name" or '
                                '"position"'),
    "committee_default_not_text": ('ช่อง "{field}" ใช้ x-default-from ได้เฉพาะช่องข้อความ ("type": "string") '
                                   'เพราะค่าที่เติมให้คือชื่อหรือตำแหน่ง',
                                   'field "{field}" takes x-default-from but is not a text field ("type": "string"): '
                                   'the prefilled value is a name or a position'),
    "committee_date_not_true": ('ช่อง "{field}": x-committee-date ต้องเป็น true (ค่าที่ให้มา: {value}) '
                                'หากไม่ใช่วันประชุมของคณะกรรมการ ให้ลบออก',
                                'field "{field}": x-committee-date must be true (given: {value}); remove it if this '
                                'is not the committee\'s meeting date'),
    "committee_date_not_date": ('ช่อง "{field}" ใช้ x-committee-date ได้เฉพาะช่องวันที่ ("type": "string", '
                                '"format": "date")', 'field "{field}" takes x-committee-date but is not a date field '
                                '("type": "string", "format": "date")'),
    "committee_date_twice": ('แบบฟอร์มหนึ่งมีวันประชุมของคณะกรรมการ (x-committee-date) ได้เพียงช่องเดียว '
                             'แต่แบบฟอร์มนี้มี: {fields}', 'a form may mark only one field as its committee\'s '
                             'meeting date (x-committee-date); this one marks: {fields}'),
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
