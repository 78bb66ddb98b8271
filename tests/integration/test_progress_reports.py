"""The 6-month and annual reports of a tracked plan (issue 15, item 3): computed from the plan's
recorded events as of the end of the cut-off day, so progress recorded later changes nothing in
them; the same bytes each time; as PDF, XLSX and JSON; refused cut-offs, untracked plans and other
organizations' plans; the annual figures in the monitoring committee's evaluation report; the PDFs
made by render jobs and served from the render cache under the digest of their figures."""

from __future__ import annotations

import io
import json
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from service.auth import actor_of
from service.commands import renders
from service.documents import progress_report
from service.models import Event, Job, RenderedDocument, User
from service.thai.legaldays import BANGKOK
from service.tracking import reporting

from ..conftest import bangkok
from . import test_documents, test_progress
from .documents_queue import get_document, work_queue
from .test_amendment import Amendment
from .test_documents import Pdf, key
from .test_monitoring import Monitoring
from .test_progress import ROAD, WATER_TRUCK, Units, put

announced, out = test_progress.announced, test_documents.out  # their fixtures, shared

ROAD_STARTED = {"status": "in_progress", "started_on": "2021-01-11", "months_worked": [1, 2], "contracted": 475000,
                "disbursed": 200000.25, "note": "ส่งมอบงานงวดที่ 1 แล้ว"}
TRUCK_CANCELLED = {"status": "cancelled", "reason": "ได้รับรถบรรทุกน้ำจากกรมป้องกันและบรรเทาสาธารณภัยแล้ว"}
ROAD_DONE = {"status": "done", "started_on": "2021-01-11", "finished_on": "2021-04-05", "months_worked": [1, 2, 3, 4],
             "contracted": 475000, "disbursed": 474999.99}


def report(client, headers, plan_id, kind, extension="json", **query):
    return client.get(f"/api/v1/plans/{plan_id}/reports/{kind}.{extension}", headers=headers, query_string=query)


def report_pdf(client, headers, plan_id, kind, **query):
    """The PDF as the figures now stand: asked for, and once the job it queued has run, asked again."""
    answer = report(client, headers, plan_id, kind, "pdf", **query)
    if answer.status_code != 202:
        return answer
    work_queue(client)
    return report(client, headers, plan_id, kind, "pdf", **query)


@pytest.fixture
def year(ctx, client, org, clock, announced):
    """The plan of FY 2564 announced, with progress recorded before, on and after 31 March 2021."""
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    units = Units(ctx, org)
    clock.set(bangkok(2021, 2, 15, 10, 0))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", ROAD_STARTED).status_code == 200
    clock.set(bangkok(2021, 3, 31, 23, 30))  # the last half hour of the six months, in Bangkok
    assert put(client, units.headers("สำนักปลัด"), plan_id, "1.1.1", TRUCK_CANCELLED).status_code == 200
    clock.set(bangkok(2021, 4, 1, 0, 10))
    return run, plan_id, units


def independent(ctx, plan_id, cutoff: str) -> dict:
    """The figures counted straight from the recorded events, without replay or the read model."""
    end = datetime.fromisoformat(f"{cutoff}T23:59:59.999999").replace(tzinfo=BANGKOK)
    listed, latest = {}, {}
    with ctx.db.read() as session:
        for event in session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)):
            if event.at > end:
                continue
            if event.kind == "projects_listed":
                listed.update({p["number"]: p for p in event.data.get("listed", [])})
                listed.update({p["number"]: p for p in event.data.get("changed", [])})
                for number in event.data.get("withdrawn", []):
                    listed.pop(number)
            elif event.kind == "progress_recorded":
                latest[event.data["project"]] = event.data["progress"]
    statuses = [latest.get(n, {}).get("status", "not_started") for n in listed]
    money = {k: sum((Decimal(str(latest.get(n, {}).get(k, 0))) for n in listed), Decimal(0))
             for k in ("contracted", "disbursed")}
    budget = sum((Decimal(str(p["budget"])) for p in listed.values()), Decimal(0))  # in baht, as forms record it
    return {"projects": len(listed), **{s: statuses.count(s) for s in ("done", "in_progress", "not_started",
                                                                         "cancelled")},
            "budget": budget, **money,
            "disbursed_percent": (money["disbursed"] * 100 / budget).quantize(Decimal("0.01"))}


