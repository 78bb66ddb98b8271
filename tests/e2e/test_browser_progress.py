"""The plan's year in a real browser: a unit official logs in, opens the progress page of the
announced plan, records one of its projects' progress through the form and sees it on the page,
in the table, the month bars and the charts; the figures at the top; the page and the form at a
phone's and a desktop's width, checked with axe-core (no serious or critical violation) and never
scrolling sideways on a phone. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import pytest

from service.commands import admin, progress

from ..conftest import bangkok
from ..integration.procedure import PROJECT, Procedure
from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving
from .test_browser_public import serious

pytestmark = needs_chromium

PROJECTS = [PROJECT,
            {**PROJECT, "name": "โครงการจัดซื้อรถบรรทุกน้ำ", "budget": 2500000.5, "responsible_unit": "สำนักปลัด",
             "plan_program": "รักษาความสงบภายใน", "months": [10, 11]},
            {**PROJECT, "name": "โครงการอบรมอาสาสมัครป้องกันภัยฝ่ายพลเรือนประจำปีงบประมาณ", "budget": 150000,
             "responsible_unit": "สำนักปลัด", "strategy": "การพัฒนาด้านคุณภาพชีวิตและความปลอดภัยในชีวิตและทรัพย์สิน",
             "plan_program": "รักษาความสงบภายใน", "months": [12, 1]},
            {**PROJECT, "name": "โครงการซ่อมแซมถนนลูกรัง หมู่ที่ 7", "budget": 90000, "months": [10]}]

CSV = "เลขที่โครงการ,สถานะ,เหตุที่ยกเลิกหรือไม่ได้ดำเนินการ\r\n1.2.2,ยกเลิก,รวมกับโครงการปรับปรุงถนนของ อบจ.\r\n"


def announced(client, org, projects) -> int:
    """A plan of ``projects`` whose announcement is recorded: its projects are tracked."""
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    run.complete(plan_id, "collect_projects", {"projects": projects})
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
                 "announce_plan"):
        run.complete(plan_id, name)
    return plan_id


def unit_official(ctx, org, clock) -> None:
    """somchai, an official of กองช่าง, on 15 Feb 2564 (the fiscal year's fifth month)."""
    clock.set(bangkok(2021, 2, 15, 10, 0))
    admin.add_user(ctx, "somchai", org.code, ["unit"], PASSWORD, "นายสมชาย ช่างดี")
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")


@pytest.fixture
def server(ctx, client, org, clock):
    plan_id = announced(client, org, PROJECTS)
    unit_official(ctx, org, clock)
    with serving(ctx) as base:
        yield base, plan_id


def widths_and_violations(page, shots, name):
    found = serious(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    return found, width


def test_a_unit_official_records_progress_and_sees_it_on_the_page_and_the_charts(browser, server, shots):
    base, plan_id = server
    expect = playwright_api.expect
    found, widths = {}, {}
    for device, viewport in (("phone", {"width": 360, "height": 740}), ("desktop", {"width": 1280, "height": 900})):
        context = browser.new_context(viewport=viewport, locale="th-TH")
        page = context.new_page()
        log_in(page, base, "somchai")
        page.goto(f"{base}/plans/{plan_id}/progress")
        main = page.locator("main")
        expect(page.get_by_role("heading", level=1)).to_contain_text("ปีงบประมาณ พ.ศ. 2564")
        expect(main).to_contain_text("4 โครงการ งบประมาณ 3,220,000.50 บาท")
        expect(main).to_contain_text("เลยกำหนดเริ่ม 3 โครงการ")  # Oct–Nov, Oct and Dec–Jan are over
        found[f"page-{device}"], widths[f"page-{device}"] = widths_and_violations(page, shots, f"progress-{device}")
        if device == "desktop":  # the desktop imports a file: its preview, then the page as it recorded it
            page.get_by_text("บันทึกผลหลายโครงการจากไฟล์ Excel หรือ CSV").click()
            page.locator("input[type=file]").set_input_files(files=[{
                "name": "ผล.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8")}])
            page.get_by_role("button", name="ตรวจสอบไฟล์").click()
            expect(page.get_by_role("status")).to_contain_text("เปลี่ยนแปลง 1 โครงการ")
            found["import-desktop"], _ = widths_and_violations(page, shots, "progress-import-desktop")
            page.get_by_role("button", name="บันทึกผลการดำเนินงาน 1 โครงการ").click()
            expect(page.locator("tr", has_text="โครงการซ่อมแซมถนนลูกรัง").first).to_contain_text("ยกเลิก")
            break
        status_chart = page.get_by_role("img", name="จำนวนโครงการตามสถานะ")
        assert "อยู่ระหว่างดำเนินการ" in status_chart.inner_html()
        before = status_chart.inner_html()

        # only its own unit's projects have the button; its road project's form
        road = page.locator("tr", has_text=PROJECT["name"]).first
        assert page.get_by_role("link", name="บันทึกผล").count() == 2
        road.get_by_role("link", name="บันทึกผล").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("บันทึกผลการดำเนินงาน")
        found["form-phone"], widths["form-phone"] = widths_and_violations(page, shots, "progress-edit-phone")
        page.get_by_label("อยู่ระหว่างดำเนินการ").check()
        started = page.locator("fieldset", has_text="วันที่เริ่มดำเนินการ")
        started.get_by_label("วันที่", exact=True).select_option("11")
        started.get_by_label("เดือน", exact=True).select_option("1")
        started.get_by_label("ปี พ.ศ.").fill("2564")
        worked = page.locator("fieldset", has_text="เดือนที่ดำเนินการจริง")
        worked.get_by_label("ม.ค.").check()
        worked.get_by_label("ก.พ.").check()
        page.get_by_label("วงเงินตามสัญญา/ก่อหนี้ผูกพัน (บาท)").fill("475,000")
        page.get_by_label("เบิกจ่ายแล้ว (บาท)").fill("200,000.25")
        page.get_by_role("button", name="บันทึกผลการดำเนินงาน").click()

        expect(page.get_by_role("status").or_(page.locator(".flash")).first).to_contain_text(
            "บันทึกผลการดำเนินงานโครงการลำดับที่ 1.2.1 เรียบร้อยแล้ว")
        road = page.locator("tr", has_text=PROJECT["name"]).first
        expect(road).to_contain_text("อยู่ระหว่างดำเนินการ")
        expect(road).to_contain_text("200,000.25")
        bars = road.locator("svg.months")
        assert bars.get_attribute("aria-label") == ("ตามแผน: ม.ค. 2564, ก.พ. 2564, มี.ค. 2564 · "
                                                    "ดำเนินการจริง: ม.ค. 2564, ก.พ. 2564")
        assert bars.locator("rect.worked").get_attribute("width") == "23"  # two months of 12 px, 1 px apart
        assert bars.locator("rect.planned").get_attribute("width") == "35"
        expect(page.locator("main")).to_contain_text("เบิกจ่ายแล้ว 200,000.25 บาท")
        expect(page.locator("main")).to_contain_text("เลยกำหนดเริ่ม 3 โครงการ")  # the road was not overdue
        assert page.get_by_role("img", name="จำนวนโครงการตามสถานะ").inner_html() != before  # the bars moved
        money = page.get_by_role("img", name="งบประมาณและการเบิกจ่ายแยกตามยุทธศาสตร์").inner_html()
        assert "200,000.25" in money
        found["after-phone"], widths["after-phone"] = widths_and_violations(page, shots, "progress-after-phone")

        # the filters: the overdue ones, and the unit's own
        page.locator("select[name=status]").select_option(label="เลยกำหนดเริ่ม")
        page.get_by_role("button", name="แสดง").click()
        expect(page.locator("main")).to_contain_text("3 โครงการ · ระยะเวลา")
        assert page.locator("table.progress tbody tr").count() == 3  # not the charts' tables of figures
        context.close()
    assert not any(found.values()), found
    assert all(width <= 360 for name, width in widths.items() if name.endswith("phone")), widths
