"""Evidence of a tracked project's progress (issue 15, item 1): photos and PDFs a unit attaches to
its project's progress, checked from their content and kept by SHA-256 as a step's attachments are,
each recorded by a progress_evidence_added event of the plan's chain; listed and downloaded by who
may see the progress page, carried in the audit export. Each refusal: a Thai message, nothing stored."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service import audit, cli
from service.models import Event, TrackedProject
from service.taskforms import attachments as rules
from service.tracking import replay

from ..conftest import bangkok
from .documents_queue import get_document
from .test_attachments import EXECUTABLE, JPEG, PDF, PNG, Endless, Stored, exported, multipart, rewrite, sha
from .test_progress import ROAD, Units, announced, events_of  # noqa: F401 - announced is a fixture
from .web import add_person, csrf_token, log_in

ROAD_NUMBER, TRUCK_NUMBER = "1.2.1", "1.1.1"  # กองช่าง's road, สำนักปลัด's water truck


def evidence_url(plan_id, number):
    return f"/api/v1/plans/{plan_id}/progress/{number}/evidence"


def attach(client, headers, plan_id, number, content, filename="ภาพถนน.jpg"):
    request = multipart(content, filename)
    request["headers"].update(headers)
    return client.post(evidence_url(plan_id, number), **request)


@pytest.fixture
def tracked(ctx, client, org, clock, announced):  # noqa: F811 - the fixture imported above
    """The announced plan of two projects, in February of its year, with officials of both units."""
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 2, 15, 10, 0))
    return plan_id, Units(ctx, org)


def test_a_unit_attaches_photos_and_a_pdf_each_an_event_of_the_chain_that_replays(ctx, client, org, tracked,
                                                                                   monkeypatch):
    plan_id, units = tracked
    engineer = units.headers("กองช่าง")
    added = [attach(client, engineer, plan_id, ROAD_NUMBER, content, name)
             for content, name in ((JPEG, "ภาพถนน.jpg"), (PNG, "งาน/ภาพหลังเสร็จ.png"), (PDF, "ใบส่งมอบงาน.pdf"))]
    assert [a.status_code for a in added] == [201, 201, 201], [a.get_json() for a in added]
    assert [(a.get_json()["filename"], a.get_json()["kind"], a.get_json()["project"]) for a in added] == [
        ("ภาพถนน.jpg", "jpeg", ROAD_NUMBER), ("ภาพหลังเสร็จ.png", "png", ROAD_NUMBER),
        ("ใบส่งมอบงาน.pdf", "pdf", ROAD_NUMBER)]

    # the chain records each file with its project and SHA-256, in the unit's role
    events = events_of_rows(ctx, plan_id)
    recorded = [e for e in events if e["kind"] == "progress_evidence_added"]
    assert [(e["data"], e["role"], e["actor"], e["task"]) for e in recorded] == [
        ({"project": ROAD_NUMBER, "filename": name, "type": kind, "bytes": len(content), "sha256": sha(content)},
         "unit", f"{org.code}-engineer", None)
        for content, name, kind in ((JPEG, "ภาพถนน.jpg", "jpeg"), (PNG, "ภาพหลังเสร็จ.png", "png"),
                                    (PDF, "ใบส่งมอบงาน.pdf", "pdf"))]

    # the lists: the project's, the progress page's, and replaying the chain gives the same files
    listed = client.get(evidence_url(plan_id, ROAD_NUMBER), headers=org.headers("auditor")).get_json()
    assert listed["accepts"]["kinds"] == ["jpeg", "png", "pdf"] and listed["number"] == ROAD_NUMBER
    assert [(a["filename"], a["sha256"], a["seq"]) for a in listed["attachments"]] == [
        (e["data"]["filename"], e["data"]["sha256"], e["seq"]) for e in recorded]
    page = client.get(f"/api/v1/plans/{plan_id}/progress", headers=org.headers("auditor")).get_json()
    assert {p["number"]: len(p["evidence"]) for p in page["projects"]} == {TRUCK_NUMBER: 0, ROAD_NUMBER: 3}
    state = replay.replay(events)
    assert [(f["filename"], f["sha256"], f["bytes"]) for f in state.projects[ROAD_NUMBER].evidence] == [
        (a["filename"], a["sha256"], a["size"]) for a in listed["attachments"]]
    assert state.projects[TRUCK_NUMBER].evidence == []

    # the progress still replays to the read model, and the chain verifies (the CLI says so too)
    with ctx.db.read() as session:
        rows = {r.number: (r.status, r.progress) for r in session.scalars(select(TrackedProject))}
    assert {n: (t.status, t.progress) for n, t in state.projects.items()} == rows
    assert audit.verify_plan(ctx, plan_id).ok
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    verified = CliRunner().invoke(cli.main, ["audit", "verify", str(plan_id)])
    assert verified.exit_code == 0, verified.output


def test_the_planning_office_and_the_admin_attach_to_any_unit_s_project(client, org, tracked):
    plan_id, _ = tracked
    assert attach(client, org.headers("planning_office"), plan_id, TRUCK_NUMBER, JPEG).status_code == 201
    assert attach(client, org.headers("admin"), plan_id, ROAD_NUMBER, PNG).status_code == 201


@pytest.mark.parametrize(("content", "filename", "status", "words"), [
    (EXECUTABLE, "ภาพ.pdf", 422, "เนื้อไฟล์ไม่ใช่ไฟล์ JPEG, PNG, PDF"),  # a program renamed .pdf: its content says
    (b"GIF89a" + bytes(100), "ภาพ.jpg", 422, "เนื้อไฟล์ไม่ใช่ไฟล์"),
    (b"", "ว่าง.jpg", 422, "ว่างเปล่า"),
    (None, "", 422, "กรุณาเลือกไฟล์ JPEG, PNG, PDF"),
    (PDF[:5] + bytes(rules.MAX_BYTES), "ใหญ่.pdf", 413, "ไม่เกิน 10 MB"),  # one byte over: read to the limit only
])
def test_a_file_not_of_a_kind_taken_empty_missing_or_too_large_is_refused(ctx, client, tracked, content, filename,
                                                                          status, words):
    plan_id, units = tracked
    before = Stored(ctx, plan_id).snapshot()
    response = attach(client, units.headers("กองช่าง"), plan_id, ROAD_NUMBER, content, filename)
    assert response.status_code == status and words in response.get_json()["detail"], response.get_json()
    assert Stored(ctx, plan_id).snapshot() == before  # no row, no event, no file kept (nor left in transit)


def test_a_request_of_50_mb_is_refused_from_its_length_without_being_read(ctx, client, tracked):
    plan_id, units = tracked
    before = Stored(ctx, plan_id).snapshot()
    body = Endless(b"--x\r\n", 50 * 1024 * 1024)
    response = client.post(evidence_url(plan_id, ROAD_NUMBER), input_stream=body, headers=units.headers("กองช่าง"),
                           content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413 and "ไม่เกิน 10 MB" in response.get_json()["detail"]
    assert body.read_so_far < 1024 * 1024
    assert Stored(ctx, plan_id).snapshot() == before


def test_the_same_file_twice_on_a_project_is_refused_but_on_another_project_is_kept(ctx, client, org, tracked):
    plan_id, units = tracked
    office = org.headers("planning_office")
    assert attach(client, office, plan_id, ROAD_NUMBER, JPEG, "ถนน.jpg").status_code == 201
    before = Stored(ctx, plan_id).snapshot()
    again = attach(client, office, plan_id, ROAD_NUMBER, JPEG, "อีกครั้ง.jpg")
    assert again.status_code == 422 and "แนบไว้ในโครงการนี้แล้ว (ชื่อ ถนน.jpg)" in again.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before
    assert attach(client, office, plan_id, TRUCK_NUMBER, JPEG, "ถนน.jpg").status_code == 201  # kept once, on disk


def test_who_may_not_record_the_project_s_progress_may_not_attach_to_it(ctx, client, org, other_org, tracked):
    plan_id, units = tracked
    before = Stored(ctx, plan_id).snapshot()
    another_unit = attach(client, units.headers("กองช่าง"), plan_id, TRUCK_NUMBER, JPEG)
    assert another_unit.status_code == 403 and "สำนักปลัด" in another_unit.get_json()["detail"]
    assert attach(client, org.headers("auditor"), plan_id, ROAD_NUMBER, JPEG).status_code == 403
    assert attach(client, org.headers("executive"), plan_id, ROAD_NUMBER, JPEG).status_code == 403
    assert attach(client, other_org.headers("planning_office"), plan_id, ROAD_NUMBER, JPEG).status_code == 404
    unknown = attach(client, units.headers("กองช่าง"), plan_id, "9.9.9", JPEG)
    assert unknown.status_code == 404 and "ไม่มีโครงการลำดับที่ 9.9.9" in unknown.get_json()["detail"]
    assert attach(client, org.headers("planning_office"), 2_000_000_000, ROAD_NUMBER, JPEG).status_code == 404
    assert Stored(ctx, plan_id).snapshot() == before


def test_a_plan_not_announced_yet_takes_no_evidence(ctx, client, org, announced):  # noqa: F811
    _, plan_id = announced
    before = Stored(ctx, plan_id).snapshot()
    refused = attach(client, org.headers("planning_office"), plan_id, ROAD_NUMBER, JPEG)
    assert refused.status_code == 409 and "ยังไม่ได้ประกาศใช้" in refused.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before
    assert client.get(evidence_url(plan_id, ROAD_NUMBER), headers=org.headers("auditor")).status_code == 404


def test_downloads_are_for_who_sees_the_progress_page(ctx, client, org, other_org, tracked):
    plan_id, units = tracked
    added = attach(client, units.headers("กองช่าง"), plan_id, ROAD_NUMBER, PDF, "ใบส่งมอบงาน.pdf").get_json()
    own = f"{evidence_url(plan_id, ROAD_NUMBER)}/{added['id']}"
    for headers in (units.headers("สำนักปลัด"), org.headers("auditor"), org.headers("executive")):
        for path in (own, f"/api/v1/plans/{plan_id}/attachments/{added['id']}"):
            response = client.get(path, headers=headers)
            assert response.status_code == 200 and response.data == PDF
            assert response.headers["ETag"] == f'"{sha(PDF)}"'
            assert response.headers["Content-Type"] == "application/pdf"
    for headers in (other_org.headers("auditor"), other_org.headers("planning_office")):
        assert client.get(own, headers=headers).status_code == 404
        assert client.get(evidence_url(plan_id, ROAD_NUMBER), headers=headers).status_code == 404
    # the file is the road's: under another project's path it does not exist
    assert client.get(f"{evidence_url(plan_id, TRUCK_NUMBER)}/{added['id']}",
                      headers=org.headers("auditor")).status_code == 404
    assert client.get(f"{evidence_url(plan_id, ROAD_NUMBER)}/{added['id'] + 1}",
                      headers=org.headers("auditor")).status_code == 404


def test_the_export_carries_the_evidence_and_verify_bundle_checks_it(ctx, client, org, tracked, tmp_path):
    plan_id, units = tracked
    assert attach(client, units.headers("กองช่าง"), plan_id, ROAD_NUMBER, JPEG, "ถนน.jpg").status_code == 201
    path, body = exported(client, org, plan_id, tmp_path)
    assert [(a["filename"], a["sha256"], base64.b64decode(a["content_base64"])) for a in body["attachments"]] == [
        ("ถนน.jpg", sha(JPEG), JPEG)]
    assert audit.verify_bundle(path).ok
    body["attachments"][0]["content_base64"] = base64.b64encode(PNG).decode()  # a photo swapped
    rewrite(tmp_path / "altered.json", body)
    divergence = audit.verify_bundle(tmp_path / "altered.json").first_divergence
    assert divergence.reason == "attachment_altered" and divergence.kind == "progress_evidence_added"


def test_the_audit_page_and_the_record_name_the_evidence(ctx, app, client, org, tracked):
    plan_id, units = tracked
    assert attach(client, units.headers("กองช่าง"), plan_id, ROAD_NUMBER, JPEG, "ภาพถนน-km4.jpg").status_code == 201
    seq = max(e["seq"] for e in events_of_rows(ctx, plan_id) if e["kind"] == "progress_evidence_added")
    add_person(ctx, "inspector", org.code, ["auditor"])
    auditor = app.test_client()
    log_in(auditor, "inspector")
    step = auditor.get(f"/audit/plans/{plan_id}/steps/{seq}").get_data(as_text=True)
    assert "แนบหลักฐานผลการดำเนินงานโครงการ" in step and "ภาพถนน-km4.jpg" in step and sha(JPEG) in step
    assert "ไฟล์หลักฐาน" in step and "โครงการลำดับที่" in step

    record = get_document(client, f"/api/v1/plans/{plan_id}/documents/record.pdf", headers=org.headers("auditor"))
    assert record.status_code == 200
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=record.data, capture_output=True,
                          check=True).stdout.decode()
    compact = "".join(text.split()).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    assert "แนบหลักฐานผลการดาเนินงานโครงการ" in compact and "km4.jpg" in compact, text  # pdftotext drops ำ's nikhahit
    assert sha(JPEG)[:16] in compact, text


def events_of_rows(ctx, plan_id):
    """The plan's events as replay reads them (and as they were recorded)."""
    with ctx.db.read() as session:
        return [{"seq": e.seq, "kind": e.kind, "at": e.at, "actor": e.actor, "role": e.role, "task": e.task,
                 "data": e.data} for e in session.scalars(select(Event).where(Event.plan_id == plan_id)
                                                          .order_by(Event.seq))]


