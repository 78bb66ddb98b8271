"""The whole procedure in a real browser, through the pages only, by a user of each role: the planning
office starts the plan, the support committee fills the project list from the downloaded template
(a file with errors first, then a clean one), drafts and proposes; the development committee sends
the draft back once, then approves it; the executive approves and announces; the planning office
records the posting. Screenshots of every page go to $PHAEN_TEST_OUTPUT (default: a temporary folder)."""

from __future__ import annotations

from datetime import date, datetime, time

import openpyxl
import pytest

from service.commands import admin
from service.thai.legaldays import BANGKOK

from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving

pytestmark = needs_chromium

PEOPLE = {"planner": ("planning_office", "นางสาววางแผน งานดี"), "support": ("support_committee", "นายสนับสนุน ตั้งใจ"),
          "devcom": ("development_committee", "นายพัฒนา ท้องถิ่น"), "mayor": ("executive", "นายสมชาย ใจดี")}
PROJECTS = [
    ["1", "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3", "ถนน คสล. กว้าง 4 ม. ยาว 200 ม.", "480,000.00", "หมู่ที่ 3",
     "กองช่าง", "การพัฒนาด้านโครงสร้างพื้นฐาน", "อุตสาหกรรมและการโยธา", "องค์กรปกครองส่วนท้องถิ่น", "", ["ม.ค.", "ก.พ."]],
    ["2", "โครงการจัดซื้อรถบรรทุกน้ำ", "รถบรรทุกน้ำ 6 ล้อ 1 คัน", "2,500,000.50", "สำนักงานเทศบาล", "สำนักปลัด",
     "การพัฒนาด้านความปลอดภัย", "รักษาความสงบภายใน", "หน่วยงานราชการส่วนกลาง", "กรมส่งเสริมการปกครองท้องถิ่น",
     ["ต.ค.", "พ.ย."]],
    ["3", "โครงการส่งเสริมอาชีพผู้สูงอายุ", "อบรมอาชีพ 50 คน", "๓๕,๐๐๐", "ศาลาประชาคม", "กองสวัสดิการสังคม",
     "การพัฒนาด้านสังคม", "สร้างความเข้มแข็งของชุมชน", "องค์กรปกครองส่วนท้องถิ่น", "", ["มี.ค."]],
]


@pytest.fixture
def server(ctx):
    """The application served over the shared test database (SQLite, or PostgreSQL in the second pass)."""
    admin.add_organization(ctx, "kradangnga", "เทศบาลตำบลกระดังงา", "สมุทรสงคราม")
    for username, (role, name) in PEOPLE.items():
        admin.add_user(ctx, username, "kradangnga", [role], PASSWORD, name)
    Session.clock = ctx.clock
    with serving(ctx) as base:
        yield base


class Session:
    """One official in their own browser context, taking numbered screenshots."""

    counter = 0
    clock = None  # the served application's clock: a step is recorded on (or after) the day it names

    def __init__(self, browser, base, shots, username):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH",
                                           accept_downloads=True)
        self.page, self.base, self.shots, self.username = self.context.new_page(), base, shots, username
        log_in(self.page, base, username)
        playwright_api.expect(self.page.get_by_role("heading", name="งานที่รอดำเนินการ")).to_be_visible()

    def shot(self, name):
        Session.counter += 1
        self.page.screenshot(path=self.shots / f"{Session.counter:02d}-{self.username}-{name}.png", full_page=True)

    def open_task(self, title):
        self.page.goto(f"{self.base}/")
        self.page.get_by_role("link", name=title).first.click()
        playwright_api.expect(self.page.get_by_role("heading", name=title)).to_be_visible()

    def date(self, name, day, month, year):
        try:
            named = date(year - 543, month, day)
        except ValueError:  # a day that is not in the calendar: the page says so
            named = None
        if named and self.clock and self.clock.now().astimezone(BANGKOK).date() < named:
            self.clock.set(datetime.combine(named, time(9, 0), BANGKOK))
        self.page.locator(f'[name="/{name}#d"]').select_option(str(day))
        self.page.locator(f'[name="/{name}#m"]').select_option(str(month))
        self.page.locator(f'[name="/{name}#y"]').fill(str(year))

    def submit(self, shot_name):
        self.shot(shot_name)
        self.page.get_by_role("button", name="บันทึกและส่งต่อขั้นตอนถัดไป").click()
        self.page.get_by_role("button", name="ยืนยันและส่งต่อ").click()  # the confirmation of what goes to whom
        playwright_api.expect(self.page.locator(".notice-success")).to_contain_text("เรียบร้อยแล้ว")

    def close(self):
        self.context.close()