def totals_of(figures: dict) -> dict:
    t = figures["totals"]
    return {k: (Decimal(t[k]) if isinstance(t[k], str) else t[k]) for k in
            ("projects", "done", "in_progress", "not_started", "cancelled", "budget", "contracted", "disbursed",
             "disbursed_percent")}


def test_both_reports_count_the_recorded_events_as_of_their_cut_off(ctx, client, org, clock, year, out):
    run, plan_id, units = year
    headers = org.headers("auditor")
    six = report(client, headers, plan_id, "six-months")
    assert six.status_code == 200, six.get_json()
    figures = json.loads(six.data)
    assert figures["cutoff"] == "2021-03-31" and figures["list_label"] == "ตามแผนที่ประกาศใช้"
    assert totals_of(figures) == independent(ctx, plan_id, "2021-03-31")
    assert totals_of(figures) == {"projects": 2, "done": 0, "in_progress": 1, "not_started": 0, "cancelled": 1,
                                  "budget": Decimal("2980000.50"), "contracted": Decimal("475000.00"),
                                  "disbursed": Decimal("200000.25"), "disbursed_percent": Decimal("6.71")}
    strategy = figures["strategies"][0]
    assert strategy["name"] == ROAD["strategy"] and [p["name"] for p in strategy["programs"]] == [
        WATER_TRUCK["plan_program"], ROAD["plan_program"]]
    assert [p["disbursed"] for p in strategy["programs"]] == ["0.00", "200000.25"]
    assert [(p["number"], p["months"], p["months_worked"]) for p in figures["projects"]] == [
        ("1.1.1", [10, 11], []), ("1.2.1", [1, 2, 3], [1, 2])]
    assert figures["not_carried_out"] == [{"number": "1.1.1", "name": WATER_TRUCK["name"], "unit": "สำนักปลัด",
                                           "budget": "2500000.50", "status": "cancelled", "status_title": "ยกเลิก",
                                           "reason": TRUCK_CANCELLED["reason"]}]
    pdf_before = report_pdf(client, headers, plan_id, "six-months").data
    xlsx_before = report(client, headers, plan_id, "six-months", "xlsx").data

    # progress recorded after 31 March leaves the 6-month report as it was, to the byte
    clock.set(bangkok(2021, 4, 10, 10, 0))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", ROAD_DONE).status_code == 200
    assert report(client, headers, plan_id, "six-months").data == six.data
    after = report(client, headers, plan_id, "six-months", "pdf")  # the same figures: the kept copy, at once
    assert after.status_code == 200 and after.data == pdf_before
    assert report(client, headers, plan_id, "six-months", "xlsx").data == xlsx_before
    # a cut-off inside the six months reads the events up to that day's end only
    early = json.loads(report(client, headers, plan_id, "six-months", cutoff="2021-03-30").data)
    assert totals_of(early) == independent(ctx, plan_id, "2021-03-30") and early["totals"]["cancelled"] == 0

    clock.set(bangkok(2021, 10, 5, 9, 0))
    annual = report(client, headers, plan_id, "annual")
    figures = json.loads(annual.data)
    assert figures["cutoff"] == "2021-09-30" and figures["period"] == {"from": "2020-10-01", "to": "2021-09-30"}
    assert totals_of(figures) == independent(ctx, plan_id, "2021-09-30")
    assert (figures["totals"]["done"], figures["totals"]["disbursed"]) == (1, "474999.99")

    # the PDFs: the same bytes each time, A4 landscape forms after the heading page; looked at as PNGs
    first, second = (report_pdf(client, headers, plan_id, "annual") for _ in range(2))
    assert first.status_code == 200 and first.mimetype == "application/pdf" and first.data == second.data
    assert "filename*=UTF-8''" in first.headers["Content-Disposition"]
    for name, data in (("six-months", pdf_before), ("annual", first.data)):
        pdf = Pdf(data, out / f"{name}.pdf")
        assert not pdf.landscape(0) and all(pdf.landscape(i) for i in range(1, len(pdf.pages)))
        assert key("ณ วันที่") in pdf.text and key("โครงการก่อสร้างถนนคอนกรีต") in pdf.text
        assert key(TRUCK_CANCELLED["reason"]) in pdf.text and key("ตามแผนที่ประกาศใช้") in pdf.text
        pdf.png(1, len(pdf.pages), name)
        assert len(list(out.glob(f"{name}-*.png"))) == len(pdf.pages)
    assert key("รอบ ๖ เดือน") in Pdf(pdf_before, out / "six.pdf").text
    assert key("๓๑ มีนาคม พ.ศ. ๒๕๖๔") in Pdf(pdf_before, out / "six.pdf").text

    # the spreadsheet holds the same figures
    book = openpyxl.load_workbook(io.BytesIO(report(client, headers, plan_id, "annual", "xlsx").data))
    assert book.sheetnames == ["สรุปตามยุทธศาสตร์", "สรุปตามแผนงาน", "รายโครงการ", "โครงการที่ไม่ได้ดำเนินการ"]
    rows = [r for r in book["รายโครงการ"].iter_rows(values_only=True) if r[0] in ("1.1.1", "1.2.1")]
    assert [(r[0], Decimal(str(r[5])).quantize(Decimal("0.01")), Decimal(str(r[7])).quantize(Decimal("0.01")), r[9])
            for r in rows] == [
        ("1.1.1", Decimal("2500000.50"), Decimal("0.00"), "ยกเลิก"),
        ("1.2.1", Decimal("480000.00"), Decimal("474999.99"), "ดำเนินการแล้วเสร็จ")]
    total = [r for r in book["สรุปตามยุทธศาสตร์"].iter_rows(values_only=True) if r[0] == "รวมทั้งสิ้น"][0]
    assert total[1:6] == (2, 1, 0, 0, 1) and Decimal(str(total[7])) == Decimal("2980000.50")


