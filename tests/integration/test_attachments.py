"""Attachments as evidence: files attached to the steps whose forms declare them (x-attachments),
checked from their content, kept by SHA-256 under the instance folder with that SHA-256 in the plan's
event log, listed and downloaded in the plan's organization, carried in the audit export and
checked by verify-bundle. Each refusal: a Thai message, nothing stored."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re

import pytest
from sqlalchemy import func, select

from service import audit
from service.audit.bundle import bundle_digest
from service.models import Attachment, Event, TaskDraft
from service.taskforms import attachments as rules
from service.taskforms import validation

from .documents_queue import get_document
from .procedure import Procedure
from .web import add_person, log_in

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(300) + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(500)  # a Windows program, renamed .pdf below


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def multipart(content: bytes | None, filename: str, **fields: str) -> dict:
    """A multipart body as a browser sends it, as test-client arguments (the client's own encoding of a
    large file leaves a temporary file open)."""
    boundary = "phaen-test-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in fields.items())
    if content is not None:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"input_stream": io.BytesIO(body), "content_type": f"multipart/form-data; boundary={boundary}",
            "headers": {"Content-Length": str(len(body))}}


def upload(client, org, plan_id, task_id, content, filename="หลักฐาน.pdf", role="planning_office"):
    request = multipart(content, filename)
    request["headers"].update(org.headers(role))
    return client.post(f"/api/v1/plans/{plan_id}/tasks/{task_id}/attachments", **request)


class Endless(io.RawIOBase):
    """A body of ``size`` bytes (``prefix``, then zeros) made as it is read, counting what is read of it."""

    def __init__(self, prefix: bytes, size: int):
        self.prefix, self.size, self.position, self.read_so_far = prefix, size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True  # the test client measures the body by seeking to its end

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position))
        chunk = (self.prefix[self.position:self.position + n]).ljust(n, b"\0")
        buffer[:n] = chunk
        self.position += n
        self.read_so_far += n
        return n


class Stored:
    """What the system holds of a plan's attachments: rows, events, files kept and in transit."""

    def __init__(self, ctx, plan_id):
        self.ctx, self.plan_id = ctx, plan_id

    def snapshot(self):
        root = self.ctx.settings.instance_path / "attachments"
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
        with self.ctx.db.read() as session:
            rows = session.scalar(select(func.count()).select_from(Attachment))
            events = session.scalar(select(func.count()).select_from(Event).where(Event.plan_id == self.plan_id))
        return rows, events, files


@pytest.fixture
def run(client, org):
    return Procedure(client, org)


@pytest.fixture
def posting(run):
    """A plan at ปิดประกาศ (its form takes JPEG, PNG and PDF), and that step's task."""
    plan_id = run.start()["id"]
    run.through_announcement(plan_id)
    return plan_id, run.open_task(plan_id, "post_announcement")


