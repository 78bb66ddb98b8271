"""Starting a plan from the pages, and the plan page's diagram with the open steps marked."""

from __future__ import annotations

import html
import re

import pytest

from .procedure import Procedure
from .web import add_person, errors_beside, log_in, post_form


@pytest.fixture
def people(ctx, org, other_org):
    add_person(ctx, "support1", org.code, ["support_committee"], "สมศรี หนึ่ง")
    add_person(ctx, "planner", org.code, ["planning_office"])
    add_person(ctx, "devcom", org.code, ["development_committee"])
    add_person(ctx, "stranger", other_org.code, ["support_committee"])


def as_user(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def start_form(year="2564", day="20", month="9", be_year="2563"):
    return {"fiscal_year": year, "/budget_announced_on#d": day, "/budget_announced_on#m": month,
            "/budget_announced_on#y": be_year}


def test_a_starter_role_starts_a_plan_for_its_own_organization(app, client, org, people):
    planner = as_user(app, "planner")
    inbox = html.unescape(planner.get("/").get_data(as_text=True))
    assert "เริ่มจัดทำแผนใหม่" in inbox
    page = html.unescape(planner.get("/plans/new").get_data(as_text=True))
    assert "เทศบาลตำบลกระดังงา" in page and "องค์การบริหารส่วนตำบลบางคนที" not in page
    assert 'name="/budget_announced_on#y"' in page and 'name="fiscal_year" value="2564"' in page  # 21 Sep 2563

    response = post_form(planner, "/plans/new", start_form(year="๒๕๖๔"))
    assert response.status_code == 302
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    plan = Procedure(client, org).plan(plan_id)
    assert plan["fiscal_year"] == 2564 and plan["organization"]["code"] == org.code
    assert [t["name"] for t in plan["tasks"]] == ["collect_projects"]
    assert "เริ่มการจัดทำแผนการดำเนินงาน ปีงบประมาณ พ.ศ. 2564 แล้ว" in planner.get(f"/plans/{plan_id}").get_data(as_text=True)

    again = post_form(planner, "/plans/new", start_form())
    assert again.status_code == 422
    assert "มีแผนปีงบประมาณ พ.ศ. 2564 อยู่แล้ว" in errors_beside(again.get_data(as_text=True))["fiscal_year"]


def test_errors_show_beside_the_fields_and_keep_what_was_typed(app, people):
    planner = as_user(app, "planner")
    response = post_form(planner, "/plans/new", start_form(year="2020", day="31", month="2"))
    page = response.get_data(as_text=True)
    errors = errors_beside(page)
    assert response.status_code == 422
    assert "ไม่มีวันที่นี้ในปฏิทิน" in errors["f-budget_announced_on"]
    assert 'value="2020"' in page
    response = post_form(planner, "/plans/new", {"fiscal_year": "สองห้าหกสี่"})
    errors = errors_beside(response.get_data(as_text=True))
    assert "ปี พ.ศ." in errors["fiscal_year"] and "กรุณากรอก" in errors["f-budget_announced_on"]
    response = post_form(planner, "/plans/new", start_form(year="1999"))
    assert "ระหว่าง 2500 ถึง 2700" in errors_beside(response.get_data(as_text=True))["fiscal_year"]


def test_roles_that_do_not_start_plans_see_no_link_and_get_403(app, people):
    devcom = as_user(app, "devcom")
    assert "เริ่มจัดทำแผนใหม่" not in devcom.get("/").get_data(as_text=True)
    assert devcom.get("/plans/new").status_code == 403
    assert post_form(devcom, "/plans/new", start_form(), page="/").status_code == 403


def test_the_plan_page_draws_the_diagram_with_open_steps_marked(app, client, org, people):
    plan = Procedure(client, org).start()
    Procedure(client, org).complete(plan["id"], "collect_projects")
    page = html.unescape(as_user(app, "support1").get(f"/plans/{plan['id']}").get_data(as_text=True))
    assert "แผนภาพขั้นตอน" in page and "<svg" in page
    current = re.findall(r'class="dlabel dlabel-task current"[^>]*>\s*<span>([^<]+)<', page)
    done = re.findall(r'class="dlabel dlabel-task done"[^>]*>\s*<span>([^<]+)<', page)
    assert current == ["จัดทำร่างแผนการดำเนินงาน"] and done == ["รวบรวมโครงการ/กิจกรรม"]
    assert "คณะกรรมการพัฒนาท้องถิ่น" in page  # a lane
