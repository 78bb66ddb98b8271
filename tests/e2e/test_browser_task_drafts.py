"""In a real browser: an official types a project, presses Enter (nothing completes, with or without
JavaScript), saves a draft, reloads and logs in again (the values are there), then completes through
the confirmation that names the next step and who does it. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import re

from service.taskforms import writing
from tests.integration.procedure import SAMPLES
from tests.integration.test_web_spreadsheets import ITEMS

from .browser import log_in, needs_chromium, playwright_api
from .test_browser_inbox import fill_project, server  # noqa: F401 - the fixture: one plan, one official

pytestmark = needs_chromium
TASK = "รวบรวมโครงการ/กิจกรรม"


def logged_in(browser, base, javascript=True):
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH",
                               java_script_enabled=javascript).new_page()
    log_in(page, base, "support")
    playwright_api.expect(page.get_by_role("heading", name="งานที่รอดำเนินการ")).to_be_visible()
    page.get_by_role("link", name="เปิดงาน").first.click()
    playwright_api.expect(page.get_by_role("heading", name=TASK)).to_be_visible()
    return page


def test_a_draft_survives_enter_a_reload_and_a_new_log_in_then_completes_once_confirmed(server, shots, browser,  # noqa: F811
                                                                                       tmp_path):
    base, plan_id = server
    expect = playwright_api.expect
    page = logged_in(browser, base)
    task_url = page.url
    fill_project(page, 0, "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3", "480000", "หมู่ที่ 3", "กองช่าง",
                 "อุตสาหกรรมและการโยธา", "lao", ["1", "2", "3"])
    name = page.locator('[name="/projects/0/name"]')
    name.press("Enter")  # with JavaScript: nothing at all
    page.locator('[name="/projects/0/budget"]').press("Enter")
    expect(page.get_by_role("heading", name=TASK)).to_be_visible()
    assert page.url == task_url and page.locator(".notice-success").count() == 0
    expect(name).to_have_value("โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3")
    page.screenshot(path=shots / "drafts-01-typed-enter-pressed.png", full_page=True)

    page.get_by_role("button", name="บันทึกร่าง (ยังไม่ส่งต่อ)").click()
    expect(page.locator(".notice-success")).to_contain_text("บันทึกร่างแล้ว")
    expect(page.locator("#saved-draft")).to_contain_text("ร่างที่ท่านบันทึกไว้เมื่อ")
    page.screenshot(path=shots / "drafts-02-saved.png", full_page=True)
    page.reload()
    expect(page.locator('[name="/projects/0/name"]')).to_have_value("โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3")
    expect(page.locator('[name="/projects/0/budget"]')).to_have_value("480,000.00")

    # a file to import while a row is typed: the page asks whether to add to it or replace it
    sheet = tmp_path / "projects.xlsx"
    sheet.write_bytes(writing.write_xlsx(ITEMS, SAMPLES["collect_projects"]["projects"]))
    page.locator("#file-projects").set_input_files(sheet)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(page.locator("#typed-rows")).to_contain_text("ที่กรอกไว้แล้ว 1 รายการ")
    expect(page.get_by_role("button", name=re.compile("เพิ่มต่อท้าย 1 รายการเดิม"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("แทนที่รายการเดิมทั้งหมด"))).to_be_visible()
    page.screenshot(path=shots / "drafts-02b-import-asks.png", full_page=True)
    page.get_by_role("link", name="ยกเลิก").click()
    expect(page.locator('[name="/projects/0/name"]')).to_have_value("โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3")
    expect(page.locator('[name="/projects/1/name"]')).to_have_count(0)

    # another browser without JavaScript: the draft is there, and Enter saves it again, never completes
    plain = logged_in(browser, base, javascript=False)
    field = plain.locator('[name="/projects/0/place"]')
    expect(field).to_have_value("หมู่ที่ 3")
    field.fill("หมู่ที่ 3 ตำบลกระดังงา")
    field.press("Enter")
    expect(plain.locator(".notice-success")).to_contain_text("บันทึกร่างแล้ว")
    expect(plain.locator('[name="/projects/0/place"]')).to_have_value("หมู่ที่ 3 ตำบลกระดังงา")
    plain.screenshot(path=shots / "drafts-03-no-javascript-enter-saved.png", full_page=True)
    plain.context.close()

    page.reload()
    expect(page.locator('[name="/projects/0/place"]')).to_have_value("หมู่ที่ 3 ตำบลกระดังงา")
    page.get_by_role("button", name="บันทึกและส่งต่อขั้นตอนถัดไป").click()
    expect(page.get_by_role("heading", name=f"ยืนยันการส่งต่อ: {TASK}")).to_be_visible()
    expect(page.locator(".next-steps")).to_contain_text("จัดทำร่างแผนการดำเนินงาน")
    expect(page.locator(".next-steps")).to_contain_text("คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น")
    expect(page.locator(".recorded")).to_contain_text("1 รายการ")
    page.screenshot(path=shots / "drafts-04-confirmation.png", full_page=True)

    page.get_by_role("button", name="ยืนยันและส่งต่อ").click()
    expect(page.locator(".notice-success")).to_contain_text("ส่งต่อเรียบร้อยแล้ว")
    assert re.search(rf"/plans/{plan_id}$", page.url)
    expect(page.locator(".timeline")).to_contain_text(f"บันทึกงาน: {TASK}")
    page.screenshot(path=shots / "drafts-05-completed.png", full_page=True)
    page.context.close()