# --- Good files through the API ----------------------------------------------------------------
def test_a_pdf_a_jpeg_and_a_png_are_kept_by_their_sha256_and_recorded_in_the_log(ctx, client, org, run, posting):
    plan_id, task = posting
    added = []
    for content, name, kind in ((PDF, "ประกาศ.pdf", "pdf"), (JPEG, "บอร์ด 1.jpg", "jpeg"), (PNG, "เว็บไซต์.png", "png")):
        response = upload(client, org, plan_id, task["id"], content, name)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert (body["kind"], body["filename"], body["size"]) == (kind, name, len(content))
        assert body["sha256"] == sha(content)
        assert (ctx.settings.instance_path / "attachments" / sha(content)[:2] / sha(content)).read_bytes() == content
        added.append(body)

    events = [e for e in run.client.get(f"/api/v1/plans/{plan_id}/history", headers=org.headers("planning_office"))
              .get_json()["events"] if e["kind"] == "attachment_added"]
    assert [(e["seq"], e["task"], e["task_id"], e["role"], e["data"]) for e in events] == [
        (a["seq"], "post_announcement", task["id"], "planning_office",
         {"filename": a["filename"], "type": a["kind"], "bytes": a["size"], "sha256": a["sha256"]}) for a in added]

    listed = client.get(f"/api/v1/plans/{plan_id}/tasks/{task['id']}/attachments", headers=org.headers("auditor"))
    assert listed.status_code == 200
    assert listed.get_json()["accepts"]["kinds"] == ["jpeg", "png", "pdf"] and listed.get_json()["open"] is True
    assert [a["sha256"] for a in listed.get_json()["attachments"]] == [sha(PDF), sha(JPEG), sha(PNG)]
    for a, content in zip(added, (PDF, JPEG, PNG), strict=True):
        download = client.get(f"/api/v1/plans/{plan_id}/attachments/{a['id']}", headers=org.headers("auditor"))
        assert download.status_code == 200 and download.data == content
        assert download.headers["ETag"] == f'"{sha(content)}"' and download.mimetype == a["mimetype"]
        assert "attachment;" in download.headers["Content-Disposition"]
    assert audit.verify_plan(ctx, plan_id).ok  # attachment events leave the state as it was: replay agrees

    run.complete(plan_id, "post_announcement")  # the step completes as before; its files stay with it
    after = client.get(f"/api/v1/plans/{plan_id}/attachments", headers=org.headers("executive")).get_json()
    step = "ปิดประกาศแผนการดำเนินงาน"
    assert [(a["step"], a["filename"]) for a in after["attachments"]] == [
        (step, "ประกาศ.pdf"), (step, "บอร์ด 1.jpg"), (step, "เว็บไซต์.png")]


def test_the_same_bytes_on_two_steps_are_kept_once(ctx, client, org, run, posting):
    plan_id, task = posting
    assert upload(client, org, plan_id, task["id"], PDF).status_code == 201
    other = run.start(fiscal_year=2565)["id"]
    run.through_announcement(other)
    assert upload(client, org, other, run.open_task(other, "post_announcement")["id"], PDF).status_code == 201
    kept = list((ctx.settings.instance_path / "attachments").rglob(sha(PDF)))
    assert len(kept) == 1


# --- Bad files: a Thai message, nothing stored ---------------------------------------------------
@pytest.mark.parametrize(("content", "filename", "status", "words"), [
    (EXECUTABLE, "รายงานการประชุม.pdf", 422, "เนื้อไฟล์ไม่ใช่ไฟล์"),
    (b"", "ว่าง.pdf", 422, "ว่างเปล่า"),
    (b"%PDF", "สั้น.pdf", 422, "เนื้อไฟล์ไม่ใช่ไฟล์"),  # shorter than a signature
    (b"<html><script>alert(1)</script></html>", "หน้าเว็บ.png", 422, "เนื้อไฟล์ไม่ใช่ไฟล์"),
    (PDF[:5] + bytes(rules.MAX_BYTES), "ใหญ่.pdf", 413, "ไม่เกิน 10 MB"),  # one byte over: read to the limit only
])
def test_a_file_that_is_not_what_it_says_empty_or_too_large_is_refused(ctx, client, org, posting, content, filename,
                                                                        status, words):
    plan_id, task = posting
    stored = Stored(ctx, plan_id)
    before = stored.snapshot()
    response = upload(client, org, plan_id, task["id"], content, filename)
    assert response.status_code == status
    body = response.get_json()
    assert words in body["detail"] and body["errors"] == [{"field": "file", "message": body["detail"]}]
    assert stored.snapshot() == before


def test_a_kind_the_step_does_not_take_is_refused(ctx, client, org, run):
    plan_id = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft", "consider_draft", "present_to_executive",
                 "approve_plan"):
        run.complete(plan_id, name)
    task = run.open_task(plan_id, "announce_plan")  # the signed announcement: PDF only
    stored = Stored(ctx, plan_id)
    before = stored.snapshot()
    response = upload(client, org, plan_id, task["id"], PNG, "ประกาศ.png", role="executive")
    assert response.status_code == 422
    assert response.get_json()["detail"] == "ขั้นตอนนี้รับเฉพาะไฟล์ PDF แต่ไฟล์นี้เป็น PNG"
    assert stored.snapshot() == before
    assert upload(client, org, plan_id, task["id"], PDF, "ประกาศ.pdf", role="executive").status_code == 201


