"""A send-back that really sends back (issue 13, item 5), in both shipped processes: a reason is
required, the step that receives it says who sent it back, when and why (page, inbox, API), the
support committee changes the project list on the way back, and the history says what changed."""

from __future__ import annotations

import html
import re
from datetime import UTC

import pytest

from service.taskforms import writing

from ..conftest import bangkok
from .procedure import PROJECT, SAMPLES, Procedure
from .test_amendment import SAMPLES as AMENDMENT
from .test_amendment import Amendment
from .test_web_spreadsheets import ITEMS, upload
from .web import add_person, errors_beside, log_in, post_form

MEETING = {"/review_meeting_date#d": "24", "/review_meeting_date#m": "9", "/review_meeting_date#y": "2563"}
REASON = "ให้ตัดโครงการรถบรรทุกน้ำ และเพิ่มงบโครงการถนนเป็น 520,000 บาท"
WATER_TRUCK = SAMPLES["collect_projects"]["projects"][1]
CANAL = {**PROJECT, "name": "โครงการขุดลอกคลองส่งน้ำ หมู่ที่ 7", "budget": 150000.0, "place": "หมู่ที่ 7",
         "strategy": "การพัฒนาด้านการเกษตร", "plan_program": "การเกษตร", "months": [4, 5]}


#: the second round after a send-back, dated after the first
AGAIN = {"draft_plan": {"draft_prepared_on": "2020-09-25"}, "propose_draft": {"proposed_on": "2020-09-26"},
         "consider_draft": {"review_meeting_date": "2020-09-27", "review_resolution": "approve"},
         "present_to_executive": {"presented_on": "2020-09-28"},
         "draft_amendment": {"amendment_drafted_on": "2021-01-12", "amendment_proposed_on": "2021-01-12"},
         "consider_amendment": {"amendment_meeting_date": "2021-01-13", "amendment_resolution": "approve"}}


@pytest.fixture(autouse=True)
def today(clock):
    """Every date the tests record lies before the clock's today (no meeting in the future)."""
    clock.set(bangkok(2020, 10, 1, 12, 0))


@pytest.fixture
def people(ctx, org):
    add_person(ctx, "support1", org.code, ["support_committee"], "สมศรี หนึ่ง")
    add_person(ctx, "devcom", org.code, ["development_committee"], "สมชาย พิจารณา")
    add_person(ctx, "mayor", org.code, ["executive"], "นายกฯ ใจดี")


def as_user(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def history(client, org, pid):
    return client.get(f"/api/v1/plans/{pid}/history", headers=org.headers("auditor")).get_json()["events"]


def task_view(client, org, run, pid, name, role):
    task = run.open_task(pid, name)
    return client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers(role)).get_json()


def to_consider(run):
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    return pid


# --- A reason is required, and nothing changes without one ------------------------------------------
@pytest.mark.parametrize("comments", [None, ""])
def test_the_committee_cannot_send_back_without_a_reason(client, org, comments):
    run = Procedure(client, org)
    pid = to_consider(run)
    before = history(client, org, pid)
    data = {"review_meeting_date": "2020-09-24", "review_resolution": "revise"}
    if comments is not None:
        data["review_comments"] = comments
    problem = run.complete(pid, "consider_draft", data, expect=422)
    assert {"field": "/review_comments",
            "message": "กรุณากรอกเหตุผลและประเด็นที่ให้แก้ไข (ความเห็นของที่ประชุม)"} in problem["errors"]
    assert run.open_names(pid) == ["consider_draft"] and history(client, org, pid) == before
    # approving needs no reason
    run.complete(pid, "consider_draft")
    assert run.open_names(pid) == ["present_to_executive"]


def test_the_executive_cannot_return_without_a_reason(client, org):
    run = Procedure(client, org)
    pid = to_consider(run)
    run.complete(pid, "consider_draft")
    run.complete(pid, "present_to_executive")
    before = history(client, org, pid)
    problem = run.complete(pid, "approve_plan", {"approval_date": "2020-09-29", "approval_decision": "return"},
                           expect=422)
    assert [e["field"] for e in problem["errors"]] == ["/approval_comments"]
    assert "เหตุผลที่ส่งกลับ" in problem["errors"][0]["message"]
    assert run.open_names(pid) == ["approve_plan"] and history(client, org, pid) == before


