"""Records an official and an auditor can trust (issue 13, items 1-4): facts are checked against
each other, the law and the clock; a deadline is measured against the fact the law names; every
page, document and report gives the one verdict; an open step past its limit shows as overdue."""

from __future__ import annotations

import csv
import io
import json

from service.commands import plans as commands
from service.models import Event

from ..conftest import bangkok
from .documents_queue import get_document
from .procedure import SAMPLES, Procedure
from .test_documents import Pdf, key
from .web import add_person, errors_beside, log_in, post_form

PLACES = ["บอร์ดประชาสัมพันธ์สำนักงาน"]


def announced(client, org):
    """A plan announced on 1 Oct 2020 (posting due by the end of 16 Oct), the clock on 1 Oct."""
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.through_announcement(pid)
    return run, pid


def event_count(ctx, pid):
    with ctx.db.read() as session:
        return session.query(Event).filter(Event.plan_id == pid).count()


def refused(run, pid, name, data, field):
    """The step refuses ``data`` with a Thai message on ``field``; nothing is recorded."""
    before = event_count(run.client.application.extensions["phaen"], pid)
    body = run.complete(pid, name, data, expect=422)
    assert f"/{field}" in {e["field"] for e in body["errors"]}, body
    assert all(e["message"] and "\u0e00" <= e["message"][0] <= "\u0e7f" for e in body["errors"])
    assert event_count(run.client.application.extensions["phaen"], pid) == before
    assert name in run.open_names(pid)
    return next(e["message"] for e in body["errors"] if e["field"] == f"/{field}")


def test_each_date_rule_broken_alone_is_refused_beside_its_field(ctx, client, org, clock):
    run = Procedure(client, org)
    clock.set(bangkok(2020, 9, 21, 9, 0))
    response = client.post("/api/v1/plans", headers=org.headers("support_committee"), json={
        "organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-22"})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "/budget_announced_on"
    pid = run.start()["id"]
    run.complete(pid, "collect_projects")
    assert "อนาคต" in refused(run, pid, "draft_plan", {"draft_prepared_on": "2020-09-22"}, "draft_prepared_on")
    run.complete(pid, "draft_plan", {"draft_prepared_on": "2020-09-21"})
    assert "ก่อน" in refused(run, pid, "propose_draft", {"proposed_on": "2020-09-20"}, "proposed_on")
    run.complete(pid, "propose_draft", {"proposed_on": "2020-09-21"})
    refused(run, pid, "consider_draft", {"review_meeting_date": "2020-09-25", "review_resolution": "approve"},
            "review_meeting_date")  # a meeting in the future
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-21", "review_resolution": "approve"})
    run.complete(pid, "present_to_executive", {"presented_on": "2020-09-21"})
    refused(run, pid, "approve_plan", {"approval_date": "2020-09-20", "approval_decision": "approve"},
            "approval_date")
    run.complete(pid, "approve_plan", {"approval_date": "2020-09-21", "approval_decision": "approve"})
    announce = {**SAMPLES["announce_plan"], "announced_on": "2020-09-22"}
    refused(run, pid, "announce_plan", announce, "announced_on")
    run.complete(pid, "announce_plan", {**announce, "announced_on": "2020-09-21"})

    message = refused(run, pid, "post_announcement", {"posted_on": "2020-09-20", "posting_places": PLACES},
                      "posted_on")
    assert "วันที่ประกาศ" in message and "21 กันยายน พ.ศ. 2563" in message  # the announcement's date, in Thai
    refused(run, pid, "post_announcement", {"posted_on": "2020-09-23", "posting_places": PLACES}, "posted_on")