def test_a_step_whose_form_declares_no_attachments_takes_none(client, org, run):
    plan = run.start()
    task = plan["tasks"][0]  # รวบรวมโครงการ/กิจกรรม
    response = upload(client, org, plan["id"], task["id"], PDF, role="support_committee")
    assert response.status_code == 422 and response.get_json()["detail"] == "ขั้นตอนนี้ไม่ได้กำหนดให้แนบไฟล์"


def test_a_request_of_50_mb_is_refused_from_its_length_without_being_read(ctx, client, org, posting):
    plan_id, task = posting
    stored = Stored(ctx, plan_id)
    before = stored.snapshot()
    size = 50 * 1024 * 1024

    body = Endless(b"--x\r\n", size)
    response = client.post(f"/api/v1/plans/{plan_id}/tasks/{task['id']}/attachments", input_stream=body,
                           headers=org.headers("planning_office"), content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413
    assert "ไม่เกิน 10 MB" in response.get_json()["detail"]
    assert body.read_so_far < 1024 * 1024  # refused before its body was read
    assert stored.snapshot() == before


def test_the_same_file_twice_on_one_step_is_refused(ctx, client, org, posting):
    plan_id, task = posting
    assert upload(client, org, plan_id, task["id"], JPEG, "บอร์ด.jpg").status_code == 201
    before = Stored(ctx, plan_id).snapshot()
    again = upload(client, org, plan_id, task["id"], JPEG, "บอร์ดอีกครั้ง.jpg")
    assert again.status_code == 422 and "แนบไว้ในขั้นตอนนี้แล้ว (ชื่อ บอร์ด.jpg)" in again.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before


def test_a_file_without_a_name_or_no_file_at_all(client, org, posting):
    plan_id, task = posting
    none = upload(client, org, plan_id, task["id"], None)
    assert none.status_code == 422 and "กรุณาเลือกไฟล์" in none.get_json()["detail"]
    named = upload(client, org, plan_id, task["id"], PNG, "../../etc/\u200bภาพ\x07.png")
    assert named.status_code == 201 and named.get_json()["filename"] == "ภาพ.png"


# --- Who may attach, and when ------------------------------------------------------------------
def test_another_organization_sees_no_such_plan(ctx, client, org, other_org, posting):
    plan_id, task = posting
    before = Stored(ctx, plan_id).snapshot()
    response = upload(client, other_org, plan_id, task["id"], PDF)
    assert response.status_code == 404 and response.get_json()["detail"] == "ไม่พบแผนนี้"
    assert client.get(f"/api/v1/plans/{plan_id}/attachments", headers=other_org.headers("auditor")).status_code == 404
    assert Stored(ctx, plan_id).snapshot() == before


@pytest.mark.parametrize("role", ["support_committee", "executive", "auditor", "admin"])
def test_only_who_may_complete_the_step_attaches_to_it(ctx, client, org, posting, role):
    plan_id, task = posting
    before = Stored(ctx, plan_id).snapshot()
    response = upload(client, org, plan_id, task["id"], PDF, role=role)
    assert response.status_code == 403 and "ท่านไม่มีสิทธิ์" in response.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before


def test_a_step_someone_else_holds_takes_no_file_from_another(ctx, client, org, posting):
    from service.commands import admin

    plan_id, task = posting
    other = admin.add_user(ctx, "planner2", org.code, ["planning_office"], with_token=True)
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=org.headers("planning_office")).status_code == 200
    before = Stored(ctx, plan_id).snapshot()
    request = multipart(PDF, "x.pdf")
    request["headers"]["Authorization"] = f"Bearer {other}"
    response = client.post(f"/api/v1/plans/{plan_id}/tasks/{task['id']}/attachments", **request)
    assert response.status_code == 403 and "รับไปดำเนินการแล้ว" in response.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before