def test_the_page_shows_the_thai_message_beside_the_reason_and_keeps_what_was_typed(app, client, org, people):
    run = Procedure(client, org)
    pid = to_consider(run)
    task = f"/tasks/{run.open_task(pid, 'consider_draft')['id']}"
    answer = post_form(as_user(app, "devcom"), task, {**MEETING,
                                                      "/review_resolution": "revise"})
    assert answer.status_code == 422
    assert errors_beside(text_of(answer)) == {
        "f-review_comments": "กรุณากรอกเหตุผลและประเด็นที่ให้แก้ไข (ความเห็นของที่ประชุม)"}
    assert run.open_names(pid) == ["consider_draft"]


# --- The receiving step says who, when, why; the inbox marks it ------------------------------------------
def test_the_re_draft_shows_who_sent_it_back_when_and_why(app, client, org, people, clock):
    run = Procedure(client, org)
    pid = to_consider(run)
    devcom = as_user(app, "devcom")
    task = f"/tasks/{run.open_task(pid, 'consider_draft')['id']}"
    sent = post_form(devcom, task, {**MEETING, "/review_resolution": "revise",
                                    "/review_comments": REASON})
    assert sent.status_code == 302, errors_beside(text_of(sent)) or text_of(sent)[-3000:]

    view = task_view(client, org, run, pid, "draft_plan", "support_committee")
    sent_at = clock.now().astimezone(UTC).isoformat()
    assert view["returned"] == {"by": "devcom", "role": "development_committee", "at": sent_at,
                                "from_step": "consider_draft", "from_title": "พิจารณาร่างแผนการดำเนินงาน",
                                "reason": REASON}
    assert [p["name"] for p in view["data"]["projects"]] == [p["name"] for p in SAMPLES["collect_projects"]["projects"]]

    support = as_user(app, "support1")
    inbox = text_of(support.get("/"))
    assert "ส่งกลับแก้ไข" in inbox and "จากขั้นตอนพิจารณาร่างแผนการดำเนินงาน" in inbox
    page = text_of(support.get(f"/tasks/{view['id']}"))
    assert "ขั้นตอนนี้ถูกส่งกลับมาให้แก้ไข" in page and REASON in page and "สมชาย พิจารณา" in page
    assert "ดาวน์โหลดแม่แบบ (.xlsx)" in page  # the project list can be re-imported here

    # the re-draft goes on: proposing again is no send-back, and neither is the first visit of a step
    run.complete(pid, "draft_plan", AGAIN["draft_plan"])
    assert task_view(client, org, run, pid, "propose_draft", "support_committee")["returned"] is None
    assert "ส่งกลับแก้ไข" not in text_of(support.get("/"))


def test_the_executive_return_marks_the_committee_step(app, client, org, people):
    run = Procedure(client, org)
    pid = to_consider(run)
    run.complete(pid, "consider_draft")
    run.complete(pid, "present_to_executive")
    run.complete(pid, "approve_plan", {"approval_date": "2020-09-29", "approval_decision": "return",
                                       "approval_comments": "ทบทวนงบประมาณโครงการถนน"})
    returned = task_view(client, org, run, pid, "consider_draft", "development_committee")["returned"]
    assert returned["from_step"] == "approve_plan" and returned["reason"] == "ทบทวนงบประมาณโครงการถนน"
    assert returned["role"] == "executive"
    assert "ส่งกลับแก้ไข" in text_of(as_user(app, "devcom").get("/"))
    # approved the second time: presenting again is not a send-back
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-30", "review_resolution": "approve"})
    assert task_view(client, org, run, pid, "present_to_executive", "development_committee")["returned"] is None