def test_a_short_posting_needs_a_reason_and_is_then_missed_on_every_page_document_and_report(
        ctx, client, org, clock, tmp_path):
    run, pid = announced(client, org)
    run.complete(pid, "post_announcement", {"posted_on": "2020-10-02", "posting_places": PLACES})
    clock.set(bangkok(2020, 11, 2, 0, 0))  # thirty days complete at the end of 1 Nov
    assert commands.fire_due_timers(ctx)
    clock.set(bangkok(2020, 11, 3, 9, 0))
    certify = {**SAMPLES["certify_posting"], "certified_on": "2020-11-03", "posting_removed_on": "2020-10-16"}
    message = refused(run, pid, "certify_posting", certify, "posting_removed_on")
    assert "สามสิบวัน" in message and "เหตุ" in message
    refused(run, pid, "certify_posting", {**certify, "posting_removed_on": "2020-10-01"}, "posting_removed_on")
    refused(run, pid, "certify_posting", {**certify, "posting_removed_on": "2020-11-04"}, "posting_removed_on")
    reason = "ประกาศถูกฉีกทิ้งระหว่างพายุ"
    # the last step says it finishes the procedure: in the API, on its button and on its confirmation
    task = run.open_task(pid, "certify_posting")
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers("planning_office")).get_json()["finishes"]
    add_person(ctx, "certifier", org.code, ["planning_office"])
    log_in(client, "certifier")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "บันทึกและเสร็จสิ้นกระบวนงาน" in page and "บันทึกและส่งต่อขั้นตอนถัดไป" not in page
    fields = {"/certified_on#d": "3", "/certified_on#m": "11", "/certified_on#y": "2563",
              "/posting_removed_on#d": "16", "/posting_removed_on#m": "10", "/posting_removed_on#y": "2563",
              "/posting_shortfall_reason": reason, "/certified_by": "นางสาวสมศรี ประกาศ",
              "/certifier_title": "ปลัดเทศบาล", "_intent": "complete"}
    confirm = post_form(client, f"/tasks/{task['id']}", fields)
    shown = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "ยืนยันและเสร็จสิ้นกระบวนงาน" in shown, errors_beside(shown)
    run.complete(pid, "certify_posting", {**certify, "posting_shortfall_reason": reason})

    period = run.deadline(pid, "posting_period")
    assert (period["state"], period["actual_on"], period["reason"]) == ("missed", "2020-10-16", reason)
    assert period["label"] == "ไม่เป็นไปตามกำหนด"
    assert run.deadline(pid, "posting_deadline")["state"] == "met"
    verdicts_agree(ctx, client, org, pid, tmp_path, {"posting_period": "missed", "posting_deadline": "met",
                                                     "budget_deadline": "met"})
    certificate = Pdf(get_document(client, f"/api/v1/plans/{pid}/documents/posting-certificate.pdf",
                                 headers=org.headers("planning_office")).data, tmp_path / "certificate.pdf")
    assert key("ไม่เป็นไปตามกำหนด") in certificate.text and key(reason) in certificate.text


def test_a_late_posting_is_measured_by_its_recorded_date_and_the_open_step_shows_overdue(
        ctx, client, org, clock, tmp_path):
    run, pid = announced(client, org)
    clock.set(bangkok(2020, 10, 17, 0, 0, 1))  # the fifteenth day (16 Oct) is over
    assert commands.fire_due_timers(ctx)
    task = run.open_task(pid, "post_announcement")
    assert (task["due_on"], task["overdue"]) == ("2020-10-16", True)  # the date stays, and says it passed
    assert task["deadline"]["label"] == "เกินกำหนด" and task["deadline"]["days_late"] == 1
    inbox = client.get("/api/v1/tasks", headers=org.headers("planning_office")).get_json()
    assert [t["overdue"] for t in inbox["tasks"] if t["name"] == "post_announcement"] == [True]
    assert run.deadline(pid, "posting_deadline")["overdue"] is True

    add_person(ctx, "officer", org.code, ["planning_office"])
    log_in(client, "officer")
    page = client.get("/").get_data(as_text=True)
    assert "เกินกำหนด 1 วัน" in page and "ไม่มีกำหนดตามระเบียบ" not in page
    plan_page = client.get(f"/plans/{pid}").get_data(as_text=True)
    assert "เกินกำหนด" in plan_page

    clock.set(bangkok(2020, 10, 19, 9, 0))
    run.complete(pid, "late_posting", {"late_posting_order": "ให้ปิดประกาศทันที", "late_posting_ordered_on": "2020-10-19"})
    run.complete(pid, "post_announcement", {"posted_on": "2020-10-19", "posting_places": PLACES})
    posting = run.deadline(pid, "posting_deadline")
    assert (posting["state"], posting["actual_on"], posting["days_late"], posting["overdue"]) == (
        "missed", "2020-10-19", 3, False)
    clock.set(bangkok(2020, 11, 19, 0, 0, 1))
    assert commands.fire_due_timers(ctx)
    run.complete(pid, "certify_posting", {**SAMPLES["certify_posting"], "certified_on": "2020-11-19"})
    verdicts_agree(ctx, client, org, pid, tmp_path, {"posting_deadline": "missed", "posting_period": "met",
                                                     "budget_deadline": "met"})
    certificate = Pdf(get_document(client, f"/api/v1/plans/{pid}/documents/posting-certificate.pdf",
                                 headers=org.headers("planning_office")).data, tmp_path / "certificate.pdf")
    assert key("ไม่เป็นไปตามกำหนด (ช้า ๓ วัน)") in certificate.text


