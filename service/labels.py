"""The settled Thai words for what the system shows on screen and on paper: every page and
document names a role, an event, a deadline's state or a plan's status with these words."""

from __future__ import annotations

from typing import Any

from service import eventlog
from service.auth import ADMIN, AUDITOR, DESIGNER, SYSTEM, UNIT

#: Roles no lane names (a process's roles are named by their lanes).
SYSTEM_ROLES = {ADMIN: "ผู้ดูแลระบบ", AUDITOR: "ผู้ตรวจสอบ", DESIGNER: "ผู้ออกแบบกระบวนงาน",
                UNIT: "หน่วยงานผู้รับผิดชอบโครงการ"}
PLAN_STATUS = {"running": "กำลังดำเนินการ", "completed": "เสร็จสิ้นกระบวนงาน"}
DEADLINE_STATES = {"pending": "ยังไม่ถึงกำหนด", "met": "เป็นไปตามกำหนด", "missed": "ไม่เป็นไปตามกำหนด"}
OVERDUE = "เกินกำหนด"  # a limit passed while its step is still not done
EVENT_KINDS = {
    eventlog.PLAN_STARTED: "เริ่มจัดทำแผน", eventlog.TASK_COMPLETED: "บันทึกงาน",
    eventlog.TIMER_FIRED: "ครบกำหนดเวลา", eventlog.TASK_CLAIMED: "รับงาน", eventlog.TASK_RELEASED: "คืนงาน",
    eventlog.TASK_REASSIGNED: "มอบหมายงาน", eventlog.VERSION_MIGRATED: "ย้ายไปใช้กระบวนงานฉบับใหม่",
    eventlog.DOCUMENT_FROZEN: "จัดเก็บเอกสารฉบับประกาศ", eventlog.ATTACHMENT_ADDED: "แนบไฟล์หลักฐาน",
    eventlog.PROJECTS_LISTED: "ขึ้นบัญชีโครงการเพื่อติดตามผล", eventlog.PROGRESS_RECORDED: "บันทึกผลการดำเนินงานโครงการ",
    eventlog.PROGRESS_EVIDENCE_ADDED: "แนบหลักฐานผลการดำเนินงานโครงการ",
    eventlog.REPORT_PUBLISHED: "เผยแพร่รายงานผลการดำเนินงานต่อสาธารณะ",
}
#: Where an instance stands on a step (engine.Instance.element_states, a refused migration's blockers).
STEP_STATES = {"completed": "ทำเสร็จแล้ว", "started": "กำลังดำเนินการ", "ready": "รอดำเนินการ",
               "waiting": "กำลังนับเวลา", "cancelled": "ยกเลิกแล้ว", "error": "ผิดพลาด"}
SYSTEM_ACTOR = "ระบบ"  # the actor of timers and frozen documents


def process_version(number: int | None) -> str:
    """A process version as an official reads a revised procedure: the first one, then its revisions
    (version 3 is the second revision). Never "ฉบับที่ 3", which reads as a numbered regulation."""
    if not number:
        return ""
    return "ฉบับแรก" if number == 1 else f"ฉบับแก้ไขครั้งที่ {number - 1}"


def actor_name(username: str | None) -> str:
    """Who did something, for a page: the system in Thai, a person by the name they log in with."""
    return SYSTEM_ACTOR if username == SYSTEM.username else (username or "")


def role_name(role: str | None, lane_roles: dict[str, str]) -> str:
    """A role in Thai: the lane it works in, as a process names it, or the system role's name."""
    if not role:
        return ""
    lanes = {r: lane for lane, r in lane_roles.items()}
    return lanes.get(role) or SYSTEM_ROLES.get(role, role)


# --- The plan's year's events (service/tracking), titled as a form titles its fields ----------
_MONTHS = {"type": "integer", "enum": [10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9],
           "x-enumTitles": ["ต.ค.", "พ.ย.", "ธ.ค.", "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.",
                            "ก.ย."]}
_PROJECT = {"type": "object", "properties": {
    "number": {"title": "ลำดับที่"}, "name": {"title": "โครงการ"}, "unit": {"title": "หน่วยงานรับผิดชอบหลัก"},
    "strategy": {"title": "ยุทธศาสตร์"}, "plan_program": {"title": "แผนงาน"},
    "budget": {"title": "งบประมาณ (บาท)", "multipleOf": 0.01},
    "months": {"title": "เดือนที่ดำเนินการตามแผน", "items": _MONTHS},
    "is_equipment": {"title": "ครุภัณฑ์ (แบบ ผด.02/1)"}}}


#: The reports of the plan's year as published (ITA o10, o11), by their keys in tracking/reports.py.
REPORT_TITLES = {"six-months": "รายงานการกำกับติดตามการดำเนินงานและการใช้งบประมาณ รอบ 6 เดือน",
                 "annual": "รายงานผลการดำเนินงานประจำปี"}


def tracking_event_titles(progress_form: dict[str, Any]) -> dict[str, Any]:
    """Titles for the data of the tracking events; a progress is titled by the plan's progress form."""
    return {"properties": {
        "list_version": {"title": "บัญชีโครงการฉบับที่ (0 คือตามแผนที่ประกาศใช้ N คือตามการแก้ไขครั้งที่ N)"},
        "plan_id": {"title": "แผนหรือการแก้ไขแผนที่ประกาศ (เลขที่)"},
        "listed": {"title": "โครงการที่ขึ้นบัญชี", "items": _PROJECT},
        "changed": {"title": "โครงการที่เปลี่ยนแปลง", "items": _PROJECT},
        "withdrawn": {"title": "ลำดับที่ของโครงการที่ยกเลิกออกจากแผน"},
        "unmatched": {"title": "ชื่อโครงการที่การแก้ไขอ้างถึงแต่ไม่พบในบัญชี"},
        "project": {"title": "โครงการลำดับที่"},
        "progress": {"title": "ผลการดำเนินงานที่บันทึก", **progress_form},
        "filename": {"title": "ไฟล์หลักฐาน"}, "type": {"title": "ชนิดไฟล์"}, "bytes": {"title": "ขนาด (ไบต์)"},
        "sha256": {"title": "SHA-256"},
        "report": {"title": "รายงาน", "enum": list(REPORT_TITLES), "x-enumTitles": list(REPORT_TITLES.values())},
        "cutoff": {"title": "วันที่ตัดยอด", "format": "date"},
        "figures_sha256": {"title": "SHA-256 ของตัวเลขในรายงาน"},
    }}
