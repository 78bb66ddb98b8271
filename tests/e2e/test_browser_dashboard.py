"""The plan's dashboard in a real browser (drawn by the server, no script of its own): a unit
official opens it from the progress page, sees their own unit's figures, switches to the whole plan,
and every chart is there with its title and its figures as a table; at a phone's and a desktop's
width, checked with axe-core (no serious or critical violation) and never scrolling sideways on a
phone. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import pytest

from ..conftest import bangkok
from .browser import log_in, needs_chromium, playwright_api, serving
from .test_browser_progress import PROJECTS, announced, unit_official, widths_and_violations

pytestmark = needs_chromium

TITLES = ["งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามยุทธศาสตร์",
          "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามแผนงาน", "จำนวนโครงการตามสถานะ",
          "จำนวนโครงการตามแผนและที่ดำเนินการจริง รายเดือน", "การเบิกจ่ายสะสมรายเดือน เทียบกับงบประมาณ"]


@pytest.fixture
def server(ctx, client, org, clock):
    plan_id = announced(client, org, PROJECTS)
    office = org.headers("planning_office")
    for moment, number, body in (
        (bangkok(2020, 11, 20, 10), "1.1.1", {"status": "in_progress", "started_on": "2020-10-05",
                                              "months_worked": [10, 11], "contracted": 2400000, "disbursed": 1000000}),
        (bangkok(2021, 2, 10, 10), "1.2.1", {"status": "in_progress", "started_on": "2021-01-11",
                                             "months_worked": [1, 2], "contracted": 475000, "disbursed": 200000.25})):
        clock.set(moment)
        assert client.put(f"/api/v1/plans/{plan_id}/progress/{number}", headers=office, json=body).status_code == 200
    unit_official(ctx, org, clock)
    with serving(ctx) as base:
        yield base, plan_id


def test_a_unit_official_reads_the_dashboard_on_a_phone_and_a_desktop(browser, server, shots):
    base, plan_id = server
    expect = playwright_api.expect
    found, widths = {}, {}
    for device, viewport in (("phone", {"width": 360, "height": 740}), ("desktop", {"width": 1280, "height": 900})):
        context = browser.new_context(viewport=viewport, locale="th-TH")  # axe runs as a script
        page = context.new_page()
        log_in(page, base, "somchai")
        page.goto(f"{base}/plans/{plan_id}/progress")
        page.get_by_role("link", name="แผงสรุปผลการดำเนินงาน").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("แผงสรุปผลการดำเนินงาน ปีงบประมาณ พ.ศ. 2564")
        main = page.locator("main")
        # their own unit by default: the road (480,000) and the gravel road (90,000), the latter overdue
        expect(main).to_contain_text("โครงการของกองช่าง")
        expect(main).to_contain_text("570,000.00 บาท")
        expect(main).to_contain_text("200,000.25 บาท (35.09%)")
        for title in TITLES:
            expect(page.get_by_role("img", name=title)).to_be_visible()
        found[f"unit-{device}"], widths[f"unit-{device}"] = widths_and_violations(page, shots, f"dashboard-{device}")

        page.locator("select[name=unit]").select_option(label="ทุกหน่วยงาน")
        page.get_by_role("button", name="แสดง").click()
        expect(main).to_contain_text("3,220,000.50 บาท")
        status = page.get_by_role("img", name="จำนวนโครงการตามสถานะ")
        assert "อยู่ระหว่างดำเนินการ 2 โครงการ" in status.inner_html()
        months = page.locator("figure", has=page.get_by_role("img", name=TITLES[3]))
        months.get_by_text("ตัวเลขของแผนภูมิ").click()
        october = months.locator("tr", has_text="ต.ค. 63").locator("td")
        expect(october).to_have_text(["2", "1"])  # planned: the truck and the gravel road; worked: the truck
        cumulative = page.locator("figure", has=page.get_by_role("img", name=TITLES[4]))
        cumulative.get_by_text("ตัวเลขของแผนภูมิ").click()
        expect(cumulative.locator("tr", has_text="ก.พ. 64")).to_contain_text("1,200,000.25")
        expect(cumulative.locator("tr", has_text="มี.ค. 64")).to_contain_text("—")  # not begun yet
        found[f"all-{device}"], widths[f"all-{device}"] = widths_and_violations(page, shots,
                                                                               f"dashboard-all-{device}")
        context.close()
    assert not any(found.values()), found
    assert all(width <= 360 for name, width in widths.items() if name.endswith("phone")), widths