def test_a_backdated_timely_posting_entered_late_is_met(ctx, client, org, clock):
    """The law names the posting date: a notice posted on time but recorded after the timer fired
    meets the fifteen-day rule."""
    run, pid = announced(client, org)
    clock.set(bangkok(2020, 10, 20, 9, 0))
    assert commands.fire_due_timers(ctx)
    run.complete(pid, "post_announcement", {"posted_on": "2020-10-05", "posting_places": PLACES})
    posting = run.deadline(pid, "posting_deadline")
    assert (posting["state"], posting["actual_on"], posting["days_late"]) == ("met", "2020-10-05", None)


def test_an_extension_shows_the_original_date_and_who_extended_it(ctx, client, org, clock):
    run = Procedure(client, org)
    pid = run.start(budget_announced_on="2020-10-02")["id"]  # due Mon 2 Nov
    run.complete(pid, "collect_projects")
    clock.set(bangkok(2020, 11, 3, 0, 0))
    assert commands.fire_due_timers(ctx)
    assert run.open_task(pid, "draft_plan")["overdue"] is True
    refused(run, pid, "record_extension", {"extended_to": "2020-11-01", "extension_reason": "รอโครงการ"},
            "extended_to")  # an extension must end after the date it extends
    run.complete(pid, "record_extension", {"extended_to": "2020-11-30", "extension_reason": "รอโครงการ"})
    budget = run.deadline(pid, "budget_deadline")
    assert (budget["due_on"], budget["original_due_on"], budget["state"]) == ("2020-11-30", "2020-11-02", "pending")
    draft = run.open_task(pid, "draft_plan")
    assert (draft["due_on"], draft["overdue"]) == ("2020-11-30", False)

    add_person(ctx, "mayor", org.code, ["executive"], "นายสมชาย ใจดี")
    add_person(ctx, "clerk", org.code, ["planning_office"], "นางสาวเสมียน")
    log_in(client, "clerk")
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    assert "ขยายเวลาจากเดิม" in page


def verdicts_agree(ctx, client, org, pid, tmp_path, expected: dict[str, str]) -> None:
    """The plan API, the plan page, the compliance report (JSON, CSV, page), record.pdf and the audit
    export give the same verdict on each deadline."""
    from service.labels import DEADLINE_STATES

    api = {d["key"]: d["state"] for d in client.get(f"/api/v1/plans/{pid}",
                                                    headers=org.headers("auditor")).get_json()["deadlines"]}
    assert api == expected
    report = client.get(f"/api/v1/compliance?organization={org.code}&fiscal_year=2564",
                        headers=org.headers("auditor")).get_json()
    assert {r["key"]: r["state"] for r in report["deadlines"] if r["plan_id"] == pid} == expected
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/compliance.csv?organization={org.code}"
                                                      "&fiscal_year=2564", headers=org.headers("auditor"))
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["key"]: r["state"] for r in rows if r["plan_id"] == str(pid)} == expected
    record = Pdf(get_document(client, f"/api/v1/plans/{pid}/documents/record.pdf", headers=org.headers("auditor")).data,
                 tmp_path / "record.pdf")
    for state in expected.values():
        assert key(DEADLINE_STATES[state]) in record.text
    bundle = client.get(f"/api/v1/plans/{pid}/export", headers=org.headers("auditor"))
    assert bundle.status_code == 200
    exported = json.loads(bundle.data)["plan"]["verdicts"]
    assert {d["key"]: d["state"] for d in exported} == expected