# --- On the pages -----------------------------------------------------------------------------
@pytest.fixture
def engineer(ctx, app, org, tracked):
    """กองช่าง's official, signed in."""
    add_person(ctx, "somchai", org.code, ["unit"], "นายสมชาย ช่างดี")
    from service.commands import progress
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")
    browser = app.test_client()
    log_in(browser, "somchai")
    return browser


TYPED = {"/status": "in_progress", "/started_on#d": "11", "/started_on#m": "1", "/started_on#y": "2564",
         "/note": "ลงลูกรังแล้วครึ่งสาย"}


def page_attach(browser, plan_id, number, content, filename, **typed):
    path = f"/plans/{plan_id}/progress/{number}"
    return browser.post(f"{path}/evidence", **multipart(content, filename, csrf_token=csrf_token(browser, path),
                                                        **typed))


def test_the_form_takes_a_photo_keeps_what_was_typed_and_the_page_lists_it(ctx, client, org, engineer, tracked):
    plan_id, _ = tracked
    form = engineer.get(f"/plans/{plan_id}/progress/{ROAD_NUMBER}").get_data(as_text=True)
    assert "หลักฐานผลการดำเนินงาน" in form and "ยังไม่มีไฟล์หลักฐาน" in form and "ไม่เกิน 10 MB" in form
    assert 'accept=".jpg,image/jpeg,.png,image/png,.pdf,application/pdf"' in form

    added = page_attach(engineer, plan_id, ROAD_NUMBER, JPEG, "ถนนช่วงที่1.jpg", **TYPED)
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and "แนบไฟล์ “ถนนช่วงที่1.jpg” แล้ว" in html
    assert "ลงลูกรังแล้วครึ่งสาย" in html and "ยังไม่ได้บันทึก" in html  # typed, shown again, not recorded
    assert client.get(f"/api/v1/plans/{plan_id}/progress", headers=org.headers("auditor")).get_json()[
        "projects"][1]["progress"] == {"status": "not_started"}
    attachment_id = re.search(rf"/plans/{plan_id}/attachments/(\d+)", html).group(1)

    untouched = page_attach(engineer, plan_id, ROAD_NUMBER, PNG, "ถนนช่วงที่2.png")  # nothing typed: back to the form
    assert untouched.status_code == 302 and untouched.headers["Location"].endswith(f"/progress/{ROAD_NUMBER}")

    page = engineer.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert "ถนนช่วงที่1.jpg" in page and "ถนนช่วงที่2.png" in page and "หลักฐานผลการดำเนินงาน 2 ไฟล์" in page
    download = engineer.get(f"/plans/{plan_id}/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data == JPEG


@pytest.mark.parametrize(("content", "words"), [(EXECUTABLE, "เนื้อไฟล์ไม่ใช่ไฟล์ JPEG, PNG, PDF"),
                                                (b"", "ว่างเปล่า")])
def test_a_refused_file_on_the_form_is_said_beside_the_field_and_what_was_typed_stays(ctx, engineer, tracked,
                                                                                       content, words):
    plan_id, _ = tracked
    before = Stored(ctx, plan_id).snapshot()
    refused = page_attach(engineer, plan_id, ROAD_NUMBER, content, "ภาพ.pdf", **TYPED)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert '<p class="error" id="evidence-file-error">' in html and words in html
    assert "ลงลูกรังแล้วครึ่งสาย" in html
    assert Stored(ctx, plan_id).snapshot() == before


def test_a_50_mb_file_on_the_form_is_refused_before_it_is_read(ctx, engineer, tracked):
    plan_id, _ = tracked
    before = Stored(ctx, plan_id).snapshot()
    path = f"/plans/{plan_id}/progress/{ROAD_NUMBER}"
    token, boundary = csrf_token(engineer, path), "phaen-test"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    body = Endless(head + JPEG[:3], 50 * 1024 * 1024)
    response = engineer.post(f"{path}/evidence", input_stream=body,
                             content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert 'id="evidence-file-error"' in response.get_data(as_text=True)
    assert body.read_so_far < 1024 * 1024
    assert Stored(ctx, plan_id).snapshot() == before


def test_on_the_form_another_unit_sees_the_files_but_cannot_attach(ctx, client, app, org, engineer, tracked):
    plan_id, units = tracked
    attach(client, units.headers("สำนักปลัด"), plan_id, TRUCK_NUMBER, JPEG, "รถบรรทุกน้ำ.jpg")
    form = engineer.get(f"/plans/{plan_id}/progress/{TRUCK_NUMBER}").get_data(as_text=True)
    assert "รถบรรทุกน้ำ.jpg" in form and 'id="evidence-file"' not in form
    assert page_attach(engineer, plan_id, TRUCK_NUMBER, PNG, "ภาพ.png").status_code == 403
    inspector = app.test_client()
    add_person(ctx, "inspector", org.code, ["auditor"])
    log_in(inspector, "inspector")
    assert "รถบรรทุกน้ำ.jpg" in inspector.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert page_attach(inspector, plan_id, ROAD_NUMBER, PNG, "ภาพ.png").status_code == 403  # an auditor reads only