# --- Projects changed on the way back, the diff in the history, the draft shown to those deciding --------
def test_projects_changed_on_the_way_back_are_in_the_history_and_shown_to_the_deciders(app, client, org, people):
    run = Procedure(client, org)
    pid = to_consider(run)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-24", "review_resolution": "revise",
                                         "review_comments": REASON})
    road = {**PROJECT, "budget": 520000.0}
    run.complete(pid, "draft_plan", {"draft_prepared_on": "2020-09-25", "projects": [road, CANAL],
                                     "draft_notes": "ตามมติคณะกรรมการพัฒนาท้องถิ่น"})

    redraft = [e for e in history(client, org, pid) if e["task"] == "draft_plan"][-1]
    assert redraft["changes"] == {"projects": {
        "added": [{"name": CANAL["name"], "budget": "150000.00"}],
        "removed": [{"name": WATER_TRUCK["name"], "budget": "2500000.50"}],
        "changed": [{"name": PROJECT["name"], "budget_before": "480000.00", "budget": "520000.00",
                     "fields": ["budget"]}],
    }}
    first = [e for e in history(client, org, pid) if e["task"] == "draft_plan"][0]
    assert "changes" not in first  # the first draft took the collected list as it was

    plan_page = text_of(as_user(app, "support1").get(f"/plans/{pid}"))
    assert f"เพิ่ม: {CANAL['name']} (150,000.00 บาท)" in plan_page
    assert f"ตัดออก: {WATER_TRUCK['name']} (2,500,000.50 บาท)" in plan_page
    assert f"แก้ไข: {PROJECT['name']} งบประมาณ 480,000.00 → 520,000.00 บาท" in plan_page

    run.complete(pid, "propose_draft", AGAIN["propose_draft"])
    view = task_view(client, org, run, pid, "consider_draft", "development_committee")
    assert view["draft"] == [{"name": "projects", "title": "โครงการ/กิจกรรม", "items": [road, CANAL]}]
    page = text_of(as_user(app, "devcom").get(f"/tasks/{view['id']}"))
    assert "ร่างที่พิจารณา: โครงการ/กิจกรรม (2 รายการ งบประมาณรวม 670,000.00 บาท)" in page
    assert re.search(r"การพัฒนาด้านโครงสร้างพื้นฐาน</td><td class=\"num\">1</td><td class=\"num\">520,000.00", page)
    assert re.search(r"การพัฒนาด้านการเกษตร</td><td class=\"num\">1</td><td class=\"num\">150,000.00", page)
    assert f'href="/plans/{pid}/operational-plan.pdf"' in page and CANAL["name"] in page
    assert "ขั้นตอนนี้ถูกส่งกลับมาให้แก้ไข" not in page  # proposed again, not sent back

    run.complete(pid, "consider_draft", AGAIN["consider_draft"])
    run.complete(pid, "present_to_executive", AGAIN["present_to_executive"])
    executive = text_of(as_user(app, "mayor").get(f"/tasks/{run.open_task(pid, 'approve_plan')['id']}"))
    assert "งบประมาณรวม 670,000.00 บาท" in executive and f'href="/plans/{pid}/operational-plan.pdf"' in executive
    draft_pdf = as_user(app, "mayor").get(f"/plans/{pid}/operational-plan.pdf")
    assert draft_pdf.status_code in (200, 202)  # the PDF, or the page saying it is being rendered


def test_an_invalid_project_on_the_re_draft_is_refused_and_changes_nothing(client, org):
    run = Procedure(client, org)
    pid = to_consider(run)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-24", "review_resolution": "revise",
                                         "review_comments": REASON})
    before = history(client, org, pid)
    problem = run.complete(pid, "draft_plan", {"draft_prepared_on": "2020-09-25",
                                               "projects": [{**PROJECT, "budget": -1}]}, expect=422)
    assert problem["errors"][0]["field"] == "/projects/0/budget"
    run.complete(pid, "draft_plan", {"draft_prepared_on": "2020-09-25", "projects": []}, expect=422)
    assert history(client, org, pid) == before and run.open_names(pid) == ["draft_plan"]