def test_the_page_shows_a_broken_rule_beside_its_field_and_keeps_what_was_typed(ctx, client, org, clock):
    run, pid = announced(client, org)
    task = run.open_task(pid, "post_announcement")
    add_person(ctx, "poster", org.code, ["planning_office"])
    log_in(client, "poster")
    response = post_form(client, f"/tasks/{task['id']}", {
        "/posted_on#d": "30", "/posted_on#m": "9", "/posted_on#y": "2563", "/posting_places/0": PLACES[0]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "ต้องไม่ก่อนวันที่ประกาศ (1 ตุลาคม พ.ศ. 2563)" in errors_beside(html)["f-posted_on"]
    assert PLACES[0] in html  # the places typed are still in the form
    assert "post_announcement" in run.open_names(pid)


def test_an_announced_plans_page_starts_an_amendment(ctx, client, org, clock):
    run, pid = announced(client, org)
    add_person(ctx, "support", org.code, ["support_committee"])
    log_in(client, "support")
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    assert "เริ่มการแก้ไขแผนการดำเนินงาน ปีงบประมาณ พ.ศ. 2564" in page
    form = client.get("/plans/new?process=amendment&fiscal_year=2564")
    assert form.status_code == 200 and 'value="2564"' in form.get_data(as_text=True)
    bad = post_form(client, "/plans/new?process=amendment", {"process": "amendment", "fiscal_year": "2564",
                                                              "/amendment_cause": "supplementary_budget",
                                                              "/cause_received_on#d": "9",
                                                              "/cause_received_on#m": "10",
                                                              "/cause_received_on#y": "2563"},
                    page="/plans/new?process=amendment")
    assert bad.status_code == 422  # 9 Oct 2020 is after today (1 Oct): a cause in the future
    assert "อนาคต" in errors_beside(bad.get_data(as_text=True)).get("f-cause_received_on", "")
    good = post_form(client, "/plans/new?process=amendment", {
        "process": "amendment", "fiscal_year": "2564", "/amendment_cause": "supplementary_budget",
        "/cause_received_on#d": "1", "/cause_received_on#m": "10", "/cause_received_on#y": "2563",
        "/cause_reference": "เทศบัญญัติงบประมาณรายจ่ายเพิ่มเติม ฉบับที่ 1"}, page="/plans/new?process=amendment")
    assert good.status_code == 302, errors_beside(good.get_data(as_text=True))
    amendment = int(good.headers["Location"].rstrip("/").split("/")[-1])
    assert run.plan(amendment)["process"]["name"] == "amendment"
    assert client.get("/plans/new?process=nonexistent").status_code == 403


def test_a_send_back_reason_of_only_spaces_is_no_reason(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    message = refused(run, pid, "consider_draft", {"review_meeting_date": "2020-09-23", "review_resolution": "revise",
                                                   "review_comments": " \u3000\u200b "}, "review_comments")
    assert "ช่องว่าง" in message


def test_a_trillion_baht_budget_and_a_5000_character_name_are_refused(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    project = SAMPLES["collect_projects"]["projects"][0]
    refused(run, pid, "collect_projects", {"projects": [{**project, "budget": 1_000_000_000_000}]},
            "projects/0/budget")
    refused(run, pid, "collect_projects", {"projects": [{**project, "name": "ก" * 5000}]}, "projects/0/name")
    run.complete(pid, "collect_projects", {"projects": [{**project, "budget": 999_999_999.99}]})
