"""A send-back in a real browser (issue 13, item 5): the development committee sees the draft it
decides on, is refused a send-back without a reason, sends it back with one; the support committee
finds the step marked "ส่งกลับแก้ไข" in its inbox, reads the reason on the re-draft, changes two
projects and proposes again; the plan's history says what changed. Screenshots go to
$PHAEN_TEST_OUTPUT (default: a temporary folder)."""

from __future__ import annotations

import pytest

from service import queries
from service.commands import admin, plans

from ..conftest import bangkok
from .browser import PASSWORD, needs_chromium, playwright_api, serving
from .test_browser_procedure import PEOPLE, Session

pytestmark = needs_chromium

ROAD = {"name": "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3", "activities": "ถนน คสล. กว้าง 4 ม. ยาว 200 ม.",
        "budget": 480000.0, "place": "หมู่ที่ 3", "responsible_unit": "กองช่าง",
        "strategy": "การพัฒนาด้านโครงสร้างพื้นฐาน", "plan_program": "อุตสาหกรรมและการโยธา", "source": "lao",
        "funding": "ordinance",
        "months": [1, 2], "is_equipment": False}
TRUCK = {**ROAD, "name": "โครงการจัดซื้อรถบรรทุกน้ำ", "activities": "รถบรรทุกน้ำ 6 ล้อ 1 คัน", "budget": 2500000.5,
         "place": "สำนักงานเทศบาล", "responsible_unit": "สำนักปลัด", "strategy": "การพัฒนาด้านความปลอดภัย",
         "plan_program": "รักษาความสงบภายใน", "months": [10, 11]}
ELDERLY = {**ROAD, "name": "โครงการส่งเสริมอาชีพผู้สูงอายุ", "activities": "อบรมอาชีพ 50 คน", "budget": 35000.0,
           "place": "ศาลาประชาคม", "responsible_unit": "กองสวัสดิการสังคม", "strategy": "การพัฒนาด้านสังคม",
           "plan_program": "สร้างความเข้มแข็งของชุมชน", "months": [3]}
REASON = "ให้ปรับงบโครงการถนนเป็น 520,000 บาท และตัดโครงการรถบรรทุกน้ำออก (ยังไม่ได้รับจัดสรร)"


@pytest.fixture
def proposed(ctx, clock):
    """A plan proposed to the development committee, its first steps done through the service."""
    clock.set(bangkok(2020, 10, 1, 10, 0))
    admin.add_organization(ctx, "kradangnga", "เทศบาลตำบลกระดังงา", "สมุทรสงคราม")
    for username, (role, name) in PEOPLE.items():
        admin.add_user(ctx, username, "kradangnga", [role], PASSWORD, name)
    support = queries.actor_named(ctx, "support")
    plan_id = plans.start_plan(ctx, support, {"organization": "kradangnga", "fiscal_year": 2564,
                                              "budget_announced_on": "2020-09-20"})
    for name, data in (("collect_projects", {"projects": [ROAD, TRUCK, ELDERLY]}),
                       ("draft_plan", {"draft_prepared_on": "2020-09-22"}),
                       ("propose_draft", {"proposed_on": "2020-09-23"})):
        task = next(t for t in queries.inbox(ctx, support) if t["name"] == name)
        plans.complete_task(ctx, support, task["id"], data)
    with serving(ctx) as base:
        yield base, plan_id


def test_a_send_back_that_changes_two_projects(proposed, shots, browser):
    expect = playwright_api.expect
    base, plan_id = proposed

    devcom = Session(browser, base, shots, "devcom")
    devcom.open_task("พิจารณาร่างแผนการดำเนินงาน")
    draft = devcom.page.locator(".draft-under-review")
    expect(draft).to_contain_text("ร่างที่พิจารณา: โครงการ/กิจกรรม (3 รายการ งบประมาณรวม 3,015,000.50 บาท)")
    expect(draft.get_by_role("link", name="เปิดร่างแผนการดำเนินงาน (PDF)")).to_have_attribute(
        "href", f"/plans/{plan_id}/operational-plan.pdf")
    devcom.date("review_meeting_date", 24, 9, 2563)
    devcom.page.locator('[name="/review_resolution"][value="revise"]').check()
    devcom.page.get_by_role("button", name="บันทึกและส่งต่อขั้นตอนถัดไป").click()
    expect(devcom.page.locator("#f-review_comments-error")).to_have_text(
        "กรุณากรอกเหตุผลและประเด็นที่ให้แก้ไข (ความเห็นของที่ประชุม)")
    devcom.shot("send-back-without-reason")
    devcom.page.locator('[name="/review_comments"]').fill(REASON)
    devcom.submit("send-back")

    support = Session(browser, base, shots, "support")
    row = support.page.locator("tr", has_text="จัดทำร่างแผนการดำเนินงาน")
    expect(row.locator(".badge-returned")).to_have_text("ส่งกลับแก้ไข")
    support.shot("inbox-returned")
    support.open_task("จัดทำร่างแผนการดำเนินงาน")
    notice = support.page.locator("#sent-back")
    expect(notice).to_contain_text("จากขั้นตอนพิจารณาร่างแผนการดำเนินงาน โดย นายพัฒนา ท้องถิ่น")
    expect(notice.locator(".reason")).to_have_text(REASON)
    expect(support.page.locator('[name="/projects/1/name"]')).to_have_value(TRUCK["name"])

    # two projects change: the road's budget, and the water truck goes
    support.page.locator('[name="/projects/0/budget"]').fill("520,000.00")
    support.page.locator('button[value="remove /projects/1"]').click()
    expect(support.page.locator('[name="/projects/1/name"]')).to_have_value(ELDERLY["name"])
    support.date("draft_prepared_on", 25, 9, 2563)
    support.page.locator('[name="/draft_notes"]').fill("แก้ไขตามมติคณะกรรมการพัฒนาท้องถิ่น")
    support.shot("re-draft-with-reason")
    support.submit("re-draft")

    timeline = support.page.locator(".timeline")
    expect(timeline.locator("li.changed")).to_have_text(
        f"แก้ไข: {ROAD['name']} งบประมาณ 480,000.00 → 520,000.00 บาท")
    expect(timeline.locator("li.removed")).to_have_text(f"ตัดออก: {TRUCK['name']} (2,500,000.50 บาท)")
    support.page.locator(".list-changes").first.scroll_into_view_if_needed()
    support.shot("history-changes")

    support.open_task("เสนอร่างแผนการดำเนินงาน")
    expect(support.page.locator("#sent-back")).to_have_count(0)  # proposing again is no send-back
    devcom.close()
    support.close()