def test_the_re_draft_re_imports_the_project_list_from_a_spreadsheet(app, client, org, people):
    run = Procedure(client, org)
    pid = to_consider(run)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-24", "review_resolution": "revise",
                                         "review_comments": REASON})
    task = f"/tasks/{run.open_task(pid, 'draft_plan')['id']}"
    support = as_user(app, "support1")
    preview = upload(support, task, writing.write_xlsx(ITEMS, [PROJECT, CANAL]))
    assert preview.status_code == 200 and "ไฟล์ถูกต้อง" in text_of(preview)
    rows = re.search(r'name="rows" value="([^"]*)"', preview.get_data(as_text=True)).group(1)
    filled = text_of(post_form(support, f"{task}/spreadsheet/projects/apply",
                               {"rows": html.unescape(rows), "filename": "a.xlsx", "mode": "replace"}, page=task))
    assert f'value="{CANAL["name"]}"' in filled and f'value="{WATER_TRUCK["name"]}"' not in filled


# --- The amendment process: the same --------------------------------------------------------------------
def to_consider_amendment(client, org):
    run = Amendment(client, org)
    pid = run.start()["id"]
    run.complete(pid, "collect_changes")
    run.complete(pid, "draft_amendment")
    return run, pid


def test_amendment_send_backs_need_a_reason_and_say_it(app, client, org, people, clock):
    clock.set(bangkok(2021, 1, 20, 12, 0))
    run, pid = to_consider_amendment(client, org)
    before = history(client, org, pid)
    problem = run.complete(pid, "consider_amendment", {"amendment_meeting_date": "2021-01-11",
                                                       "amendment_resolution": "revise"}, expect=422)
    assert [e["field"] for e in problem["errors"]] == ["/amendment_review_comments"]
    assert history(client, org, pid) == before

    run.complete(pid, "consider_amendment", {"amendment_meeting_date": "2021-01-11", "amendment_resolution": "revise",
                                             "amendment_review_comments": "ตัดโครงการที่ยกเลิกออก"})
    view = task_view(client, org, run, pid, "collect_changes", "support_committee")
    assert view["returned"]["from_step"] == "consider_amendment"
    assert view["returned"]["reason"] == "ตัดโครงการที่ยกเลิกออก"
    assert "ส่งกลับแก้ไข" in text_of(as_user(app, "support1").get("/"))

    changes = {**AMENDMENT["collect_changes"], "removed_projects": []}
    run.complete(pid, "collect_changes", changes)
    event = [e for e in history(client, org, pid) if e["task"] == "collect_changes"][-1]
    removed = AMENDMENT["collect_changes"]["removed_projects"]
    assert event["changes"]["removed_projects"]["removed"] == [
        {"name": r["name"], "budget": f"{r['budget']:.2f}" if "budget" in r else None} for r in removed]

    run.complete(pid, "draft_amendment", AGAIN["draft_amendment"])
    view = task_view(client, org, run, pid, "consider_amendment", "development_committee")
    assert [d["name"] for d in view["draft"]] == ["added_projects", "changed_projects", "removed_projects"]
    assert view["returned"] is None
    page = text_of(as_user(app, "devcom").get(f"/tasks/{view['id']}"))
    assert "ร่างที่พิจารณา: โครงการ/กิจกรรมที่เพิ่ม" in page
    pdf = as_user(app, "devcom").get(f"/plans/{pid}/operational-plan.pdf")
    assert pdf.status_code in (200, 202), pdf.get_data(as_text=True)[:300]  # the PDF, or "being rendered"

    run.complete(pid, "consider_amendment", AGAIN["consider_amendment"])
    problem = run.complete(pid, "approve_amendment", {"amendment_approval_date": "2021-01-14",
                                                      "amendment_decision": "return"}, expect=422)
    assert [e["field"] for e in problem["errors"]] == ["/amendment_approval_comments"]
    run.complete(pid, "approve_amendment", {"amendment_approval_date": "2021-01-14", "amendment_decision": "return",
                                            "amendment_approval_comments": "ให้ตรวจสอบราคากลาง"})
    returned = task_view(client, org, run, pid, "consider_amendment", "development_committee")["returned"]
    assert returned["from_step"] == "approve_amendment" and returned["reason"] == "ให้ตรวจสอบราคากลาง"