def test_a_completed_step_takes_no_more_files_and_keeps_those_it_has(ctx, client, org, run, posting):
    plan_id, task = posting
    assert upload(client, org, plan_id, task["id"], JPEG).status_code == 201
    run.complete(plan_id, "post_announcement")
    before = Stored(ctx, plan_id).snapshot()
    response = upload(client, org, plan_id, task["id"], PNG)
    assert response.status_code == 409 and "ดำเนินการเสร็จไปแล้ว" in response.get_json()["detail"]
    assert Stored(ctx, plan_id).snapshot() == before
    listed = client.get(f"/api/v1/plans/{plan_id}/tasks/{task['id']}/attachments", headers=org.headers("auditor"))
    assert listed.get_json()["open"] is False and [a["sha256"] for a in listed.get_json()["attachments"]] == [sha(JPEG)]


def test_unknown_steps_and_attachments_are_404(client, org, posting):
    plan_id, task = posting
    headers = org.headers("planning_office")
    assert upload(client, org, plan_id, "no-such-task", PDF).status_code == 404
    assert client.get(f"/api/v1/plans/{plan_id}/tasks/no-such-task/attachments", headers=headers).status_code == 404
    assert client.get(f"/api/v1/plans/{plan_id}/attachments/99", headers=headers).status_code == 404
    assert client.get(f"/api/v1/plans/{plan_id}/attachments/99999999999999999999", headers=headers).status_code == 404
    assert upload(client, org, plan_id + 1000, task["id"], PDF).status_code == 404


def test_a_kept_file_removed_or_altered_is_never_served_as_the_evidence(ctx, client, org, posting):
    plan_id, task = posting
    added = upload(client, org, plan_id, task["id"], PDF).get_json()
    kept = ctx.settings.instance_path / "attachments" / added["sha256"][:2] / added["sha256"]
    kept.write_bytes(PDF + b"altered")
    response = client.get(f"/api/v1/plans/{plan_id}/attachments/{added['id']}", headers=org.headers("auditor"))
    assert response.status_code == 503 and "SHA-256 ไม่ตรง" in response.get_json()["detail"]
    kept.unlink()
    response = client.get(f"/api/v1/plans/{plan_id}/attachments/{added['id']}", headers=org.headers("auditor"))
    assert response.status_code == 503


# --- The pages ---------------------------------------------------------------------------------
@pytest.fixture
def planner(app, ctx, org, other_org):
    add_person(ctx, "planner", org.code, ["planning_office"], "สมใจ ปิดประกาศ")
    add_person(ctx, "chair", org.code, ["support_committee"])
    add_person(ctx, "inspector", org.code, ["auditor"])
    add_person(ctx, "stranger", other_org.code, ["planning_office"])
    return signed_in(app, "planner")


def signed_in(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def csrf_of(client, path):
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def page_upload(client, task_id, content, filename):
    return client.post(f"/tasks/{task_id}/attachments",
                       **multipart(content, filename, csrf_token=csrf_of(client, f"/tasks/{task_id}")))


def test_the_task_page_takes_a_file_and_the_plan_page_lists_it(ctx, app, planner, posting):
    plan_id, task = posting
    page = planner.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "ไฟล์หลักฐาน: ภาพถ่ายการปิดประกาศ" in page and "ไม่เกิน 10 MB" in page and "ยังไม่มีไฟล์แนบ" in page
    assert 'accept=".jpg,image/jpeg,.png,image/png,.pdf,application/pdf"' in page

    response = page_upload(planner, task["id"], JPEG, "บอร์ดหน้าสำนักงาน.jpg")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task['id']}")
    page = planner.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "แนบไฟล์ “บอร์ดหน้าสำนักงาน.jpg” แล้ว" in page and sha(JPEG)[:16] in page

    for who in ("planner", "inspector"):  # members and auditors of the organization
        plan_page = signed_in(app, who).get(f"/plans/{plan_id}").get_data(as_text=True)
        assert "ไฟล์หลักฐานที่แนบ" in plan_page and "บอร์ดหน้าสำนักงาน.jpg" in plan_page and sha(JPEG)[:16] in plan_page
        assert "แนบไฟล์หลักฐาน" in plan_page  # the history names the event
        with ctx.db.read() as session:
            attachment_id = session.scalar(select(Attachment.id))
        download = signed_in(app, who).get(f"/plans/{plan_id}/attachments/{attachment_id}")
        assert download.status_code == 200 and download.data == JPEG
    assert signed_in(app, "stranger").get(f"/plans/{plan_id}/attachments/{attachment_id}").status_code == 404


