"""The plan's dashboard (issue 15): its figures, through the API and on the page, checked against
numbers worked out by hand from the progress these tests record (never from the code); the plan
with nothing recorded yet, the plan not announced (409), the unit filter and its default for a
unit's official, who may see it; and the charts as well-formed SVG with their titles, in the page
and in the reports' PDFs."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from service.commands import admin, progress

from ..conftest import bangkok
from .procedure import PROJECT, Procedure
from .web import PASSWORD, log_in

ROAD = PROJECT  # 1.2.1 กองช่าง, โครงสร้างพื้นฐาน, อุตสาหกรรมและการโยธา, 480,000 บาท, ม.ค.–มี.ค.
WATER_TRUCK = {**PROJECT, "name": "โครงการจัดซื้อรถบรรทุกน้ำ", "budget": 2500000.5, "responsible_unit": "สำนักปลัด",
               "plan_program": "รักษาความสงบภายใน", "months": [10, 11]}  # 1.1.1
TRAINING = {**PROJECT, "name": "โครงการอบรมอาสาสมัครป้องกันภัยฝ่ายพลเรือน", "budget": 150000,
            "responsible_unit": "สำนักปลัด", "strategy": "การพัฒนาด้านคุณภาพชีวิต",
            "plan_program": "รักษาความสงบภายใน", "months": [12, 1]}  # 2.1.1
GRAVEL = {**PROJECT, "name": "โครงการซ่อมแซมถนนลูกรัง หมู่ที่ 7", "budget": 90000, "months": [10]}  # 1.2.2
STEPS = ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan")


@pytest.fixture
def plan(ctx, client, org, clock):
    """A plan of FY 2564 with four projects, approved but not announced yet."""
    run = Procedure(client, org)
    plan_id = run.start(fiscal_year=2564)["id"]
    run.complete(plan_id, "collect_projects", {"projects": [ROAD, WATER_TRUCK, TRAINING, GRAVEL]})
    for name in STEPS:
        run.complete(plan_id, name)
    return run, plan_id


@pytest.fixture
def recorded(ctx, client, org, clock, plan):
    """The plan announced, and a year's progress recorded until 10 March 2021 (March 2564)."""
    run, plan_id = plan
    run.complete(plan_id, "announce_plan")
    office = org.headers("planning_office")
    for moment, number, body in (
        (bangkok(2020, 11, 20, 10), "1.1.1", {"status": "in_progress", "started_on": "2020-10-05",
                                              "months_worked": [10, 11], "contracted": 2400000,
                                              "disbursed": 1000000}),
        (bangkok(2021, 1, 15, 10), "1.1.1", {"status": "done", "started_on": "2020-10-05",
                                             "finished_on": "2020-12-20", "months_worked": [10, 11, 12],
                                             "contracted": 2400000, "disbursed": 2400000}),
        (bangkok(2021, 2, 15, 10), "1.2.1", {"status": "in_progress", "started_on": "2021-01-11",
                                             "months_worked": [1, 2], "contracted": 475000,
                                             "disbursed": 200000.25}),
        (bangkok(2021, 2, 15, 11), "2.1.1", {"status": "cancelled", "reason": "รวมกับโครงการของจังหวัด"}),
    ):
        clock.set(moment)
        response = client.put(f"/api/v1/plans/{plan_id}/progress/{number}", headers=office, json=body)
        assert response.status_code == 200, response.get_json()
    clock.set(bangkok(2021, 3, 10, 9))
    return plan_id


def figures(client, headers, plan_id, **args):
    response = client.get(f"/api/v1/plans/{plan_id}/dashboard", headers=headers, query_string=args)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


MONTHS = ["ต.ค. 63", "พ.ย. 63", "ธ.ค. 63", "ม.ค. 64", "ก.พ. 64", "มี.ค. 64", "เม.ย. 64", "พ.ค. 64", "มิ.ย. 64",
          "ก.ค. 64", "ส.ค. 64", "ก.ย. 64"]


