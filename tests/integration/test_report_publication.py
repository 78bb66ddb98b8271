"""Publishing the 6-month report on the public notice board (issue 15, ITA o10): one report_published
event in the plan's chain, the PDF of those figures frozen by a job (or copied from the render cache),
the board's o10 address, its list and its feed; refusals; the same figures published once; changed
figures published again with the earlier publication kept and shown as superseded."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from service import audit
from service.commands import jobs, publication
from service.documents import records, render
from service.models import Event, FrozenDocument, Job, Organization

from ..conftest import bangkok
from . import test_progress_reports
from .test_progress_reports import report_pdf
from .web import add_person, log_in, post_form

announced, out, year = test_progress_reports.announced, test_progress_reports.out, test_progress_reports.year
PUBLISH = "/api/v1/plans/{}/reports/six-months/publish"
O10 = "/public/kradangnga/2564/progress-6-months"


def publish(client, headers, plan_id):
    return client.post(PUBLISH.format(plan_id), headers=headers)


def work_publishing(client) -> int:
    """Run the publication's freeze job only (not the plan's draft renders)."""
    return jobs.work(client.application.extensions["phaen"], "test-worker", kinds=(publication.PUBLISH,))


def published_events(ctx, plan_id):
    with ctx.db.read() as session:
        return [(e.seq, e.data) for e in session.scalars(select(Event).where(
            Event.plan_id == plan_id, Event.kind == "report_published").order_by(Event.seq))]


def frozen(ctx, plan_id):
    with ctx.db.read() as session:
        return {row.kind: row.content for row in session.scalars(select(FrozenDocument).where(
            FrozenDocument.plan_id == plan_id))}


def test_refusals_record_nothing(ctx, client, org, other_org, clock, year):
    run, plan_id, units = year
    clock.set(bangkok(2021, 3, 31, 23, 59))  # the cut-off day is not over yet
    answer = publish(client, org.headers("planning_office"), plan_id)
    assert answer.status_code == 409 and "31 มีนาคม พ.ศ. 2564" in answer.get_json()["detail"]
    clock.set(bangkok(2021, 4, 1, 0, 10))
    assert publish(client, units.headers("กองช่าง"), plan_id).status_code == 403  # a unit official
    assert publish(client, org.headers("auditor"), plan_id).status_code == 403
    assert publish(client, org.headers("executive"), plan_id).status_code == 403
    assert publish(client, other_org.headers("admin"), plan_id).status_code == 404  # another organization
    assert publish(client, org.headers("admin"), 2_000_000_000).status_code == 404
    draft = run.start(fiscal_year=2565)["id"]  # not announced: nothing tracked
    assert publish(client, org.headers("planning_office"), draft).status_code == 409
    assert published_events(ctx, plan_id) == [] and published_events(ctx, draft) == []
    assert client.get(O10).status_code == 404  # still the Thai 404 of nothing published
    assert "ยังไม่มี" in client.get(O10).get_data(as_text=True)


def test_publish_freezes_the_figures_pdf_through_the_queue_and_the_board_serves_it(ctx, client, org, year):
    run, plan_id, units = year
    answer = publish(client, org.headers("planning_office"), plan_id)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["recorded"] is True and body["stored"] is False and body["cutoff"] == "2021-03-31"
    figures = json.loads(client.get(f"/api/v1/plans/{plan_id}/reports/six-months.json",
                                    headers=org.headers("auditor")).data)
    assert body["figures_sha256"] == publication.figures_digest(figures)
    [(seq, data)] = published_events(ctx, plan_id)
    assert data == {"report": "six-months", "cutoff": "2021-03-31", "figures_sha256": body["figures_sha256"]}
    assert body["document"] == f"six-months-{seq}"

    page = client.get(O10)  # before the bytes are stored: said so, not kept
    assert page.status_code == 200 and "กำลังจัดทำเอกสาร" in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    feed = client.get("/public/kradangnga/feed.atom").get_data(as_text=True)
    assert body["document"] not in feed  # no entry until there is a PDF to enclose
    board = client.get("/public/kradangnga/").get_data(as_text=True)
    assert "รายงานการกำกับติดตามการดำเนินงานและการใช้งบประมาณ รอบ 6 เดือน ประจำปีงบประมาณ พ.ศ. 2564" in board

    assert work_publishing(client) == 1
    stored = frozen(ctx, plan_id)[body["document"]]
    assert stored.startswith(b"%PDF-")
    page = client.get(O10).get_data(as_text=True)
    assert hashlib.sha256(stored).hexdigest() in page and f"{len(stored):,} ไบต์" in page
    assert "กำลังจัดทำเอกสาร" not in page
    pdf = client.get(f"/public/kradangnga/plans/{plan_id}/{body['document']}.pdf")
    assert pdf.status_code == 200 and pdf.data == stored
    assert pdf.headers["ETag"] == f'"{hashlib.sha256(stored).hexdigest()}"'
    # the render cache got the same bytes: a member's download of the same figures is the published PDF
    assert report_pdf(client, org.headers("auditor"), plan_id, "six-months").data == stored
    feed = client.get("/public/kradangnga/feed.atom").get_data(as_text=True)
    assert f"/plans/{plan_id}/{body['document']}.pdf" in feed and f'length="{len(stored)}"' in feed
    # the plan's own item page does not list the report as one of the announced plan's documents
    assert body["document"] not in client.get(f"/public/kradangnga/plans/{plan_id}").get_data(as_text=True)

    again = publish(client, org.headers("admin"), plan_id)  # the same figures: nothing new
    assert again.status_code == 200 and again.get_json()["recorded"] is False and again.get_json()["stored"] is True
    assert len(published_events(ctx, plan_id)) == 1
    with ctx.db.read() as session:
        assert session.scalars(select(Job).where(Job.kind == publication.PUBLISH)).all()[0].state == jobs.DONE
    assert audit.verify_plan(ctx, plan_id).ok
    exported = json.loads(audit.export_bundle(ctx, plan_id))
    assert [e["data"] for e in exported["events"] if e["kind"] == "report_published"] == [data]
    assert body["document"] in {d["kind"] for d in exported["frozen_documents"]}


def test_a_cached_render_is_frozen_at_once_and_changed_figures_publish_again(ctx, client, org, year):
    run, plan_id, units = year
    cached = report_pdf(client, org.headers("auditor"), plan_id, "six-months")  # rendered by its job first
    assert cached.status_code == 200
    first = publish(client, org.headers("planning_office"), plan_id).get_json()
    assert first["recorded"] and first["stored"]  # copied from the cache in the request, no job
    assert frozen(ctx, plan_id)[first["document"]] == cached.data
    assert work_publishing(client) == 0

    with ctx.db.write() as session:  # what the report prints changed since (the organization's name)
        session.scalars(select(Organization).where(Organization.code == "kradangnga")).one().name = \
            "เทศบาลเมืองกระดังงา"
    second = publish(client, org.headers("admin"), plan_id)
    assert second.status_code == 201 and second.get_json()["figures_sha256"] != first["figures_sha256"]
    second = second.get_json()
    assert [d["figures_sha256"] for _, d in published_events(ctx, plan_id)] == [first["figures_sha256"],
                                                                                second["figures_sha256"]]
    assert work_publishing(client) == 1
    kept = frozen(ctx, plan_id)
    assert kept[first["document"]] == cached.data and kept[second["document"]] != cached.data  # both kept

    page = client.get(O10).get_data(as_text=True)
    assert hashlib.sha256(kept[second["document"]]).hexdigest() in page  # the newest shown
    assert "ฉบับที่เผยแพร่ก่อนหน้า" in page and f"/{first['document']}.pdf" in page  # the earlier one listed
    old = client.get(f"/public/kradangnga/plans/{plan_id}/{first['document']}.pdf")
    assert old.status_code == 200 and old.data == cached.data  # what the public once saw stays reachable
    assert "มีฉบับใหม่แทนแล้ว" in client.get("/public/kradangnga/").get_data(as_text=True)
    assert audit.verify_plan(ctx, plan_id).ok


def test_the_reports_page_button_publishes_for_an_editor(ctx, client, org, year):
    run, plan_id, units = year
    log_in(client, add_person(ctx, "kradangnga-planner", org.code, ["planning_office"]))
    page = client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert "เผยแพร่ต่อสาธารณะ (ITA o10)" in page
    answer = post_form(client, f"/plans/{plan_id}/reports/six-months/publish", {}, f"/plans/{plan_id}/progress")
    assert answer.status_code == 302 and len(published_events(ctx, plan_id)) == 1
    assert "เผยแพร่รายงานรอบ ๖ เดือนบนป้ายประกาศสาธารณะแล้ว" in client.get(answer.headers["Location"]).get_data(
        as_text=True)


def test_the_button_is_not_offered_to_who_may_not_publish_and_a_post_is_refused(ctx, client, org, year):
    run, plan_id, units = year
    log_in(client, add_person(ctx, "kradangnga-reader", org.code, ["auditor"]))
    assert "เผยแพร่ต่อสาธารณะ (ITA o10)" not in client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    answer = post_form(client, f"/plans/{plan_id}/reports/six-months/publish", {}, f"/plans/{plan_id}/progress")
    assert answer.status_code == 403 and published_events(ctx, plan_id) == []


def test_the_audit_page_and_the_record_title_the_publication_in_thai(ctx, client, org, year):
    run, plan_id, units = year
    assert publish(client, org.headers("planning_office"), plan_id).status_code == 201
    [(seq, _)] = published_events(ctx, plan_id)
    log_in(client, add_person(ctx, "kradangnga-reader", org.code, ["auditor"]))
    page = client.get(f"/audit/plans/{plan_id}?step={seq}").get_data(as_text=True)
    assert "เผยแพร่รายงานผลการดำเนินงานต่อสาธารณะ" in page and "SHA-256 ของตัวเลขในรายงาน" in page
    assert "รายงานการกำกับติดตามการดำเนินงานและการใช้งบประมาณ รอบ 6 เดือน" in page and "วันที่ตัดยอด" in page
    record = render.record(records.load(ctx, None, plan_id))
    assert record.startswith(b"%PDF-")


def test_a_published_report_is_titled_by_its_report_on_the_record():
    from service import labels
    from service.documents import records
    assert records.title_of({}, "six-months-14") == labels.REPORT_TITLES["six-months"]
    assert records.title_of({}, "six-months") == "six-months"  # not a publication: as named
    assert records.title_of({}, "plan") == records.TITLES["plan"]
