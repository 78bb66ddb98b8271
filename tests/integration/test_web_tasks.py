"""The inbox, task and plan pages: who sees what, claims, the form's errors, completing a step."""

from __future__ import annotations

import re

import pytest

from .procedure import SAMPLES, Procedure
from .web import add_person, errors_beside, log_in, post_form


@pytest.fixture
def people(ctx, org, other_org):
    add_person(ctx, "support1", org.code, ["support_committee"], "สมศรี หนึ่ง")
    add_person(ctx, "support2", org.code, ["support_committee"], "สมหมาย สอง")
    add_person(ctx, "devcom", org.code, ["development_committee"])
    add_person(ctx, "boss", org.code, ["admin"], "ผู้ดูแลระบบ")
    add_person(ctx, "stranger", other_org.code, ["support_committee"])


@pytest.fixture
def plan(client, org, people):
    return Procedure(client, org).start()


def as_user(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def task_ids(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="/tasks/([0-9a-f-]{36})"', html)))


def collect_form(rows):
    """The collecting step's form as a browser submits it."""
    data = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            if key == "months":
                data[f"/projects/{i}/months"] = [str(m) for m in value]
            elif key == "is_equipment":
                if value:
                    data[f"/projects/{i}/is_equipment"] = "true"
            else:
                data[f"/projects/{i}/{key}"] = f"{value:,.2f}" if key == "budget" else value
    return data


def test_inbox_shows_the_step_in_thai_with_due_date_basis_and_lane(app, plan):
    page = as_user(app, "support1").get("/").get_data(as_text=True)
    assert "รวบรวมโครงการ/กิจกรรม" in page and "ปีงบประมาณ พ.ศ. 2564" in page
    assert "20 ต.ค. 2563" in page and "ข้อ 27" in page  # 30 days from 20 Sep 2020
    assert "คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น" in page
    assert "เกินกำหนด" not in page
    assert task_ids(page) == [plan["tasks"][0]["id"]]


def test_overdue_tasks_carry_a_badge(app, plan, clock):
    from ..conftest import bangkok

    clock.set(bangkok(2020, 10, 21, 9, 0))
    assert "badge-late" in as_user(app, "support1").get("/").get_data(as_text=True)


def test_inbox_shows_neither_another_role_nor_another_organization(app, client, other_org, plan):
    Procedure(client, other_org).start()
    assert task_ids(as_user(app, "devcom").get("/").get_data(as_text=True)) == []
    stranger = as_user(app, "stranger")
    theirs = task_ids(stranger.get("/").get_data(as_text=True))
    assert len(theirs) == 1 and theirs[0] != plan["tasks"][0]["id"]


def test_posting_to_another_roles_or_organizations_task_is_forbidden(app, plan):
    task = f"/tasks/{plan['tasks'][0]['id']}"
    devcom = as_user(app, "devcom")
    assert devcom.get(task).status_code == 200  # the same organization may read it
    response = post_form(devcom, task, collect_form(SAMPLES["collect_projects"]["projects"]))
    assert response.status_code == 403 and "ไม่มีสิทธิ์" in response.get_data(as_text=True)
    assert post_form(devcom, f"{task}/claim", {}, page="/").status_code == 403
    stranger = as_user(app, "stranger")
    assert stranger.get(task).status_code == 404
    assert post_form(stranger, task, {}, page="/").status_code == 404
    assert post_form(stranger, f"{task}/claim", {}, page="/").status_code == 302  # NotFound: back to the inbox
    assert "ไม่พบ" not in as_user(app, "support1").get(task).get_data(as_text=True)


def test_a_claimed_task_is_completed_only_by_its_holder(app, plan):
    task = f"/tasks/{plan['tasks'][0]['id']}"
    one, two = as_user(app, "support1"), as_user(app, "support2")
    assert post_form(one, f"{task}/claim", {}).status_code == 302
    assert "สมศรี หนึ่ง" in two.get("/").get_data(as_text=True)
    refused = post_form(two, task, collect_form(SAMPLES["collect_projects"]["projects"]))
    assert refused.status_code == 403 and "support1" in refused.get_data(as_text=True)
    post_form(two, f"{task}/claim", {})
    assert "รับไปดำเนินการแล้ว" in two.get(task).get_data(as_text=True)  # the flash message
    post_form(two, f"{task}/release", {})  # only the holder or an admin may release
    assert "สมศรี หนึ่ง" in two.get("/").get_data(as_text=True)
    post_form(one, f"{task}/release", {})
    assert post_form(two, task, collect_form(SAMPLES["collect_projects"]["projects"])).status_code == 302


def test_an_admin_reassigns_and_the_history_says_so(app, plan):
    task_id = plan["tasks"][0]["id"]
    boss, one = as_user(app, "boss"), as_user(app, "support1")
    post_form(one, f"/tasks/{task_id}/claim", {})
    plan_page = boss.get(f"/plans/{plan['id']}").get_data(as_text=True)
    assert "มอบหมาย" in plan_page
    post_form(boss, f"/tasks/{task_id}/reassign", {"username": "devcom"}, page=f"/plans/{plan['id']}")
    assert "ไม่ได้อยู่ในบทบาท" in boss.get(f"/plans/{plan['id']}").get_data(as_text=True)
    post_form(boss, f"/tasks/{task_id}/reassign", {"username": "support2"}, page=f"/plans/{plan['id']}")
    assert post_form(one, f"/tasks/{task_id}/reassign", {"username": "support1"}).status_code == 403
    history = boss.get(f"/plans/{plan['id']}").get_data(as_text=True)
    assert "รับงาน: รวบรวมโครงการ/กิจกรรม" in history and "มอบหมายงาน: รวบรวมโครงการ/กิจกรรม" in history
    assert "สมหมาย สอง" in history


def test_claim_and_release_through_the_api(client, org, plan):
    task_id = plan["tasks"][0]["id"]
    url = f"/api/v1/tasks/{task_id}"
    response = client.post(f"{url}/claim", headers=org.headers("support_committee"))
    assert response.status_code == 200 and response.get_json()["claimed_by"] == "kradangnga-support_committee"
    assert client.post(f"{url}/claim", headers=org.headers("development_committee")).status_code == 403
    assert client.post(f"{url}/release", headers=org.headers("auditor")).status_code == 403
    assert client.post(f"{url}/release", headers=org.headers("admin")).get_json()["claimed_by"] is None
    assert client.post(f"{url}/claim").status_code == 401


def test_form_errors_show_beside_each_field_and_keep_what_was_typed(app, plan):
    task = f"/tasks/{plan['tasks'][0]['id']}"
    one = as_user(app, "support1")
    row = {**SAMPLES["collect_projects"]["projects"][1], "budget": 0}
    data = collect_form([row])
    data["/projects/0/budget"] = "สองล้าน"
    del data["/projects/0/agency"]
    del data["/projects/0/place"]
    response = post_form(one, task, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = errors_beside(page)
    assert "ต้องเป็นตัวเลข" in errors["f-projects-0-budget"]
    assert errors["f-projects-0-place"] == "กรุณากรอกสถานที่ดำเนินการ"
    assert "f-projects-0-agency" in errors  # required when the project is another agency's (if/then)
    assert 'value="สองล้าน"' in page and 'value="โครงการจัดซื้อรถบรรทุกน้ำ"' in page
    assert re.search(r'value="10"\s+checked', page) and re.search(r'<option value="central" selected', page)


def test_rows_are_added_removed_and_moved_without_javascript(app, plan):
    task = f"/tasks/{plan['tasks'][0]['id']}"
    one = as_user(app, "support1")
    first, second = SAMPLES["collect_projects"]["projects"]
    data = collect_form([first, second])
    page = post_form(one, task, {**data, "_row": "up /projects/1"}).get_data(as_text=True)
    assert page.index("โครงการจัดซื้อรถบรรทุกน้ำ") < page.index("โครงการก่อสร้างถนน")
    assert "(2 รายการ)" in post_form(one, task, {**data, "_row": "remove /projects/5"}).get_data(as_text=True)
    assert "(3 รายการ)" in post_form(one, task, {**data, "_row": "add /projects"}).get_data(as_text=True)
    assert "(1 รายการ)" in post_form(one, task, {**data, "_row": "remove /projects/0"}).get_data(as_text=True)


def test_completing_steps_through_the_pages_moves_the_plan_on(app, plan, client, org):
    one = as_user(app, "support1")
    task = f"/tasks/{plan['tasks'][0]['id']}"
    response = post_form(one, task, collect_form(SAMPLES["collect_projects"]["projects"]))
    assert response.status_code == 302 and response.headers["Location"] == f"/plans/{plan['id']}"
    page = one.get(response.headers["Location"]).get_data(as_text=True)
    assert "บันทึก “รวบรวมโครงการ/กิจกรรม” เรียบร้อยแล้ว" in page and "จัดทำร่างแผนการดำเนินงาน" in page
    stored = client.get(f"/api/v1/plans/{plan['id']}/history", headers=org.headers("auditor")).get_json()
    assert stored["events"][-1]["data"] == SAMPLES["collect_projects"]  # exactly what the API would store

    draft = task_ids(one.get("/").get_data(as_text=True))[0]
    bad = post_form(one, f"/tasks/{draft}", {"/draft_prepared_on#d": "31", "/draft_prepared_on#m": "2",
                                             "/draft_prepared_on#y": "2563"})
    assert bad.status_code == 422
    assert "ไม่มีวันที่นี้ในปฏิทิน" in errors_beside(bad.get_data(as_text=True))["f-draft_prepared_on"]
    # the draft carries the project list, as the browser sends it back prefilled
    good = post_form(one, f"/tasks/{draft}", {"/draft_prepared_on#d": "21", "/draft_prepared_on#m": "9",
                                              "/draft_prepared_on#y": "2563", "/draft_notes": "ร่างแรก",
                                              **collect_form(SAMPLES["collect_projects"]["projects"])})
    assert good.status_code == 302, errors_beside(good.get_data(as_text=True))
    history = client.get(f"/api/v1/plans/{plan['id']}/history", headers=org.headers("auditor")).get_json()
    assert history["events"][-1]["data"] == {"draft_prepared_on": "2020-09-21", "draft_notes": "ร่างแรก",
                                             **SAMPLES["collect_projects"]}

    again = one.get(f"/tasks/{draft}")  # completed meanwhile: who did it, then the inbox
    assert again.status_code == 302
    assert "สมศรี หนึ่ง บันทึกเสร็จไปแล้ว" in one.get("/").get_data(as_text=True)
