"""The monitoring-and-evaluation procedure (การติดตามและประเมินผลแผนพัฒนาท้องถิ่น, processes/monitoring,
ระเบียบฯ ข้อ 28–30) through the API: the committee's evaluation, the executive's presenting and
announcement, the posting and its certification; its documents frozen; its timers at the edges of the
legal days (the December limit, the 15 days after presenting, the 30 days of posting); bad input refused."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service import documents
from service.bundles import catalog
from service.commands import admin
from service.commands import plans as commands
from service.models import FrozenDocument

from ..conftest import bangkok
from .documents_queue import get_document, work_queue
from .procedure import Procedure
from .test_documents import Pdf, key
from .test_recorded_facts import event_count
from .test_wording import assert_none, be_year, findings, visible_text
from .web import PASSWORD, log_in

ROOT = Path(__file__).resolve().parents[2]
START = {"evaluated_plan": "แผนพัฒนาท้องถิ่น (พ.ศ. 2566–2570)",
         "committee_order": "คำสั่งเทศบาลตำบลกระดังงา ที่ 120/2569"}
RECOMMENDATIONS = ["เร่งรัดโครงการก่อสร้างที่ยังไม่ได้ดำเนินการให้แล้วเสร็จในไตรมาสแรก",
                   "จัดทำแผนการใช้จ่ายเงินรายไตรมาสให้สอดคล้องกับแผนการดำเนินงาน"]
#: FY 2570 ran 1 Oct 2569 – 30 Sep 2570 (2026–2027): results evaluated in October, presented in
#: November, announced and posted in November, certified in December.
SAMPLES: dict[str, dict[str, Any]] = {
    "evaluate_results": {"evaluated_on": "2027-10-20", "evaluation_method": "แบบติดตามผลรายโครงการ (แบบ ผ/01)",
                         "evaluation_findings": "ดำเนินการแล้วเสร็จ 40 โครงการจาก 52 โครงการ\nเบิกจ่ายร้อยละ 81",
                         "evaluation_recommendations": RECOMMENDATIONS, "evaluation_chair": "นายประเมิน ติดตามดี",
                         "reported_on": "2027-10-25"},
    "present_results": {"presented_to_council_on": "2027-11-01", "council_meeting": "สมัยสามัญ สมัยที่ 4",
                        "presented_to_committee_on": "2027-11-03"},
    "announce_results": {"announced_on": "2027-11-05", "executive_name": "นายสมชาย ใจดี",
                         "executive_title": "นายกเทศมนตรีตำบลกระดังงา"},
    "post_results": {"posted_on": "2027-11-08", "posting_places": ["บอร์ดประชาสัมพันธ์สำนักงานเทศบาล", "เว็บไซต์เทศบาล"],
                     "posting_public_board": True},
    "certify_posting": {"certified_by": "นางสาวสมศรี ประกาศ", "certifier_title": "ปลัดเทศบาลตำบลกระดังงา",
                        "certified_on": "2027-12-10"},
    "late_announcement": {"late_announcement_order": "ให้ปิดประกาศผลทันที", "late_announcement_ordered_on": "2027-11-19"},
    "late_december": {"december_order": "ให้เสนอและประกาศผลให้แล้วเสร็จภายในเดือนมกราคม",
                      "december_ordered_on": "2028-01-03"},
}
ROLE_OF = {"evaluate_results": "monitoring_committee", "present_results": "executive",
           "announce_results": "executive", "late_announcement": "executive", "late_december": "executive",
           "post_results": "planning_office", "certify_posting": "planning_office"}


class Monitoring(Procedure):
    samples, roles = SAMPLES, ROLE_OF

    def __init__(self, client, org):
        super().__init__(client, org)
        ctx = client.application.extensions["phaen"]
        if "monitoring_committee" not in org.tokens:
            org.tokens["monitoring_committee"] = admin.add_user(ctx, f"{org.code}-monitoring", org.code,
                                                                ["monitoring_committee"], with_token=True)

    def start(self, fiscal_year=2570, role="monitoring_committee", expect=201, **start):
        body = {"organization": self.org.code, "fiscal_year": fiscal_year, "process": "monitoring",
                **(start or START)}
        response = self.client.post("/api/v1/plans", headers=self.org.headers(role), json=body)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def through_presenting(self, plan_id, presented=None):
        self.complete(plan_id, "evaluate_results")
        self.complete(plan_id, "present_results", presented)


def tick(ctx):
    return commands.fire_due_timers(ctx)


def began(clock, *day):
    clock.set(bangkok(*day, 9, 0))


# --- The bundle -------------------------------------------------------------------------------------
def test_the_bundle_is_registered_and_passes_the_designers_checks_and_dry_run(ctx, client, org):
    with ctx.db.read() as session:
        version = catalog.latest(session, "monitoring")
        assert version is not None and version.title == "การติดตามและประเมินผลแผนพัฒนาท้องถิ่น"
        assert catalog.starter_roles(version) >= {"monitoring_committee", "planning_office"}
        assert set(version.lane_roles.values()) == {"monitoring_committee", "executive", "planning_office"}
    designer = admin.add_user(ctx, "designer-monitoring", None, ["designer"], with_token=True)
    folder = ROOT / "processes" / "monitoring"
    bundle = catalog.read_bundle(folder, ROOT / "forms")
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    files.update({name: (ROOT / "forms" / name).read_bytes() for name in bundle.forms})
    response = client.post("/api/v1/processes", headers={"Authorization": f"Bearer {designer}"},
                           content_type="multipart/form-data",
                           data={"validate_only": "1", "files": [(io.BytesIO(v), k) for k, v in files.items()]})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert not report.get("warnings"), report
    assert report["dry_run"] and all(run["finished"] for run in report["dry_run"]), report["dry_run"]


# --- End to end ----------------------------------------------------------------------------------------
def test_the_year_of_monitoring_end_to_end_to_its_certified_posting_with_documents_frozen(
        ctx, client, org, clock, tmp_path):
    began(clock, 2027, 10, 5)
    run = Monitoring(client, org)
    plan = run.start()
    pid = plan["id"]
    assert plan["process"]["name"] == "monitoring" and [t["name"] for t in plan["tasks"]] == ["evaluate_results"]
    december = run.deadline(pid, "december_deadline")
    assert (december["due_on"], december["state"]) == ("2027-12-31", "pending")  # FY 2570: within ธ.ค. 2570
    assert "ข้อ 30 (5)" in december["basis"]
    # the executive may not do the committee's step
    run.complete(pid, "evaluate_results", role="executive", expect=403)

    run.complete(pid, "evaluate_results")
    assert run.open_names(pid) == ["present_results"]
    before = {d["kind"]: d["when"] for d in documents.available(ctx, None, pid)}
    assert list(before) == ["evaluation", "announcement", "posting-certificate", "record"]
    assert before["evaluation"] is None and before["announcement"]  # the report exists, as a draft
    run.complete(pid, "present_results")
    limit = run.deadline(pid, "announcement_deadline")
    # counted from the later presenting (3 Nov): 15 days end on Thu 18 Nov
    assert (limit["due_on"], limit["state"]) == ("2027-11-18", "pending")
    assert run.open_task(pid, "announce_results")["due_at"] == "2027-11-18T16:59:59.999999+00:00"

    run.complete(pid, "announce_results")
    assert run.open_names(pid) == ["post_results"]
    assert run.open_task(pid, "post_results")["due_at"] == "2027-11-18T16:59:59.999999+00:00"
    run.complete(pid, "post_results")
    assert run.deadline(pid, "announcement_deadline")["state"] == "met"
    assert run.deadline(pid, "december_deadline")["state"] == "met"
    assert run.deadline(pid, "posting_period")["due_on"] == "2027-12-08"  # 8 Nov + 30 days
    assert run.open_names(pid) == []

    clock.set(bangkok(2027, 12, 8, 23, 59, 59))
    tick(ctx)
    assert run.open_names(pid) == []
    clock.set(bangkok(2027, 12, 9, 0, 0, 1))
    tick(ctx)
    assert run.open_names(pid) == ["certify_posting"]
    run.complete(pid, "certify_posting")
    final = run.plan(pid)
    assert final["status"] == "completed"
    assert {d["key"]: d["state"] for d in final["deadlines"]} == {
        "announcement_deadline": "met", "december_deadline": "met", "posting_period": "met"}

    # the evaluation report and the announcement are frozen as announced; the rest render as the plan stands
    work_queue(client)
    with ctx.db.read() as session:
        frozen = dict(session.execute(select(FrozenDocument.kind, FrozenDocument.content)
                                      .where(FrozenDocument.plan_id == pid)).all())
    assert set(frozen) == {"evaluation", "announcement"}
    titles = {d["kind"]: (d["title"], d["when"]) for d in documents.available(ctx, None, pid)}
    assert titles["announcement"] == ("ประกาศผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่น", None)
    assert all(when is None for _, when in titles.values())
    announcement = get_document(client, f"/api/v1/plans/{pid}/documents/announcement.pdf",
                                headers=org.headers("auditor"))
    assert announcement.status_code == 200 and announcement.data == frozen["announcement"]
    text = Pdf(announcement.data, tmp_path / "announcement.pdf").text
    for words in ("เรื่องประกาศผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่นประจำปีงบประมาณพ.ศ.๒๕๗๐",
                  "ได้เสนอผลต่อสภาเทศบาลตำบลกระดังงาเมื่อวันที่๑พฤศจิกายนพ.ศ.๒๕๗๐",
                  "ประจำปีงบประมาณพ.ศ.๒๕๗๐เมื่อวันที่๒๐ตุลาคมพ.ศ.๒๕๗๐", "ประกาศณวันที่๕พฤศจิกายนพ.ศ.๒๕๗๐",
                  "แผนพัฒนาท้องถิ่น(พ.ศ.๒๕๖๖–๒๕๗๐)"):
        assert key(words) in text, words
    assert key("ประกาศใช้แผนการดำเนินงาน") not in text and "{" not in text

    report = get_document(client, f"/api/v1/plans/{pid}/documents/evaluation.pdf", headers=org.headers("auditor"))
    assert report.status_code == 200 and report.data == frozen["evaluation"]
    report_pdf = Pdf(report.data, tmp_path / "evaluation.pdf")
    assert report_pdf.watermarked_pages() == 0  # frozen at the announcement: not a draft
    for words in ("รายงานผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่น", RECOMMENDATIONS[0], "นายประเมินติดตามดี",
                  "ดำเนินการแล้วเสร็จ๔๐โครงการจาก๕๒โครงการ", "คำสั่งเทศบาลตำบลกระดังงาที่๑๒๐/๒๕๖๙"):
        assert key(words) in report_pdf.text, words

    certificate = get_document(client, f"/api/v1/plans/{pid}/documents/posting-certificate.pdf",
                               headers=org.headers("auditor"))
    assert certificate.status_code == 200
    certified = Pdf(certificate.data, tmp_path / "certificate.pdf").text
    for words in ("เรื่องประกาศผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่นประจำปีงบประมาณพ.ศ.๒๕๗๐ลงวันที่๕พฤศจิกายน",
                  "ตั้งแต่วันที่๘พฤศจิกายนพ.ศ.๒๕๗๐", "ครบกำหนดประกาศผลภายใน"):
        assert key(words) in certified, words
    # the operational plan's own document is no document of this process
    assert client.get(f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor")).status_code == 404
    record = get_document(client, f"/api/v1/plans/{pid}/documents/record.pdf", headers=org.headers("auditor"))
    assert record.status_code == 200
    assert key("บันทึกการติดตามและประเมินผลแผนพัฒนาท้องถิ่น") in Pdf(record.data, tmp_path / "record.pdf").text
    assert "%E0%B8%9B%E0%B8%A3%E0%B8%B0%E0%B8%81%E0%B8%B2%E0%B8%A8%E0%B8%9C%E0%B8%A5" in \
        announcement.headers["Content-Disposition"]  # "ประกาศผล…": the file is named as the process words it

    # the public board shows it at the ITA address of the annual report (o11), with its frozen documents
    board = client.get(f"/public/{org.code}/2570/annual-report")
    assert board.status_code == 200
    page = board.get_data(as_text=True)
    assert "การติดตามและประเมินผลแผนพัฒนาท้องถิ่น" in page
    assert "ประกาศผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่น" in page and "ประกาศใช้แผนการดำเนินงาน" not in page


# --- Timers at the edges of the legal days ------------------------------------------------------------
def test_the_december_limit_runs_to_the_end_of_31_december_then_the_executive_is_told(ctx, client, org, clock):
    began(clock, 2027, 10, 5)
    run = Monitoring(client, org)
    pid = run.start()["id"]
    run.complete(pid, "evaluate_results")

    clock.set(bangkok(2027, 12, 31, 23, 59, 59))  # 31 ธ.ค. 2570: still within December
    tick(ctx)
    assert run.open_names(pid) == ["present_results"]
    assert run.deadline(pid, "december_deadline")["state"] == "pending"

    clock.set(bangkok(2028, 1, 1, 0, 0, 0))  # 1 ม.ค. 2571: late, and escalated
    tick(ctx)
    assert run.open_names(pid) == ["late_december", "present_results"]
    late = run.deadline(pid, "december_deadline")
    assert (late["state"], late["overdue"]) == ("missed", True)
    run.complete(pid, "late_december", role="monitoring_committee", expect=403)
    run.complete(pid, "late_december")
    # the procedure goes on; done in January, the limit stays missed, by the day it was posted
    run.complete(pid, "present_results", {"presented_to_council_on": "2028-01-04",
                                          "presented_to_committee_on": "2028-01-04"})
    run.complete(pid, "announce_results", {**SAMPLES["announce_results"], "announced_on": "2028-01-05"})
    run.complete(pid, "post_results", {"posted_on": "2028-01-06", "posting_places": ["หน้าสำนักงาน"]})
    done = run.deadline(pid, "december_deadline")
    assert (done["state"], done["actual_on"], done["days_late"]) == ("missed", "2028-01-06", 6)
    assert run.deadline(pid, "announcement_deadline")["state"] == "met"


def test_announcing_within_15_days_of_presenting_moves_past_a_weekend_and_escalates_after(ctx, client, org, clock):
    began(clock, 2027, 10, 5)
    run = Monitoring(client, org)
    pid = run.start()["id"]
    # presented on Fri 5 Nov: day 15 is Sat 20 Nov, so the period runs to the end of Mon 22 Nov (ป.พ.พ. 193/8)
    run.through_presenting(pid, {"presented_to_council_on": "2027-11-05", "presented_to_committee_on": "2027-11-05"})
    assert run.deadline(pid, "announcement_deadline")["due_on"] == "2027-11-22"
    run.complete(pid, "announce_results", {**SAMPLES["announce_results"], "announced_on": "2027-11-08"})

    clock.set(bangkok(2027, 11, 22, 23, 59, 59))
    tick(ctx)
    assert run.open_names(pid) == ["post_results"]
    assert run.deadline(pid, "announcement_deadline")["state"] == "pending"

    clock.set(bangkok(2027, 11, 23, 0, 0, 0))
    tick(ctx)
    assert run.open_names(pid) == ["late_announcement", "post_results"]
    assert run.deadline(pid, "announcement_deadline")["state"] == "missed"
    run.complete(pid, "late_announcement", {"late_announcement_order": "ให้ปิดประกาศผลทันที",
                                            "late_announcement_ordered_on": "2027-11-23"})
    run.complete(pid, "post_results", {"posted_on": "2027-11-24", "posting_places": ["หน้าสำนักงาน"]})
    late = run.deadline(pid, "announcement_deadline")
    assert (late["state"], late["actual_on"], late["days_late"]) == ("missed", "2027-11-24", 2)
    assert run.deadline(pid, "december_deadline")["state"] == "met"  # still within December


def test_certifying_waits_for_the_thirtieth_day_of_posting_to_end(ctx, client, org, clock):
    began(clock, 2027, 10, 5)
    run = Monitoring(client, org)
    pid = run.start()["id"]
    run.through_presenting(pid)
    run.complete(pid, "announce_results")
    # posted Wed 1 Dec: at least 30 days are complete at the end of Fri 31 Dec; a minimum is never moved
    run.complete(pid, "post_results", {"posted_on": "2027-12-01", "posting_places": ["หอกระจายข่าว"]})
    assert run.deadline(pid, "posting_period")["due_on"] == "2027-12-31"
    clock.set(bangkok(2027, 12, 31, 23, 59, 59))
    tick(ctx)
    assert run.open_names(pid) == []
    clock.set(bangkok(2028, 1, 1, 0, 0, 1))
    tick(ctx)
    assert run.open_names(pid) == ["certify_posting"]  # the December limit was met: no escalation
    assert run.deadline(pid, "december_deadline")["state"] == "met"
    # taken down before the thirtieth day ended: only with the reason, and the verdict says so
    clock.set(bangkok(2028, 1, 3, 9, 0))
    body = run.complete(pid, "certify_posting", {**SAMPLES["certify_posting"], "certified_on": "2028-01-03",
                                                 "posting_removed_on": "2027-12-20"}, expect=422)
    assert [e["field"] for e in body["errors"]] == ["/posting_removed_on"]
    run.complete(pid, "certify_posting", {**SAMPLES["certify_posting"], "certified_on": "2028-01-03",
                                          "posting_removed_on": "2027-12-20",
                                          "posting_shortfall_reason": "ประกาศถูกฝนชะเสียหาย"})
    period = run.deadline(pid, "posting_period")
    assert (period["state"], period["reason"]) == ("missed", "ประกาศถูกฝนชะเสียหาย")


# --- Bad input -------------------------------------------------------------------------------------------
def refused(run, pid, name, data, field):
    """The step refuses ``data`` with a Thai message on ``field``; nothing is recorded."""
    ctx = run.client.application.extensions["phaen"]
    before = event_count(ctx, pid)
    body = run.complete(pid, name, data, expect=422)
    assert f"/{field}" in {e["field"] for e in body["errors"]}, body
    assert all(e["message"] and "\u0e00" <= e["message"][0] <= "\u0e7f" for e in body["errors"])
    assert event_count(ctx, pid) == before and name in run.open_names(pid)
    return next(e["message"] for e in body["errors"] if e["field"] == f"/{field}")


def test_bad_input_is_refused_in_thai_and_nothing_is_stored(ctx, client, org, clock):
    began(clock, 2027, 10, 5)
    run = Monitoring(client, org)
    missing = run.start(expect=422, committee_order="คำสั่งที่ 1/2569")
    assert "/evaluated_plan" in {e["field"] for e in missing["errors"]}
    pid = run.start()["id"]
    clock.set(bangkok(2027, 10, 30, 9, 0))
    evaluation = SAMPLES["evaluate_results"]
    assert refused(run, pid, "evaluate_results", {k: v for k, v in evaluation.items() if k != "evaluation_findings"},
                   "evaluation_findings")
    assert "อนาคต" in refused(run, pid, "evaluate_results", {**evaluation, "evaluated_on": "2027-11-02"},
                              "evaluated_on")
    assert "ปีงบประมาณ" in refused(run, pid, "evaluate_results", {**evaluation, "evaluated_on": "2026-09-30",
                                                                 "reported_on": "2026-10-02"}, "evaluated_on")
    assert "ต้องไม่ก่อนวันที่ประชุม" in refused(run, pid, "evaluate_results",
                                                {**evaluation, "reported_on": "2027-10-19"}, "reported_on")
    refused(run, pid, "evaluate_results", {**evaluation, "evaluation_recommendations": []},
            "evaluation_recommendations")
    run.complete(pid, "evaluate_results")

    # presenting before the committee reported (25 Oct)
    message = refused(run, pid, "present_results", {"presented_to_council_on": "2027-10-24",
                                                    "presented_to_committee_on": "2027-10-26"},
                      "presented_to_council_on")
    assert "25 ตุลาคม พ.ศ. 2570" in message
    refused(run, pid, "present_results", {"presented_to_council_on": "2027-10-26"}, "presented_to_committee_on")
    run.complete(pid, "present_results")

    # the announcement before the presenting (3 Nov to the development committee)
    message = refused(run, pid, "announce_results", {**SAMPLES["announce_results"], "announced_on": "2027-11-02"},
                      "announced_on")
    assert "3 พฤศจิกายน พ.ศ. 2570" in message
    refused(run, pid, "announce_results", {"announced_on": "2027-11-05", "executive_name": "นายสมชาย ใจดี"},
            "executive_title")
    run.complete(pid, "announce_results")
    assert "ต้องไม่ก่อนวันที่ประกาศ" in refused(run, pid, "post_results",
                                                  {"posted_on": "2027-11-04", "posting_places": ["หน้าสำนักงาน"]},
                                                  "posted_on")
    refused(run, pid, "post_results", {"posted_on": "2027-11-08", "posting_places": []}, "posting_places")
    assert run.plan(pid)["status"] == "running"
    assert date.fromisoformat(run.deadline(pid, "december_deadline")["due_on"]) == date(2027, 12, 31)


# --- What people read ------------------------------------------------------------------------------------
def test_the_pages_of_the_procedure_show_no_internal_name(ctx, app, client, org, clock):
    began(clock, 2027, 10, 5)
    people = {}
    for number, role in enumerate(("monitoring_committee", "executive", "planning_office", "auditor"), 1):
        # the API's caller of each role is this person too, so the history names people, not test users
        org.tokens[role] = admin.add_user(ctx, f"reader{number}", org.code, [role], PASSWORD,
                                          "นางสาวอ่าน ทุกหน้า", with_token=True)
        people[role] = app.test_client()
        assert log_in(people[role], f"reader{number}").status_code == 302
    run = Monitoring(client, org)
    pages = {"monitoring_committee GET /plans/new": people["monitoring_committee"].get(
        "/plans/new?process=monitoring&fiscal_year=2570")}
    pid = run.start()["id"]
    for name in ("evaluate_results", "present_results", "announce_results", "post_results", "certify_posting"):
        if name == "certify_posting":
            clock.set(bangkok(2027, 12, 9, 9, 0))
            tick(ctx)
        task = run.open_task(pid, name)
        pages[f"{ROLE_OF[name]} GET /tasks/<{name}>"] = people[ROLE_OF[name]].get(f"/tasks/{task['id']}")
        run.complete(pid, name)
    work_queue(client)
    for role, person in people.items():
        pages[f"{role} GET /plans/{pid}"] = person.get(f"/plans/{pid}")
        pages[f"{role} GET /"] = person.get("/")
    pages["public GET annual-report"] = client.get(f"/public/{org.code}/2570/annual-report")
    found = []
    for where, response in pages.items():
        assert response.status_code == 200, where
        found += findings(where, where, visible_text(response.get_data(as_text=True)), be_year(clock))
    assert_none(found)
    assert "แผนที่ติดตามและประเมินผล" in visible_text(pages["monitoring_committee GET /plans/new"].get_data(as_text=True))
    plan_page = visible_text(pages[f"auditor GET /plans/{pid}"].get_data(as_text=True))
    assert "รายงานผลการติดตามและประเมินผลแผนพัฒนาท้องถิ่น" in plan_page and "ประกาศใช้แผนการดำเนินงาน" not in plan_page