@pytest.mark.parametrize(("content", "filename", "status", "words"), [
    (EXECUTABLE, "ภาพ.pdf", 422, "เนื้อไฟล์ไม่ใช่ไฟล์ JPEG, PNG, PDF"),
    (b"", "ว่าง.jpg", 422, "ว่างเปล่า"),
])
def test_a_refused_file_on_the_page_is_said_beside_the_field(ctx, planner, posting, content, filename, status, words):
    plan_id, task = posting
    before = Stored(ctx, plan_id).snapshot()
    response = page_upload(planner, task["id"], content, filename)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert '<p class="error" id="attachment-file-error">' in html and words in html
    assert Stored(ctx, plan_id).snapshot() == before


@pytest.mark.parametrize(("content", "status"), [(JPEG, 302), (EXECUTABLE, 422)])
def test_what_was_typed_is_kept_as_the_draft_when_a_file_is_attached_or_refused(ctx, planner, posting, content,
                                                                              status):
    """The upload is a button of the task form: the form's fields come with the file and stay."""
    _, task = posting
    path = f"/tasks/{task['id']}"
    shown = planner.get(path).get_data(as_text=True)
    hidden = {name: re.search(rf'name="{name}" value="([^"]*)"', shown).group(1) for name in ("_draft", "_owner")}
    typed = {"/posting_places/0": "ศาลาประชาคมหมู่ที่ 4", "/posted_on#d": "2", "/posted_on#m": "10",
             "/posted_on#y": "2563"}
    response = planner.post(f"{path}/attachments", **multipart(content, "ภาพ.jpg", csrf_token=csrf_of(planner, path),
                                                               **hidden, **typed))
    assert response.status_code == status
    again = planner.get(path).get_data(as_text=True) if status == 302 else response.get_data(as_text=True)
    assert "ศาลาประชาคมหมู่ที่ 4" in again
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TaskDraft)) == 1


