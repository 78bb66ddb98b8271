"""The settled Thai words for what the system shows on screen and on paper: every page and
document names a role, an event, a deadline's state or a plan's status with these words."""

from __future__ import annotations

from service import eventlog
from service.auth import ADMIN, AUDITOR, DESIGNER, SYSTEM

#: Roles no lane names (a process's roles are named by their lanes).
SYSTEM_ROLES = {ADMIN: "ผู้ดูแลระบบ", AUDITOR: "ผู้ตรวจสอบ", DESIGNER: "ผู้ออกแบบกระบวนงาน"}
PLAN_STATUS = {"running": "กำลังดำเนินการ", "completed": "เสร็จสิ้นกระบวนงาน"}
DEADLINE_STATES = {"pending": "ยังไม่ถึงกำหนด", "met": "เป็นไปตามกำหนด", "missed": "ไม่เป็นไปตามกำหนด"}
OVERDUE = "เกินกำหนด"  # a limit passed while its step is still not done
EVENT_KINDS = {
    eventlog.PLAN_STARTED: "เริ่มจัดทำแผน", eventlog.TASK_COMPLETED: "บันทึกงาน",
    eventlog.TIMER_FIRED: "ครบกำหนดเวลา", eventlog.TASK_CLAIMED: "รับงาน", eventlog.TASK_RELEASED: "คืนงาน",
    eventlog.TASK_REASSIGNED: "มอบหมายงาน", eventlog.VERSION_MIGRATED: "ย้ายไปใช้กระบวนงานฉบับใหม่",
    eventlog.DOCUMENT_FROZEN: "จัดเก็บเอกสารฉบับประกาศ", eventlog.ATTACHMENT_ADDED: "แนบไฟล์หลักฐาน",
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