def test_the_report_names_the_amended_list_it_used(ctx, client, org, clock, announced, out):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 1, 6, 9, 0))
    amendment = Amendment(client, org)
    aid = amendment.start()["id"]
    for name in ("collect_changes", "draft_amendment", "consider_amendment", "approve_amendment",
                 "announce_amendment"):
        amendment.complete(aid, name)
    clock.set(bangkok(2021, 10, 1, 9, 0))
    headers = org.headers("executive")
    figures = json.loads(report(client, headers, plan_id, "annual").data)
    assert (figures["list_version"], figures["list_label"]) == (1, "ตามการแก้ไขครั้งที่ 1")
    assert totals_of(figures) == independent(ctx, plan_id, "2021-09-30")
    assert figures["totals"]["withdrawn"] == 1
    # nothing recorded: the two projects of the amended list not started, then the one it withdrew
    assert [(p["number"], p["status"]) for p in figures["not_carried_out"]] == [
        ("1.2.1", "not_started"), ("1.2.2", "not_started"), ("1.1.1", "withdrawn")]
    withdrawn = next(p for p in figures["not_carried_out"] if p["number"] == "1.1.1")
    assert withdrawn["reason"] == "ยกเลิกออกจากแผนโดยการแก้ไขแผนครั้งที่ 1"
    # before the amendment was announced the list was the plan's own
    before = json.loads(report(client, headers, plan_id, "six-months", cutoff="2020-12-31").data)
    assert (before["list_version"], before["totals"]["projects"]) == (0, 2)
    assert key("ตามการแก้ไขครั้งที่ ๑") in Pdf(report_pdf(client, headers, plan_id, "annual").data,
                                               out / "amended.pdf").text
    # the amendment itself is not where a report is made
    assert report(client, headers, aid, "annual").status_code == 409


def report_jobs(ctx, plan_id) -> list[tuple[str, str]]:
    with ctx.db.read() as session:
        return [(j.dedup_key, j.state) for j in session.scalars(
            select(Job).where(Job.plan_id == plan_id, Job.dedup_key.like("%:report:%")).order_by(Job.id))]