def test_a_50_mb_file_on_the_page_is_refused_before_it_is_read(ctx, planner, posting):
    plan_id, task = posting
    before = Stored(ctx, plan_id).snapshot()
    token = csrf_of(planner, f"/tasks/{task['id']}")
    boundary = "phaen-test"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    body = Endless(head + b"%PDF-", 50 * 1024 * 1024)
    response = planner.post(f"/tasks/{task['id']}/attachments", input_stream=body,
                            content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert 'id="attachment-file-error"' in html and "ไม่เกิน 10 MB" in html
    assert body.read_so_far < 1024 * 1024
    assert Stored(ctx, plan_id).snapshot() == before


def test_on_the_page_another_role_sees_the_files_but_cannot_attach(ctx, app, client, org, planner, posting):
    plan_id, task = posting
    upload(client, org, plan_id, task["id"], PDF)
    chair = signed_in(app, "chair")
    page = chair.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "หลักฐาน.pdf" in page and 'id="attachment-file"' not in page
    before = Stored(ctx, plan_id).snapshot()
    assert page_upload(chair, task["id"], PNG, "x.png").status_code == 403
    assert Stored(ctx, plan_id).snapshot() == before


def test_on_the_page_a_completed_step_sends_one_to_the_inbox(ctx, app, run, planner, posting):
    plan_id, task = posting
    token = csrf_of(planner, f"/tasks/{task['id']}")
    run.complete(plan_id, "post_announcement")
    before = Stored(ctx, plan_id).snapshot()
    response = planner.post(f"/tasks/{task['id']}/attachments", **multipart(PNG, "late.png", csrf_token=token))
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert "บันทึกเสร็จไปแล้ว" in planner.get("/").get_data(as_text=True)
    assert Stored(ctx, plan_id).snapshot() == before


# --- The audit export and verify-bundle ----------------------------------------------------------
def exported(client, org, plan_id, tmp_path, name="bundle.json"):
    response = client.get(f"/api/v1/plans/{plan_id}/export", headers=org.headers("auditor"))
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(response.data)
    return path, json.loads(response.data)


def rewrite(path, body):
    body["bundle_sha256"] = bundle_digest(body)  # a careful forger recomputes the bundle's own digest
    path.write_text(json.dumps(body, ensure_ascii=False))


def test_the_export_carries_the_files_and_verify_bundle_checks_each(ctx, client, org, run, posting, tmp_path):
    plan_id, task = posting
    for content, name in ((PDF, "ประกาศ.pdf"), (JPEG, "บอร์ด.jpg")):
        assert upload(client, org, plan_id, task["id"], content, name).status_code == 201
    run.complete(plan_id, "post_announcement")
    path, body = exported(client, org, plan_id, tmp_path)
    assert [(a["filename"], a["sha256"], base64.b64decode(a["content_base64"])) for a in body["attachments"]] == [
        ("ประกาศ.pdf", sha(PDF), PDF), ("บอร์ด.jpg", sha(JPEG), JPEG)]
    assert audit.verify_bundle(path).ok

    altered = json.loads(path.read_text())
    altered["attachments"][1]["content_base64"] = base64.b64encode(PNG).decode()  # a photo swapped
    rewrite(tmp_path / "altered.json", altered)
    result = audit.verify_bundle(tmp_path / "altered.json")
    seq = body["attachments"][1]["seq"]
    assert not result.ok and result.first_divergence.as_dict() | {"detail": ""} == {
        "seq": seq, "kind": "attachment_added", "reason": "attachment_altered", "expected": sha(JPEG),
        "found": sha(PNG), "detail": ""}

    also_hash = json.loads(path.read_text())  # the file and its listed SHA-256 both changed: the log still says
    also_hash["attachments"][1].update(content_base64=base64.b64encode(PNG).decode(), sha256=sha(PNG))
    rewrite(tmp_path / "relisted.json", also_hash)
    assert audit.verify_bundle(tmp_path / "relisted.json").first_divergence.reason == "attachment_altered"

    missing = json.loads(path.read_text())
    del missing["attachments"][0]
    rewrite(tmp_path / "missing.json", missing)
    result = audit.verify_bundle(tmp_path / "missing.json")
    assert result.first_divergence.reason == "attachment_missing"
    assert result.first_divergence.seq == body["attachments"][0]["seq"]
    assert "ประกาศ.pdf" in result.first_divergence.detail

    extra = json.loads(path.read_text())
    extra["attachments"].append({**extra["attachments"][0], "seq": 999})
    rewrite(tmp_path / "extra.json", extra)
    assert audit.verify_bundle(tmp_path / "extra.json").first_divergence.reason == "attachment_unrecorded"

    unsigned = json.loads(path.read_text())  # edited without recomputing the digest: also caught
    unsigned["attachments"][0]["filename"] = "อื่น.pdf"
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned, ensure_ascii=False))
    assert audit.verify_bundle(tmp_path / "unsigned.json").first_divergence.reason == "bundle_altered"


def test_a_file_gone_from_the_store_is_reported_missing_by_verify_bundle(ctx, client, org, posting, tmp_path):
    plan_id, task = posting
    added = upload(client, org, plan_id, task["id"], PNG).get_json()
    (ctx.settings.instance_path / "attachments" / added["sha256"][:2] / added["sha256"]).unlink()
    path, body = exported(client, org, plan_id, tmp_path)
    assert body["attachments"][0]["content_base64"] is None
    result = audit.verify_bundle(path)
    assert result.first_divergence.reason == "attachment_missing" and result.first_divergence.seq == added["seq"]


