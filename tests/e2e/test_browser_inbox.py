"""A real browser against a real server: an official logs in, opens the inbox, fills the project
list (a validation error corrected on the page, a second row added), and sees the plan move on.
Screenshots of every page go to $PHAEN_TEST_OUTPUT (default: the test's temporary folder)."""

from __future__ import annotations

import pytest

from service.auth import actor_of
from service.commands import admin
from service.commands import plans as commands
from service.models import User

from .browser import PASSWORD, needs_chromium, playwright_api, serving

pytestmark = needs_chromium


@pytest.fixture
def server(ctx):
    """The application served over the shared test database (SQLite, or PostgreSQL in the second pass)."""
    admin.add_organization(ctx, "kradangnga", "เทศบาลตำบลกระดังงา", "สมุทรสงคราม")
    admin.add_user(ctx, "support", "kradangnga", ["support_committee"], PASSWORD,
                   "ประธานคณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น")
    with ctx.db.read() as session:
        starter = actor_of(session.query(User).filter_by(username="support").one())
    plan_id = commands.start_plan(ctx, starter, {"organization": "kradangnga", "fiscal_year": 2564,
                                                 "budget_announced_on": "2020-09-20"})
    with serving(ctx) as base:
        yield base, plan_id


def test_official_completes_the_collecting_step_in_the_browser(server, shots, browser):
    base, plan_id = server
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="th-TH")

    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()
    page.get_by_label("ชื่อผู้ใช้").fill("support")
    page.get_by_label("รหัสผ่าน").fill("wrong password")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.locator(".notice-error")).to_contain_text("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
    page.screenshot(path=shots / "01-login-wrong-password.png", full_page=True)
    page.get_by_label("รหัสผ่าน").fill(PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()

    expect(page.get_by_role("heading", name="งานที่รอดำเนินการ")).to_be_visible()
    row = page.locator("table.list tbody tr").first
    expect(row).to_contain_text("รวบรวมโครงการ/กิจกรรม")
    expect(row).to_contain_text("ปีงบประมาณ พ.ศ. 2564")
    expect(row).to_contain_text("20 ต.ค. 2563")  # 30 days from 20 Sep 2020, ข้อ 27
    page.screenshot(path=shots / "02-inbox.png", full_page=True)

    row.get_by_role("link", name="เปิดงาน").click()
    expect(page.get_by_role("heading", name="รวบรวมโครงการ/กิจกรรม")).to_be_visible()
    page.screenshot(path=shots / "03-task-empty.png", full_page=True)

    # first row, with a budget that is not a number: the page says so beside the field
    fill_project(page, 0, "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3", "สี่แสนแปด", "หมู่ที่ 3", "กองช่าง",
                 "อุตสาหกรรมและการโยธา", "lao", ["1", "2", "3"])
    page.get_by_role("button", name="บันทึกและส่งต่อขั้นตอนถัดไป").click()
    budget = page.locator('[name="/projects/0/budget"]')
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#f-projects-0-budget-error")).to_contain_text("ต้องเป็นตัวเลข")
    expect(budget).to_have_value("สี่แสนแปด")  # what was typed is kept
    expect(page.locator('[name="/projects/0/name"]')).to_have_value("โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3")
    page.screenshot(path=shots / "04-task-errors.png", full_page=True)

    budget.fill("480000")
    page.get_by_role("button", name="+ เพิ่มแถว").click()
    fill_project(page, 1, "โครงการจัดซื้อรถบรรทุกน้ำ", "2500000.50", "สำนักงานเทศบาล", "สำนักปลัด",
                 "รักษาความสงบภายใน", "central", ["10", "11"], agency="กรมส่งเสริมการปกครองท้องถิ่น")
    page.locator('[name="/projects/1/strategy"]').fill("การพัฒนาด้านความปลอดภัยในชีวิตและทรัพย์สิน")
    page.screenshot(path=shots / "05-task-filled.png", full_page=True)
    page.get_by_role("button", name="บันทึกและส่งต่อขั้นตอนถัดไป").click()
    page.get_by_role("button", name="ยืนยันและส่งต่อ").click()  # the confirmation of what goes to whom

    expect(page.get_by_role("heading", name="แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. 2564")).to_be_visible()
    expect(page.locator(".notice-success")).to_contain_text("รวบรวมโครงการ/กิจกรรม")
    expect(page.locator("table.list").first).to_contain_text("จัดทำร่างแผนการดำเนินงาน")
    expect(page.locator(".timeline")).to_contain_text("บันทึกงาน: รวบรวมโครงการ/กิจกรรม")
    assert page.url.endswith(f"/plans/{plan_id}")
    page.screenshot(path=shots / "06-plan.png", full_page=True)

    phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="th-TH")
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{base}/")
    expect(phone.get_by_role("link", name="จัดทำร่างแผนการดำเนินงาน").first).to_be_visible()
    phone.screenshot(path=shots / "07-inbox-phone.png", full_page=True)
    phone.get_by_role("link", name="เปิดงาน").first.click()
    expect(phone.get_by_role("heading", name="จัดทำร่างแผนการดำเนินงาน")).to_be_visible()
    phone.screenshot(path=shots / "08-task-phone.png", full_page=True)


def fill_project(page, index, name, budget, place, unit, program, source, months, agency=None):
    field = lambda key: page.locator(f'[name="/projects/{index}/{key}"]')  # noqa: E731
    field("name").fill(name)
    field("budget").fill(budget)
    field("place").fill(place)
    field("responsible_unit").fill(unit)
    field("strategy").fill("การพัฒนาด้านโครงสร้างพื้นฐาน")
    field("plan_program").select_option(program)
    field("source").select_option(source)
    if agency:
        field("agency").fill(agency)
    for month in months:
        page.locator(f'[name="/projects/{index}/months"][value="{month}"]').check()