def direct_pdf(ctx, org, plan_id, kind) -> bytes:
    """The report rendered here and now, as no download ever does."""
    with ctx.db.read() as session:
        reader = actor_of(session.scalars(select(User).where(User.username == f"{org.code}-auditor")).one())
    return progress_report.report_pdf(reporting.report(ctx, reader, plan_id, kind))


def test_a_pdf_is_queued_once_rendered_by_a_job_and_served_from_the_cache(ctx, client, org, clock, year):
    run, plan_id, units = year  # today is 1 April 2021
    headers = org.headers("auditor")
    made = dict(renders.RENDERS)
    first = report(client, headers, plan_id, "six-months", "pdf")
    assert first.status_code == 202 and first.mimetype == "application/problem+json"
    assert first.headers["Retry-After"] == "3" and first.headers["Cache-Control"] == "no-store"
    body = first.get_json()
    assert body["status"] == 202 and body["state"] == "queued" and isinstance(body["job"], int)
    again = report(client, headers, plan_id, "six-months", "pdf")  # asked again: the same job, no second
    assert again.status_code == 202 and again.get_json()["job"] == body["job"]
    document = "report:six-months:2021-03-31"
    assert report_jobs(ctx, plan_id) == [(f"render:{plan_id}:{document}", "queued")]
    assert renders.RENDERS == made  # a download never renders
    # JSON and XLSX are made at once, queue nothing
    assert report(client, headers, plan_id, "six-months", "xlsx").status_code == 200
    assert len(report_jobs(ctx, plan_id)) == 1

    work_queue(client)
    assert renders.RENDERS.get(document, 0) == made.get(document, 0) + 1
    served = report(client, headers, plan_id, "six-months", "pdf")
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    direct = direct_pdf(ctx, org, plan_id, "six-months")
    assert served.data == direct  # the job's copy is what the figures render to, byte for byte
    assert report(client, headers, plan_id, "six-months", "pdf").data == served.data
    assert work_queue(client) == 0 and renders.RENDERS.get(document) == made.get(document, 0) + 1

    # another cut-off is another copy, kept beside the first
    early = report(client, headers, plan_id, "six-months", "pdf", cutoff="2021-03-30")
    assert early.status_code == 202 and early.get_json()["job"] != body["job"]
    early = report_pdf(client, headers, plan_id, "six-months", cutoff="2021-03-30")
    assert early.status_code == 200 and early.data != served.data
    with ctx.db.read() as session:
        assert sorted(session.scalars(select(RenderedDocument.kind).where(RenderedDocument.plan_id == plan_id,
                                                            RenderedDocument.kind.like("report:%")))) \
            == ["report:six-months:2021-03-30", document]
    assert report(client, headers, plan_id, "six-months", "pdf").data == served.data


def test_progress_before_the_cut_off_makes_the_kept_copy_stale(ctx, client, org, clock, year):
    run, plan_id, units = year
    headers = org.headers("executive")
    clock.set(bangkok(2021, 4, 10, 9, 0))  # the annual report: as of today while its months last
    before = report_pdf(client, headers, plan_id, "annual")
    assert before.status_code == 200
    assert report(client, headers, plan_id, "annual", "pdf").data == before.data
    clock.set(bangkok(2021, 4, 10, 10, 0))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", ROAD_DONE).status_code == 200
    stale = report(client, headers, plan_id, "annual", "pdf")
    assert stale.status_code == 202  # the copy of the figures before it is not served as this report
    fresh = report_pdf(client, headers, plan_id, "annual")
    assert fresh.status_code == 200 and fresh.data != before.data
    assert fresh.data == direct_pdf(ctx, org, plan_id, "annual")
    # the same cache row, replaced: one copy per plan, kind and cut-off
    with ctx.db.read() as session:
        assert list(session.scalars(select(RenderedDocument.kind).where(RenderedDocument.plan_id == plan_id,
                                                            RenderedDocument.kind.like("report:%")))) == [
            "report:annual:2021-04-10"]