def test_the_figures_are_those_of_the_recorded_progress(client, org, recorded):
    found = figures(client, org.headers("executive"), recorded)
    assert found["unit"] == "" and found["units"] == ["กองช่าง", "สำนักปลัด"]
    # budget 480,000 + 2,500,000.50 + 150,000 + 90,000; contracted 2,400,000 + 475,000; disbursed the
    # water truck's last 2,400,000 and the road's 200,000.25
    assert found["totals"] == {"projects": 4, "budget": 3220000.5, "contracted": 2875000, "disbursed": 2600000.25,
                               "contracted_percent": round(2875000 * 100 / 3220000.5, 2),
                               "disbursed_percent": round(2600000.25 * 100 / 3220000.5, 2),
                               "overdue": 1}  # the gravel road, planned for October, not started
    assert [(s["name"], s["projects"], s["budget"], s["contracted"], s["disbursed"]) for s in found["by_strategy"]] == [
        ("การพัฒนาด้านโครงสร้างพื้นฐาน", 3, 3070000.5, 2875000, 2600000.25),
        ("การพัฒนาด้านคุณภาพชีวิต", 1, 150000, 0, 0)]
    assert [(p["name"], p["projects"], p["budget"], p["contracted"], p["disbursed"], p["disbursed_percent"])
            for p in found["by_program"]] == [
        ("รักษาความสงบภายใน", 2, 2650000.5, 2400000, 2400000, round(2400000 * 100 / 2650000.5, 2)),
        ("อุตสาหกรรมและการโยธา", 2, 570000, 475000, 200000.25, round(200000.25 * 100 / 570000, 2))]
    assert [(s["status"], s["count"]) for s in found["by_status"]] == [
        ("not_started", 1), ("in_progress", 1), ("done", 1), ("cancelled", 1)]
    assert [s["title"] for s in found["by_status"]][2] == "ดำเนินการแล้วเสร็จ"
    months = found["months"]
    assert [m["label"] for m in months] == MONTHS
    # planned: the truck Oct–Nov, the gravel road Oct, the training Dec–Jan, the road Jan–Mar
    assert [m["planned"] for m in months] == [2, 1, 1, 2, 1, 1, 0, 0, 0, 0, 0, 0]
    # worked: the truck Oct–Dec, the road Jan–Feb
    assert [m["worked"] for m in months] == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    # by each month's end, the amounts last recorded (20 Nov, 15 Jan, 15 Feb); none after March yet
    assert [m["disbursed"] for m in months] == [0, 1000000, 1000000, 2400000, 2600000.25, 2600000.25,
                                                None, None, None, None, None, None]


def test_the_unit_filter_and_a_units_own_by_default(ctx, client, org, recorded):
    mine = figures(client, org.headers("executive"), recorded, unit="กองช่าง")
    assert mine["unit"] == "กองช่าง"
    assert (mine["totals"]["projects"], mine["totals"]["budget"], mine["totals"]["disbursed"]) == (2, 570000, 200000.25)
    assert mine["totals"]["overdue"] == 1
    assert [m["planned"] for m in mine["months"]][:6] == [1, 0, 0, 1, 1, 1]
    assert [m["disbursed"] for m in mine["months"]][:6] == [0, 0, 0, 0, 200000.25, 200000.25]
    assert [s["name"] for s in mine["by_strategy"]] == ["การพัฒนาด้านโครงสร้างพื้นฐาน"]

    token = admin.add_user(ctx, f"{org.code}-engineer", org.code, ["unit"], with_token=True)
    progress.assign_unit(ctx, f"{org.code}-engineer", org.code, "กองช่าง")
    engineer = {"Authorization": f"Bearer {token}"}
    own = figures(client, engineer, recorded)
    assert own["mine"] == ["กองช่าง"] and own == {**mine, "mine": ["กองช่าง"]}  # their own unit unless they ask
    assert figures(client, engineer, recorded, unit="")["totals"]["projects"] == 4  # the whole plan when asked

    unknown = client.get(f"/api/v1/plans/{recorded}/dashboard", headers=engineer, query_string={"unit": "กองเกษตร"})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "unit" and "กองเกษตร" in unknown.get_json()["detail"]


