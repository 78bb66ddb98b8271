"""The auditor's pages: plans of the audited organizations with a verification badge, a plan's
history step by step on its diagram, verification explained in Thai, downloads, and who may see."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from service import audit, queries
from service.commands import admin, administration
from service.models import Event

from .procedure import Procedure
from .test_audit import at_seq, eventful_plan, tamper
from .web import add_person, log_in, post_form


@pytest.fixture
def auditor(ctx, client, org):
    add_person(ctx, "inspector", org.code, ["auditor"], "นางตรวจ สอบดี")
    log_in(client, "inspector")
    return "inspector"


def started_plan(client, org, *done):
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in done:
        run.complete(pid, name)
    return pid


def marks(html: str) -> dict[str, str]:
    """BPMN id -> the classes the diagram gives it."""
    return {bpmn_id: css for bpmn_id, css in re.findall(r'<g data-bpmn-id="([^"]+)"(?: class="([^"]*)")?>', html)}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- The list --------------------------------------------------------------------------
def test_the_auditor_sees_the_plans_of_the_organization_each_verified_with_the_time_in_buddhist_era(
        client, org, auditor):
    pid = started_plan(client, org, "collect_projects")
    page = client.get("/audit/")
    assert page.status_code == 200
    body = text(page.get_data(as_text=True))
    assert "แผนการดำเนินงาน ปีงบประมาณ พ.ศ. 2564" in body
    assert "ประวัติถูกต้องครบถ้วน" in body and "(2 ลำดับ)" in body
    assert "ตรวจสอบเมื่อ 21 ก.ย. 2563 09:00 น." in body  # the test clock, Bangkok time, B.E.
    assert f'href="/audit/plans/{pid}"' in page.get_data(as_text=True)
    assert "/audit/compliance?organization=kradangnga&amp;fiscal_year=2564" in page.get_data(as_text=True)


# --- A plan step by step -----------------------------------------------------------------
def test_each_step_shows_the_path_taken_where_the_plan_stood_the_data_who_and_when(ctx, client, org, auditor):
    pid = started_plan(client, org, "collect_projects", "draft_plan")
    first = client.get(f"/audit/plans/{pid}?step=1").get_data(as_text=True)
    assert marks(first)["collect_projects"] == "current"
    assert marks(first)["start_plan"] == "done" and marks(first)["budget_deadline"] == "waiting"
    assert "draft_plan" in marks(first) and marks(first)["draft_plan"] == ""
    assert "ลำดับที่ <output" in first and 'value="1"' in first
    assert "ปีงบประมาณ" in text(first) and "20 กันยายน พ.ศ. 2563" in text(first)  # start data, dates in B.E.

    second = client.get(f"/audit/plans/{pid}?step=2").get_data(as_text=True)
    assert marks(second)["collect_projects"] == "done acted"
    assert marks(second)["flow_p1"] == "taken"
    assert marks(second)["draft_plan"] == "current"
    body = text(second)
    assert "บันทึกงาน: รวบรวมโครงการ/กิจกรรม" in body
    assert "kradangnga-support_committee (คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น)" in body
    assert "21 ก.ย. 2563 09:00 น." in body
    assert "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3" in body and "480,000.00" in body  # the project table
    assert "ครบ 30 วันนับแต่วันประกาศงบประมาณ (ข้อ 27)" in body  # the timer still waiting
    assert "จัดทำร่างแผนการดำเนินงาน" in body  # the task open at that step

    last = client.get(f"/audit/plans/{pid}").get_data(as_text=True)  # no step: the latest
    assert 'value="3"' in last and marks(last)["draft_plan"] == "done acted"
    assert marks(last)["propose_draft"] == "current"


def test_the_slider_fragment_and_the_links_work_without_javascript(client, org, auditor):
    pid = started_plan(client, org, "collect_projects", "draft_plan")
    page = client.get(f"/audit/plans/{pid}?step=2").get_data(as_text=True)
    assert f'href="/audit/plans/{pid}?step=1#step-view"' in page and 'rel="prev"' in page
    assert f'href="/audit/plans/{pid}?step=3#step-view"' in page and 'rel="next"' in page
    assert '<input type="range" id="step" name="step" min="1" max="3" value="2">' in page
    fragment = client.get(f"/audit/plans/{pid}/steps/3")
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert marks(fragment.get_data(as_text=True))["propose_draft"] == "current"
    assert client.get(f"/audit/plans/{pid}?step=9").status_code == 404
    assert client.get(f"/audit/plans/{pid}/steps/0").status_code == 404


def test_a_send_back_is_shown_as_the_step_open_again(client, org, auditor):
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-25", "review_resolution": "revise",
                                         "review_comments": "เพิ่มโครงการ"})
    page = client.get(f"/audit/plans/{pid}?step=5").get_data(as_text=True)
    shown = marks(page)
    assert shown["draft_plan"] == "current" and shown["consider_draft"] == "done acted"
    assert shown["flow_review_revise"] == "taken" and shown["flow_review_pass"] == ""
    assert "ให้แก้ไขร่าง" in text(page) and "เพิ่มโครงการ" in text(page)


def test_replay_to_gives_the_state_each_event_recorded(ctx, client, org, clock):
    pid = eventful_plan(ctx, client, org, clock)
    steps = (1, 7, 27)  # the last: the second document frozen at the announcement
    replayed = [audit.replay_to(ctx, pid, step) for step in steps]
    for result, step in zip(replayed, steps, strict=True):
        assert result.divergence is None and result.step == step
        assert result.instance.digest() == result.record.events[step - 1].state_digest
    assert replayed[-1].instance.completed


# --- Verification in Thai ----------------------------------------------------------------
def test_a_tampered_event_is_named_in_thai_and_the_replay_stops_before_it(ctx, client, org, auditor):
    pid = started_plan(client, org, "collect_projects", "draft_plan", "propose_draft")
    tamper(ctx, update(Event).where(at_seq(pid, 3)).values(data={"draft_prepared_on": "2020-09-01"}))
    body = text(client.get("/audit/").get_data(as_text=True))
    assert "พบความผิดปกติในประวัติ" in body
    assert "เหตุการณ์ลำดับที่ 3 ถูกแก้ไขหลังบันทึก" in body

    result = client.get(f"/audit/plans/{pid}/verification")
    assert result.status_code == 200
    page = text(result.get_data(as_text=True))
    assert "เหตุการณ์ลำดับที่ 3 ถูกแก้ไขหลังบันทึก" in page
    assert "บันทึกงาน: จัดทำร่างแผนการดำเนินงาน" in page and "event_altered" in page
    assert f"/audit/plans/{pid}?step=3" in result.get_data(as_text=True)

    at_four = client.get(f"/audit/plans/{pid}?step=4").get_data(as_text=True)
    assert "แสดงสถานะได้ถึงลำดับที่ 2 เท่านั้น" in text(at_four)
    assert marks(at_four)["draft_plan"] == "current"  # as it stood after event 2


def test_a_deleted_event_is_named(ctx, client, org, auditor):
    pid = started_plan(client, org, "collect_projects", "draft_plan")
    tamper(ctx, delete(Event).where(at_seq(pid, 2)))
    page = text(client.get(f"/audit/plans/{pid}/verification").get_data(as_text=True))
    assert "เหตุการณ์ลำดับที่ 2 หายไปจากบันทึก (ถูกลบ)" in page


# --- Downloads ---------------------------------------------------------------------------
def test_the_bundle_downloaded_from_the_page_verifies_offline(ctx, client, org, auditor, tmp_path):
    pid = started_plan(client, org, "collect_projects")
    response = client.get(f"/audit/plans/{pid}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="plan-{pid}.json"'
    assert json.loads(response.data)["exported_by"] == "inspector"
    bundle = tmp_path / "plan.json"
    bundle.write_bytes(response.data)
    assert audit.verify_bundle(bundle).ok

    csv = client.get(f"/audit/plans/{pid}/events.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).count("\r\n") == 3  # header and two events


def test_the_compliance_report_as_a_page_and_csv(client, org, auditor):
    started_plan(client, org)
    page = client.get("/audit/compliance?organization=kradangnga&fiscal_year=2564")
    assert page.status_code == 200
    body = text(page.get_data(as_text=True))
    assert "การปฏิบัติตามกำหนดเวลาตามระเบียบ ปีงบประมาณ พ.ศ. 2564" in body
    assert "ครบ 30 วันนับแต่วันประกาศงบประมาณ (ข้อ 27)" in body and "20 ต.ค. 2563" in body
    csv = client.get("/audit/compliance.csv?organization=kradangnga&fiscal_year=2564")
    assert csv.status_code == 200
    assert csv.headers["Content-Disposition"] == 'attachment; filename="compliance-kradangnga-2564.csv"'
    head, first = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[:2]
    assert head.startswith("แผนเลขที่,กำหนดเวลา,ฐานทางกฎหมาย,วันครบกำหนด")  # for people: Thai headings, พ.ศ. dates
    assert "20 ต.ค. 2563" in first and "ยังไม่ถึงกำหนด" in first
    assert client.get("/audit/compliance?organization=kradangnga&fiscal_year=abc").status_code == 422


# --- Who may see -------------------------------------------------------------------------
def test_an_auditor_of_another_organization_gets_404(ctx, client, org, other_org):
    pid = started_plan(client, org)
    add_person(ctx, "outsider", other_org.code, ["auditor"])
    log_in(client, "outsider")
    for path in (f"/audit/plans/{pid}", f"/audit/plans/{pid}/steps/1", f"/audit/plans/{pid}/verification",
                 f"/audit/plans/{pid}/export", f"/audit/plans/{pid}/events.csv",
                 "/audit/compliance?organization=kradangnga&fiscal_year=2564",
                 "/audit/compliance.csv?organization=kradangnga&fiscal_year=2564", "/audit/?organization=kradangnga",
                 "/audit/plans/9999"):
        assert client.get(path).status_code == 404, path
    assert "kradangnga" not in client.get("/audit/").get_data(as_text=True)


def test_officials_without_the_auditor_role_get_403(ctx, client, org):
    pid = started_plan(client, org)
    add_person(ctx, "clerk", org.code, ["support_committee"])
    log_in(client, "clerk")
    for path in ("/audit/", f"/audit/plans/{pid}", f"/audit/plans/{pid}/export",
                 "/audit/compliance?organization=kradangnga&fiscal_year=2564"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "ผู้ตรวจสอบ" in response.get_data(as_text=True)


def test_an_official_who_audits_another_organization_gets_403_on_the_own_one(ctx, client, org, other_org):
    pid = started_plan(client, org)
    add_person(ctx, "crossed", org.code, ["support_committee"])
    admin.grant_role(ctx, "crossed", other_org.code, "auditor")
    log_in(client, "crossed")
    assert client.get(f"/audit/plans/{pid}").status_code == 403


def test_an_auditor_cannot_complete_or_claim_a_task(ctx, client, org, auditor):
    pid = started_plan(client, org)
    task = Procedure(client, org).open_task(pid, "collect_projects")
    done = post_form(client, f"/tasks/{task['id']}", {"projects/0/name": "x"})
    assert done.status_code == 403
    claimed = post_form(client, f"/tasks/{task['id']}/claim", {}, page=f"/tasks/{task['id']}")
    assert claimed.status_code == 403
    assert Procedure(client, org).open_task(pid, "collect_projects")["claimed_by"] is None


def test_the_menu_leads_auditors_to_their_pages_and_no_one_else(ctx, app, client, org, auditor):
    assert 'href="/audit/"' in client.get("/").get_data(as_text=True)
    official = app.test_client()
    add_person(ctx, "clerk", org.code, ["planning_office"])
    log_in(official, "clerk")
    assert 'href="/audit/"' not in official.get("/").get_data(as_text=True)


def test_each_step_says_who_gave_its_actor_the_role_as_the_admin_log_has_it(ctx, client, org, auditor, clock):
    """The admin log where it concerns a plan: who held the step's role, since when, given by whom."""
    national = admin.add_user(ctx, "nat-admin", None, ["admin"], with_token=True)
    headers = {"Authorization": f"Bearer {national}"}
    clock.advance(minutes=5)
    assert client.post("/api/v1/organizations/kradangnga/users", headers=headers, json={
        "username": "somsri", "display_name": "นางสมศรี รวบรวม", "roles": ["support_committee"]}).status_code == 201
    org.tokens["somsri"] = admin.issue_token(ctx, "somsri", None)
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    run.complete(plan_id, "collect_projects", role="somsri")
    clock.advance(days=1)
    assert client.put("/api/v1/users/somsri/roles", headers=headers,
                      json={"organization": org.code, "roles": []}).status_code == 200

    collected = text(client.get(f"/audit/plans/{plan_id}/steps/2").get_data(as_text=True))
    assert "ผู้ดำเนินการได้รับบทบาทคณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น เมื่อ" in collected
    assert "โดย nat-admin" in collected
    assert "และถูกถอนบทบาทเมื่อ" in collected
    # a step by a user the operator added at the console
    run.complete(plan_id, "draft_plan")
    drafted = text(client.get(f"/audit/plans/{plan_id}/steps/3").get_data(as_text=True))
    assert "โดย ผู้ดูแลเครื่องแม่ข่าย (คำสั่ง phaen)" in drafted and "ถูกถอนบทบาท" not in drafted