def test_a_pdf_whose_render_fails_for_good_says_so(ctx, client, org, clock, year, monkeypatch):
    run, plan_id, _ = year
    headers = org.headers("auditor")

    def broken(figures):
        raise RuntimeError("a template error")

    monkeypatch.setattr(progress_report, "report_pdf", broken)
    assert report(client, headers, plan_id, "annual", "pdf").status_code == 202
    for minutes in range(4):  # each try after a growing pause, at most three in all
        clock.set(bangkok(2021, 4, 1, 1 + minutes, 0))
        work_queue(client)
    assert report_jobs(ctx, plan_id)[-1][1] == "failed"
    failed = report(client, headers, plan_id, "annual", "pdf")
    assert failed.status_code == 503 and "ไม่สำเร็จ" in failed.get_json()["detail"]
    assert report(client, headers, plan_id, "annual", "json").status_code == 200  # the figures still answer
    assert len(report_jobs(ctx, plan_id)) == 1  # nothing queued again by a download


@pytest.mark.parametrize(("kind", "cutoff", "words"), [
    ("annual", "2021-10-06", "ต้องอยู่ระหว่างวันที่"),  # after the fiscal year
    ("annual", "2020-09-30", "ต้องอยู่ระหว่างวันที่"),  # before it
    ("six-months", "2021-04-01", "ต้องอยู่ระหว่างวันที่"),  # after the six months
    ("annual", "2021-02-30", "รูปแบบ"), ("annual", "31/03/2564", "รูปแบบ"), ("annual", "x" * 500, "รูปแบบ"),
    ("annual", "", None),  # empty: the default
])
def test_bad_cut_offs_are_refused_in_thai(ctx, client, org, clock, year, kind, cutoff, words):
    run, plan_id, _ = year
    clock.set(bangkok(2021, 10, 5, 9, 0))
    answer = report(client, org.headers("auditor"), plan_id, kind, cutoff=cutoff)
    if words is None:
        assert answer.status_code == 200
        return
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert words in answer.get_json()["detail"] and answer.get_json()["errors"][0]["field"] == "cutoff"


def test_a_cut_off_after_today_is_refused(ctx, client, org, clock, year):
    run, plan_id, _ = year  # today is 1 April 2021
    answer = report(client, org.headers("auditor"), plan_id, "annual", cutoff="2021-04-02")
    assert answer.status_code == 422 and "ต้องไม่เป็นวันในอนาคต" in answer.get_json()["detail"]
    # without one, the annual report is as of today while its months last
    assert json.loads(report(client, org.headers("auditor"), plan_id, "annual").data)["cutoff"] == "2021-04-01"


def test_untracked_plans_other_organizations_and_unknown_kinds_are_refused(ctx, client, org, other_org, clock,
                                                                         announced):
    run, plan_id = announced  # approved, not announced yet: nothing is tracked
    for extension in ("pdf", "xlsx", "json"):
        answer = report(client, org.headers("auditor"), plan_id, "annual", extension)
        assert answer.status_code == 409 and "ยังไม่ได้ประกาศใช้" in answer.get_json()["detail"]
    run.complete(plan_id, "announce_plan")
    assert report(client, other_org.headers("auditor"), plan_id, "annual").status_code == 404
    assert report(client, other_org.headers("auditor"), plan_id, "annual", "pdf").status_code == 404
    assert report(client, org.headers("auditor"), 999999, "annual").status_code == 404
    assert report(client, org.headers("auditor"), plan_id, "quarterly").status_code == 404
    assert report(client, org.headers("auditor"), plan_id, "annual", "docx").status_code == 404
    assert report(client, {}, plan_id, "annual").status_code == 401