def test_a_plan_with_nothing_recorded_yet(client, org, plan):
    run, plan_id = plan
    run.complete(plan_id, "announce_plan")  # on 21 September 2020: the fiscal year has not begun
    found = figures(client, org.headers("auditor"), plan_id)
    assert found["totals"] == {"projects": 4, "budget": 3220000.5, "contracted": 0, "disbursed": 0,
                               "contracted_percent": 0, "disbursed_percent": 0, "overdue": 0}
    assert [(s["status"], s["count"]) for s in found["by_status"]] == [
        ("not_started", 4), ("in_progress", 0), ("done", 0), ("cancelled", 0)]
    assert [m["worked"] for m in found["months"]] == [0] * 12
    assert [m["disbursed"] for m in found["months"]] == [0] + [None] * 11  # October counts from its first day


def test_a_plan_not_announced_is_refused_and_another_organizations_is_hidden(client, org, other_org, plan):
    _, plan_id = plan
    refused = client.get(f"/api/v1/plans/{plan_id}/dashboard", headers=org.headers("executive"))
    assert refused.status_code == 409 and "ยังไม่ได้ประกาศใช้" in refused.get_json()["detail"]
    hidden = client.get(f"/api/v1/plans/{plan_id}/dashboard", headers=other_org.headers("executive"))
    missing = client.get("/api/v1/plans/2000000000/dashboard", headers=other_org.headers("executive"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["detail"] == missing.get_json()["detail"]
    assert client.get(f"/api/v1/plans/{plan_id}/dashboard").status_code == 401


def svgs(html):
    return re.findall(r"<svg .*?</svg>", html, re.S)


def test_the_page_draws_the_charts_with_their_titles_and_tables(ctx, client, org, other_org, recorded):
    admin.add_user(ctx, "somchai", org.code, ["unit"], PASSWORD, "นายสมชาย ช่างดี")
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")
    log_in(client, "somchai")
    page = client.get(f"/plans/{recorded}/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<option selected>กองช่าง</option>" in html  # their own unit by default
    drawn = svgs(html)
    titles = [ElementTree.fromstring(svg).find("{http://www.w3.org/2000/svg}title").text for svg in drawn]
    assert titles == ["งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามยุทธศาสตร์",
                      "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามแผนงาน", "จำนวนโครงการตามสถานะ",
                      "จำนวนโครงการตามแผนและที่ดำเนินการจริง รายเดือน", "การเบิกจ่ายสะสมรายเดือน เทียบกับงบประมาณ"]
    assert all('role="img"' in svg and "<desc " in svg for svg in drawn)
    assert html.count('<table class="chart-figures">') == 5 and "200,000.25" in html and "ก.พ. 64" in html
    assert "<script" not in html.split("<main", 1)[-1].split("</main>")[0]

    whole = client.get(f"/plans/{recorded}/dashboard?unit=").get_data(as_text=True)
    assert "3,220,000.50 บาท" in whole and "การพัฒนาด้านคุณภาพชีวิต" in whole
    assert client.get(f"/plans/{recorded}/dashboard?unit=กองเกษตร").status_code == 422

    stranger = client.application.test_client()
    admin.add_user(ctx, "stranger", other_org.code, ["executive"], PASSWORD, "คนนอก")
    log_in(stranger, "stranger")
    assert stranger.get(f"/plans/{recorded}/dashboard").status_code == 404


def test_a_plan_not_announced_has_no_dashboard_page(ctx, client, org, plan):
    _, plan_id = plan
    admin.add_user(ctx, "boss", org.code, ["executive"], PASSWORD, "ผู้บริหาร")
    log_in(client, "boss")
    page = client.get(f"/plans/{plan_id}/dashboard")
    assert page.status_code == 409 and "ยังไม่ได้ประกาศใช้" in page.get_data(as_text=True)
    assert "แผงสรุปผลการดำเนินงาน" not in client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