def test_the_admin_log_says_whether_a_role_was_held_at_a_moment(ctx, org, clock):
    org_id = queries.organization_id(ctx, org.code)
    t0 = clock.now()
    with ctx.db.write() as session:
        for minutes, action, details in ((1, "user_added", {"roles": ["executive", "auditor"]}),
                                         (2, "role_removed", {"role": "executive"}),
                                         (3, "role_granted", {"roles": ["executive"]}),
                                         (4, "role_removed", {"role": "executive"})):
            admin.log_change(session, t0 + timedelta(minutes=minutes), "boss", action, org_id, "someone", **details)

    def held(role, minutes):
        found = administration.role_held(ctx, org_id, "someone", role, t0 + timedelta(minutes=minutes, seconds=30))
        return found["held"], found["granted"] and found["granted"]["at"], found["removed"] and found["removed"]["at"]

    minute = [t0 + timedelta(minutes=m) for m in range(5)]
    assert held("executive", 0) == (True, None, minute[2])  # none kept yet: given before the log, removed later
    assert held("executive", 1) == (True, minute[1], minute[2])
    assert held("executive", 2) == (False, None, None)
    assert held("executive", 3) == (True, minute[3], minute[4])
    assert held("auditor", 3) == (True, minute[1], None)
    assert held("support_committee", 3) == (True, None, None)