def test_the_cli_verify_bundle_names_the_altered_attachment(ctx, client, org, posting, tmp_path):
    from click.testing import CliRunner

    from service import cli

    plan_id, task = posting
    upload(client, org, plan_id, task["id"], PDF)
    path, body = exported(client, org, plan_id, tmp_path)
    body["attachments"][0]["content_base64"] = base64.b64encode(PDF + b" ").decode()
    rewrite(path, body)
    result = CliRunner().invoke(cli.main, ["audit", "verify-bundle", str(path)])
    assert result.exit_code != 0 and "attachment_altered" in result.output


# --- The declaration, as designers write it ----------------------------------------------------
@pytest.mark.parametrize(("declaration", "words"), [
    ("pdf", "must be an object"),
    ({"kinds": [], "label": "ก"}, "non-empty list"),
    ({"kinds": ["exe"], "label": "ก"}, "'exe' is not a kind"),
    ({"kinds": ["pdf", "pdf"], "label": "ก"}, "listed twice"),
    ({"kinds": ["pdf"]}, "label: must be a text"),
    ({"kinds": ["pdf"], "label": "ก", "size": 5}, "unknown key 'size'"),
])
def test_a_broken_declaration_is_refused_at_publishing(declaration, words):
    schema = {"type": "object", "properties": {}, rules.KEYWORD: declaration}
    problems = validation.schema_problems(schema)
    assert any(words in p for p in problems), problems
    assert rules.declared(schema) is None


def test_every_shipped_declaration_is_valid():
    from service.config import SOURCE_ROOT

    declared = {}
    for path in sorted((SOURCE_ROOT / "forms").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert rules.declaration_problems(schema) == [], path.name
        if rules.declared(schema):
            declared[path.name.split(".")[0]] = rules.declared(schema).kinds
    assert declared["announce_plan"] == ("pdf",) and "jpeg" in declared["post_announcement"]
    assert {"consider_draft", "certify_posting", "amendment_post"} <= set(declared)


# --- The table ---------------------------------------------------------------------------------
def test_postgresql_refuses_changing_or_removing_an_attachment(ctx, client, org, posting, postgres):
    if postgres is None:
        pytest.skip("PostgreSQL only: the trigger is PostgreSQL's")
    from sqlalchemy.exc import DBAPIError

    plan_id, task = posting
    upload(client, org, plan_id, task["id"], PDF)
    for statement in ("UPDATE attachments SET filename = 'x'", "DELETE FROM attachments"):
        with pytest.raises(DBAPIError, match="never changed"):
            with ctx.db.engine.begin() as connection:
                connection.exec_driver_sql(statement)


def test_the_migration_goes_down_and_up_again(ctx, client, org, posting):
    from sqlalchemy import inspect

    plan_id, task = posting
    upload(client, org, plan_id, task["id"], PDF)
    ctx.db.downgrade("0010")
    assert "attachments" not in inspect(ctx.db.engine).get_table_names()
    ctx.db.migrate()
    assert "attachments" in inspect(ctx.db.engine).get_table_names()


def test_the_plans_record_names_each_attached_file_and_its_sha256(client, org, posting):
    import subprocess

    plan_id, task = posting
    upload(client, org, plan_id, task["id"], JPEG, "บอร์ดหน้าอาคาร.jpg")
    response = get_document(client, f"/api/v1/plans/{plan_id}/documents/record.pdf", headers=org.headers("auditor"))
    assert response.status_code == 200
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode()
    compact = "".join(text.split()).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))  # digits are Thai on paper
    assert "แนบไฟล์หลักฐาน" in text and "บอร์ดหน้าอาคาร.jpg" in text, text
    assert sha(JPEG)[:8] in compact, text