def fill_template(path, rows):
    """What an official does in Excel: fill the downloaded template and save it."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    for number, row in enumerate(rows, start=2):
        *cells, months = row
        for header, value in zip(headers[:10], cells, strict=True):
            sheet.cell(row=number, column=headers.index(header) + 1, value=value)
        for month in months:
            sheet.cell(row=number, column=headers.index(month) + 1, value="✓")
    book.save(path)


def test_the_whole_procedure_through_the_pages(server, shots, browser, tmp_path):
    expect = playwright_api.expect
    base = server

    # the planning office starts the plan, with a validation error corrected on the page
    planner = Session(browser, base, shots, "planner")
    planner.page.get_by_role("link", name="เริ่มจัดทำแผนใหม่").click()
    expect(planner.page.get_by_role("heading", name="เริ่มการจัดทำแผนการดำเนินงาน")).to_be_visible()
    expect(planner.page.locator("#fiscal_year")).to_have_value("2564")
    planner.date("budget_announced_on", 31, 9, 2563)
    planner.page.get_by_role("button", name="เริ่มจัดทำแผน").click()
    expect(planner.page.locator("#f-budget_announced_on-error")).to_contain_text("ไม่มีวันที่นี้ในปฏิทิน")
    planner.shot("start-error")
    planner.date("budget_announced_on", 20, 9, 2563)
    planner.page.get_by_role("button", name="เริ่มจัดทำแผน").click()
    expect(planner.page.get_by_role("heading", name="แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. 2564")).to_be_visible()
    expect(planner.page.locator(".dlabel-task.current")).to_contain_text("รวบรวมโครงการ/กิจกรรม")
    planner.shot("plan-started")
    plan_url = planner.page.url

    # the support committee: the template, a file with errors, then the clean file
    support = Session(browser, base, shots, "support")
    support.shot("inbox")
    support.open_task("รวบรวมโครงการ/กิจกรรม")
    with support.page.expect_download() as download:
        support.page.get_by_role("link", name="ดาวน์โหลดแม่แบบ (.xlsx)").click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    wrong = tmp_path / "wrong.xlsx"
    good = tmp_path / "projects.xlsx"
    for path, rows in ((wrong, [PROJECTS[0][:3] + ["สี่แสนแปด"] + PROJECTS[0][4:7] + ["การท่องเที่ยว"] + PROJECTS[0][8:],
                                PROJECTS[1]]), (good, PROJECTS)):
        path.write_bytes(template.read_bytes())
        fill_template(path, rows)
    support.shot("task-empty")
    support.page.set_input_files("#file-projects", wrong)
    support.page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(support.page.locator("#error-summary")).to_contain_text("ยังไม่ได้นำเข้ารายการใด")
    expect(support.page.locator("tr.row-errors").first).to_contain_text("แถวที่ 2 คอลัมน์ D “งบประมาณ (บาท)”")
    expect(support.page.locator("tr.row-errors").first).to_contain_text("แผนงาน “การท่องเที่ยว” ไม่มีในรายการ")
    support.shot("preview-errors")
    support.page.set_input_files("#file", good)
    support.page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(support.page.locator(".notice-success")).to_contain_text("ไฟล์ถูกต้อง")
    expect(support.page.locator("table.sheet tbody tr")).to_have_count(3)
    support.shot("preview-clean")
    support.page.get_by_role("button", name="นำ 3 รายการเข้าแบบฟอร์ม").click()
    expect(support.page.locator('[name="/projects/2/name"]')).to_have_value("โครงการส่งเสริมอาชีพผู้สูงอายุ")
    expect(support.page.locator('[name="/projects/1/budget"]')).to_have_value("2,500,000.50")
    expect(support.page.locator('[name="/projects/2/budget"]')).to_have_value("35,000.00")
    support.submit("task-imported")
    expect(support.page.locator(".dlabel-task.current")).to_contain_text("จัดทำร่างแผนการดำเนินงาน")
    support.shot("plan-collected")

    def draft_and_propose(day):
        support.open_task("จัดทำร่างแผนการดำเนินงาน")
        support.date("draft_prepared_on", day, 9, 2563)
        support.submit("draft")
        support.open_task("เสนอร่างแผนการดำเนินงาน")
        support.date("proposed_on", day + 1, 9, 2563)
        support.submit("propose")

    draft_and_propose(22)

    # the development committee sends the draft back once
    devcom = Session(browser, base, shots, "devcom")
    devcom.open_task("พิจารณาร่างแผนการดำเนินงาน")
    devcom.date("review_meeting_date", 24, 9, 2563)
    devcom.page.locator('[name="/review_resolution"][value="revise"]').check()
    devcom.page.locator('[name="/review_comments"]').fill("ให้เพิ่มรายละเอียดโครงการของหน่วยงานส่วนภูมิภาค")
    devcom.submit("send-back")
    expect(devcom.page.locator(".dlabel-task.current")).to_contain_text("จัดทำร่างแผนการดำเนินงาน")

    draft_and_propose(25)
    devcom.open_task("พิจารณาร่างแผนการดำเนินงาน")
    devcom.date("review_meeting_date", 27, 9, 2563)
    devcom.page.locator('[name="/review_resolution"][value="approve"]').check()
    devcom.submit("approve-draft")
    devcom.open_task("เสนอร่างต่อผู้บริหารท้องถิ่น")
    devcom.date("presented_on", 28, 9, 2563)
    devcom.submit("present")

    # the executive approves and announces
    mayor = Session(browser, base, shots, "mayor")
    mayor.open_task("ผู้บริหารท้องถิ่นให้ความเห็นชอบ")
    mayor.date("approval_date", 29, 9, 2563)
    mayor.page.locator('[name="/approval_decision"][value="approve"]').check()
    mayor.submit("approve")
    mayor.open_task("ประกาศใช้แผนการดำเนินงาน")
    mayor.date("announced_on", 1, 10, 2563)
    mayor.page.locator('[name="/executive_name"]').fill("นายสมชาย ใจดี")
    mayor.page.locator('[name="/executive_title"]').fill("นายกเทศมนตรีตำบลกระดังงา")
    mayor.submit("announce")

    # the planning office posts the announcement; the plan waits out the 30 days of posting
    planner.open_task("ปิดประกาศแผนการดำเนินงาน")
    planner.date("posted_on", 2, 10, 2563)
    planner.page.locator('[name="/posting_places/0"]').fill("บอร์ดประชาสัมพันธ์สำนักงานเทศบาล")
    planner.submit("post")
    planner.page.goto(plan_url)
    timeline = planner.page.locator(".timeline")
    expect(timeline).to_contain_text("บันทึกงาน: พิจารณาร่างแผนการดำเนินงาน")
    expect(timeline).to_contain_text("นายพัฒนา ท้องถิ่น")
    assert timeline.locator("li", has_text="บันทึกงาน: จัดทำร่างแผนการดำเนินงาน").count() == 2  # the send-back
    expect(planner.page.locator(".dlabel-task.done", has_text="ประกาศใช้แผนการดำเนินงาน")).to_have_count(1)
    planner.shot("plan-posted")

    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="th-TH")
    phone.add_cookies(planner.context.cookies())
    small = phone.new_page()
    small.goto(plan_url)
    expect(small.locator(".diagram-scroll")).to_be_visible()
    small.screenshot(path=shots / "99-planner-plan-phone.png", full_page=True)
    for session in (planner, support, devcom, mayor):
        session.close()
    phone.close()