def test_the_progress_page_links_the_reports_for_a_signed_in_user(ctx, client, org, clock, year):
    from .web import add_person, log_in

    run, plan_id, _ = year
    add_person(ctx, "somying", org.code, ["executive"], "นางสมหญิง บริหารดี")
    log_in(client, "somying")
    page = client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert f"/plans/{plan_id}/reports/six-months.pdf" in page and f"/plans/{plan_id}/reports/annual.xlsx" in page
    answer = client.get(f"/plans/{plan_id}/reports/six-months.pdf")  # not made yet: the page says so
    assert answer.status_code == 202 and answer.mimetype == "text/html" and answer.headers["Refresh"] == "3"
    assert "กำลังจัดทำเอกสาร" in answer.get_data(as_text=True)
    work_queue(client)
    answer = client.get(f"/plans/{plan_id}/reports/six-months.pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    # a cut-off of its own: its own copy, and the page asks again for the same address
    answer = client.get(f"/plans/{plan_id}/reports/six-months.pdf?cutoff=2021-03-30")
    assert answer.status_code == 202 and f"/plans/{plan_id}/reports/six-months.pdf?cutoff=2021-03-30" in \
        answer.get_data(as_text=True)
    assert client.get(f"/plans/{plan_id}/reports/six-months.pdf?cutoff=2099-01-01").status_code == 422


def test_the_evaluation_report_prints_the_years_annual_figures_as_of_its_day(ctx, client, org, clock, year, out):
    run, plan_id, units = year
    clock.set(bangkok(2021, 4, 10, 10, 0))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", ROAD_DONE).status_code == 200
    clock.set(bangkok(2021, 10, 5, 9, 0))
    monitoring = Monitoring(client, org)
    mid = monitoring.start(fiscal_year=2564)["id"]
    monitoring.complete(mid, "evaluate_results", {
        "evaluated_on": "2021-10-20", "evaluation_findings": "ดำเนินการแล้วเสร็จ 1 โครงการ",
        "evaluation_recommendations": ["เร่งรัดการเบิกจ่าย"], "evaluation_chair": "นายประเมิน ติดตามดี",
        "reported_on": "2021-10-25"})
    draft = get_document(client, f"/api/v1/plans/{mid}/documents/evaluation.pdf", headers=org.headers("auditor"))
    assert draft.status_code == 200 and key("๔๗๔,๙๙๙.๙๙") in Pdf(draft.data, out / "draft.pdf").text
    monitoring.complete(mid, "present_results", {"presented_to_council_on": "2021-11-01",
                                                 "council_meeting": "สมัยสามัญ สมัยที่ 4",
                                                 "presented_to_committee_on": "2021-11-03"})
    monitoring.complete(mid, "announce_results", {"announced_on": "2021-11-05", "executive_name": "นายสมชาย ใจดี",
                                                  "executive_title": "นายกเทศมนตรีตำบลกระดังงา"})
    frozen = get_document(client, f"/api/v1/plans/{mid}/documents/evaluation.pdf", headers=org.headers("auditor"))
    assert frozen.status_code == 200 and frozen.headers.get("ETag")  # the frozen one
    # progress recorded after the fiscal year's end is not in it, and the frozen bytes stay
    clock.set(bangkok(2021, 11, 6, 9, 0))
    later = {**ROAD_DONE, "note": "ตรวจรับงานเพิ่มเติม"}
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", later).status_code == 200
    again = get_document(client, f"/api/v1/plans/{mid}/documents/evaluation.pdf", headers=org.headers("auditor"))
    assert again.data == frozen.data
    pdf = Pdf(frozen.data, out / "evaluation.pdf")
    for words in ("ผลการดำเนินงานตามแผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. ๒๕๖๔", "ณ วันที่ ๓๐ กันยายน พ.ศ. ๒๕๖๔",
                  "474,999.99", "2,980,000.50", "เบิกจ่ายแล้ว ๔๗๔,๙๙๙.๙๙ บาท"):
        assert key(words) in pdf.text, words
    pdf.png(1, len(pdf.pages), "evaluation")
    # made again from the plan as it stood at its step, the figures give the same bytes
    from service.commands import documents as freezing
    from service.documents import records, render
    from service.tracking import reporting
    file = records.load(ctx, None, mid)
    seq = file.freeze_points()["evaluation"]
    assert render.evaluation(reporting.with_year_figures(ctx, file.as_of(seq), "evaluation")) == frozen.data
    assert freezing.freeze_due(ctx, mid) == []
