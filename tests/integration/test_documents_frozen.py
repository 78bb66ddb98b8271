"""Announced documents are frozen: stored once as the plan stood at the announcement, their SHA-256
in the event log and the audit export, served as stored; the documents at /plans/<id>/<name>.pdf
for a session or a token; links on the plan page. Freezing is a job the completion queues in its
own transaction (issue 14, item 3): no one waits on it, and until a worker has stored a document
it is being made, on the plan's downloads and on the public board."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from service import audit, cli, documents, queries
from service.commands import documents as freezing
from service.commands import jobs, renders
from service.commands.documents import freeze_due
from service.documents import render
from service.errors import Conflict
from service.models import Event, FrozenDocument, Job

from ..conftest import bangkok
from .documents_queue import get_document, work_freezing, work_queue
from .procedure import Procedure
from .web import add_person, log_in

NAMES = ("operational-plan", "announcement", "posting-certificate", "record")


def frozen_events(ctx, pid):
    with ctx.db.read() as session:
        return [(e.seq, e.data) for e in session.scalars(
            select(Event).where(Event.plan_id == pid, Event.kind == "document_frozen").order_by(Event.seq))]


def announced_plan(client, org, worked=True, fiscal_year=2564):
    """A plan through its announcement; ``worked``: with its freeze jobs run, as a worker soon does."""
    run = Procedure(client, org)
    run.works_freezing = worked
    pid = run.start(fiscal_year)["id"]
    run.through_announcement(pid)
    return run, pid


def freeze_jobs(ctx, pid):
    with ctx.db.read() as session:
        return [(job.payload["kind"], job.state) for job in session.scalars(
            select(Job).where(Job.plan_id == pid, Job.kind == renders.FREEZE).order_by(Job.id))]


def stored(ctx, pid, kind):
    with ctx.db.read() as session:
        return session.scalars(select(FrozenDocument.content).where(FrozenDocument.plan_id == pid,
                                                                    FrozenDocument.kind == kind)).first()


def step_seq(ctx, pid, task):
    with ctx.db.read() as session:
        return session.scalar(select(Event.seq).where(Event.plan_id == pid, Event.task == task))


def test_the_plan_and_announcement_as_announced_are_stored_once_and_served_unchanged(ctx, client, org, clock):
    run, pid = announced_plan(client, org)
    with ctx.db.read() as session:
        announce_seq = session.scalar(select(Event.seq).where(Event.plan_id == pid, Event.task == "announce_plan"))
    # a worker froze them after the completion (Procedure works the freeze jobs); downloads serve what was stored
    plan = get_document(client, f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor"))
    announcement = get_document(client, f"/api/v1/plans/{pid}/documents/announcement.pdf",
                                headers=org.headers("auditor"))
    assert plan.status_code == announcement.status_code == 200
    events = dict((data["kind"], (seq, data)) for seq, data in frozen_events(ctx, pid))
    assert set(events) == {"plan", "announcement"}
    for kind, response in (("plan", plan), ("announcement", announcement)):
        seq, data = events[kind]
        assert seq > announce_seq
        assert data == {"kind": kind, "sha256": hashlib.sha256(response.data).hexdigest(), "bytes": len(response.data)}
        assert response.headers["ETag"] == f'"{data["sha256"]}"'

    # later steps change the plan's data; the frozen documents stay as announced, byte for byte
    clock.set(bangkok(2020, 10, 2, 10, 0))
    run.complete(pid, "post_announcement")
    assert freeze_due(ctx, pid) == []  # stored once: nothing more to freeze, no new event
    again = get_document(client, f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("support_committee"))
    assert again.data == plan.data and len(frozen_events(ctx, pid)) == 2
    # and what was stored is the plan as it stood right after the announcement
    file = documents.load(ctx, None, pid)
    assert "posted_on" in file.data and "posted_on" not in file.as_of(announce_seq).data
    assert render.operational_plan(file.as_of(announce_seq)) == plan.data
    assert render.announcement(file.as_of(announce_seq)) == announcement.data

    # the record lists the freezing with its SHA-256; the chain still verifies; the export carries the digests
    assert audit.verify_plan(ctx, pid).ok
    bundle = json.loads(client.get(f"/api/v1/plans/{pid}/export", headers=org.headers("auditor")).data)
    assert {(d["kind"], d["sha256"], d["bytes"], d["as_of_seq"]) for d in bundle["frozen_documents"]} == \
        {(kind, data["sha256"], data["bytes"], announce_seq) for kind, (_, data) in events.items()}


def test_a_worker_freezes_after_the_completion_and_the_plan_page_links_every_document(ctx, client, org, other_org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    person = add_person(ctx, "somchai", org.code, ["executive"])
    log_in(client, person)
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    linked = {name for name in NAMES if f"/plans/{pid}/{name}.pdf" in page}
    assert linked == {"operational-plan", "record"}
    assert "ยังไม่ได้ประกาศใช้" in page  # the announcement is not there yet, and the page says when it will be
    run.through_announcement(pid)
    # the worker froze them after the completion (Procedure works the freeze jobs); a page (a GET) never writes
    assert {data["kind"] for _, data in frozen_events(ctx, pid)} == {"plan", "announcement"}
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    assert f"/plans/{pid}/announcement.pdf" in page and "SHA-256" in page and "จัดเก็บเอกสารฉบับประกาศ" in page

    # a session downloads; the bytes are the frozen ones
    response = get_document(client, f"/plans/{pid}/announcement.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with ctx.db.read() as session:
        stored = session.scalars(select(FrozenDocument).where(FrozenDocument.plan_id == pid,
                                                              FrozenDocument.kind == "announcement")).one()
        assert response.data == stored.content and hashlib.sha256(stored.content).hexdigest() == stored.sha256
    missing = get_document(client, f"/plans/{pid}/posting-certificate.pdf")
    assert missing.status_code == 404 and "ปิดประกาศครบสามสิบวัน" in missing.get_data(as_text=True)
    assert get_document(client, f"/plans/{pid}/minutes.pdf").status_code == 404


def test_documents_by_address_for_tokens_auditors_and_no_one_else(ctx, client, org, other_org):
    run, pid = announced_plan(client, org)
    for name in ("operational-plan", "announcement", "record"):
        for role in ("support_committee", "auditor"):
            response = get_document(client, f"/plans/{pid}/{name}.pdf", headers=org.headers(role))
            assert response.status_code == 200 and response.data.startswith(b"%PDF"), (name, role)
    early = get_document(client, f"/plans/{pid}/posting-certificate.pdf", headers=org.headers("auditor"))
    assert early.status_code == 404 and early.mimetype == "application/problem+json"
    assert "ปิดประกาศ" in early.get_json()["detail"]
    assert client.get(f"/plans/{pid}/record.pdf", headers=other_org.headers("auditor")).status_code == 404
    assert client.get(f"/plans/{pid}/record.pdf", headers={"Authorization": "Bearer wrong"}).status_code == 401
    anonymous = client.get(f"/plans/{pid}/record.pdf")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_process_without_freezing_serves_every_document_as_rendered(ctx, client, org):
    """Which documents freeze is process data: without the property nothing is stored."""
    from service.models import ProcessVersion

    with ctx.db.write() as session:
        version = session.scalars(select(ProcessVersion).where(ProcessVersion.name == "operational_plan")).one()
        elements = {name: {**e, "properties": {k: v for k, v in e.get("properties", {}).items()
                                               if k != documents.FREEZE_PROPERTY}}
                    for name, e in version.elements.items()}
        session.execute(update(ProcessVersion).where(ProcessVersion.id == version.id).values(elements=elements))
    _, pid = announced_plan(client, org)
    response = get_document(client, f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor"))
    assert response.status_code == 200 and "ETag" not in response.headers
    assert freeze_due(ctx, pid) == [] and frozen_events(ctx, pid) == [] and freeze_jobs(ctx, pid) == []


def test_postgresql_refuses_to_change_a_frozen_document(ctx, client, org):
    if ctx.db.engine.dialect.name != "postgresql":
        pytest.skip("the guard exists on PostgreSQL only")
    from sqlalchemy import delete
    from sqlalchemy.exc import DBAPIError

    _, pid = announced_plan(client, org)
    freeze_due(ctx, pid)
    for statement in (update(FrozenDocument).values(content=b"%PDF forged"), delete(FrozenDocument)):
        with pytest.raises(DBAPIError, match="never changed"), ctx.db.engine.begin() as connection:
            connection.execute(statement)


def test_the_completion_queues_the_freezing_and_answers_before_any_render(ctx, client, org, monkeypatch):
    """The executive's announcing request renders nothing; a download meanwhile says the document is
    being made; a worker then stores exactly the bytes a freezing inside the request stored."""
    rendered: list[str] = []
    for kind in ("plan", "announcement"):
        real = render.DOCUMENTS[kind]
        monkeypatch.setitem(render.DOCUMENTS, kind, lambda file, real=real, kind=kind: (rendered.append(kind),
                                                                                        real(file))[1])
    run, pid = announced_plan(client, org, worked=False)
    assert rendered == [] and frozen_events(ctx, pid) == []  # answered without rendering
    assert freeze_jobs(ctx, pid) == [("plan", jobs.QUEUED), ("announcement", jobs.QUEUED)]

    waiting = client.get(f"/api/v1/plans/{pid}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] == "3"
    with ctx.db.read() as session:
        job = session.get(Job, waiting.get_json()["job"])
        assert (job.kind, job.payload) == (renders.FREEZE, {"plan_id": pid, "kind": "announcement"})
    add_person(ctx, "reader", org.code, ["auditor"])
    log_in(client, "reader")
    page = client.get(f"/plans/{pid}/operational-plan.pdf")
    assert page.status_code == 202 and page.headers["Refresh"] == "3"
    assert "กำลังจัดทำเอกสาร" in page.get_data(as_text=True)
    assert rendered == [] and freeze_jobs(ctx, pid) == [("plan", jobs.QUEUED), ("announcement", jobs.QUEUED)]

    work_queue(client)
    # each rendered once, by its freeze job (the drafts' render jobs left them to it)
    assert sorted(rendered) == ["announcement", "plan"]
    assert freeze_jobs(ctx, pid) == [("plan", jobs.DONE), ("announcement", jobs.DONE)]
    assert [data["kind"] for _, data in frozen_events(ctx, pid)] == ["plan", "announcement"]
    file = documents.load(ctx, None, pid)
    seq = step_seq(ctx, pid, "announce_plan")
    for kind, name in (("plan", "operational-plan"), ("announcement", "announcement")):
        synchronous = render.DOCUMENTS[kind](file.as_of(seq))  # what freezing in the request stored
        assert stored(ctx, pid, kind) == synchronous
        assert client.get(f"/plans/{pid}/{name}.pdf").data == synchronous


def test_a_completion_rolled_back_queues_no_freezing(ctx, client, org, monkeypatch):
    run = Procedure(client, org)
    run.works_freezing = False
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft", "consider_draft", "present_to_executive",
                 "approve_plan"):
        run.complete(pid, name)

    def lost(*args, **kwargs):
        raise Conflict("มีผู้อื่นบันทึกงานนี้ไปก่อนแล้ว")  # the completion fails after it queued its freezing

    task, data = run.open_task(pid, "announce_plan"), run.sample(pid, "announce_plan")
    run.catch_up(data, pid)
    monkeypatch.setattr(queries, "plan_view", lost)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("executive"), json=data)
    assert response.status_code == 409
    assert freeze_jobs(ctx, pid) == [] and step_seq(ctx, pid, "announce_plan") is None
    monkeypatch.undo()
    run.complete(pid, "announce_plan")
    assert freeze_jobs(ctx, pid) == [("plan", jobs.QUEUED), ("announcement", jobs.QUEUED)]


def test_freezing_twice_or_by_two_workers_at_once_stores_one_document(ctx, client, org, monkeypatch):
    _, pid = announced_plan(client, org, worked=False)
    file = documents.load(ctx, None, pid)
    made = render.operational_plan(file.as_of(step_seq(ctx, pid, "announce_plan")))
    both_rendering = threading.Barrier(2, timeout=30)

    def rendering(file):
        both_rendering.wait()  # neither stores before the other has rendered
        return made

    monkeypatch.setitem(render.DOCUMENTS, "plan", rendering)
    errors: list[BaseException] = []

    def worker():
        try:
            freezing.freeze_job(ctx, {"plan_id": pid, "kind": "plan"})
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    monkeypatch.undo()
    freezing.freeze_job(ctx, {"plan_id": pid, "kind": "plan"})  # a job run again (its lease ran out)
    work_queue(client)  # and the queued one
    assert [data["kind"] for _, data in frozen_events(ctx, pid)] == ["plan", "announcement"]
    with ctx.db.read() as session:
        assert session.scalars(select(FrozenDocument.kind).where(FrozenDocument.plan_id == pid)
                               .order_by(FrozenDocument.id)).all() == ["plan", "announcement"]
    assert stored(ctx, pid, "plan") == made
    assert audit.verify_plan(ctx, pid).ok


@pytest.mark.parametrize("payload", [{}, {"plan_id": "1", "kind": "plan"}, {"plan_id": 1, "kind": "minutes"}])
def test_a_freeze_job_with_a_bad_payload_fails_as_a_job(ctx, payload):
    with pytest.raises(ValueError, match="freeze job"):
        freezing.freeze_job(ctx, payload)
    freezing.freeze_job(ctx, {"plan_id": 10 ** 9, "kind": "plan"})  # a plan gone: nothing to do


def test_a_failed_freezing_never_fails_the_completion_is_retried_with_back_off_then_reported(
        ctx, client, org, clock, monkeypatch):
    def broken(file):
        raise RuntimeError("fonts missing")

    monkeypatch.setitem(render.DOCUMENTS, "announcement", broken)
    run, pid = announced_plan(client, org)  # every completion answered 200; the freeze jobs ran once
    assert "post_announcement" in run.open_names(pid)
    assert [data["kind"] for _, data in frozen_events(ctx, pid)] == ["plan"]  # one failing holds up no other
    assert freeze_jobs(ctx, pid) == [("plan", jobs.DONE), ("announcement", jobs.QUEUED)]
    # being made, never served as a draft nor rendered by the download
    waiting = client.get(f"/api/v1/plans/{pid}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert waiting.status_code == 202 and frozen_events(ctx, pid)[-1][1]["kind"] == "plan"
    for attempt in range(2, renders.FREEZE_ATTEMPTS + 1):
        assert work_freezing(client) == 0  # held back by its pause
        clock.set(clock.now() + jobs.pause_after(attempt - 1))
        assert work_freezing(client) == 1
    with ctx.db.read() as session:
        job = session.scalars(select(Job).where(Job.dedup_key == renders.freeze_key(pid, "announcement"))).one()
        assert (job.state, job.attempts) == (jobs.FAILED, renders.FREEZE_ATTEMPTS) and "fonts missing" in job.last_error
        job_id = job.id
    clock.set(clock.now() + timedelta(days=1))
    assert work_freezing(client) == 0  # failed for good: left to an operator

    failed = client.get(f"/api/v1/plans/{pid}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert failed.status_code == 503 and failed.get_json()["title"] == "จัดทำเอกสารไม่สำเร็จ"
    add_person(ctx, "boss", org.code, ["admin"])
    log_in(client, "boss")
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    assert "จัดทำเอกสารนี้ไม่สำเร็จ" in page and "fonts missing" in page
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    listed = CliRunner().invoke(cli.main, ["jobs", "list", "--state", "failed"])
    assert listed.exit_code == 0 and f"{job_id}\tfreeze\tfailed\t5/5" in listed.output
    assert "fonts missing" in listed.output

    monkeypatch.setitem(render.DOCUMENTS, "announcement", render.announcement)  # the fonts are back
    assert CliRunner().invoke(cli.main, ["jobs", "retry", str(job_id)]).exit_code == 0
    work_freezing(client)
    file = documents.load(ctx, None, pid)
    assert stored(ctx, pid, "announcement") == render.announcement(file.as_of(step_seq(ctx, pid, "announce_plan")))
    assert client.get(f"/plans/{pid}/announcement.pdf").status_code == 200
    assert "จัดทำเอกสารนี้ไม่สำเร็จ" not in client.get(f"/plans/{pid}").get_data(as_text=True)


def test_a_plan_whose_freezing_was_never_queued_is_frozen_by_its_next_render(ctx, client, org):
    """A plan announced before freezing was queued (it ran after the commit, and could fail):
    the render jobs of its change, or a download, queue the freezing."""
    _, pid = announced_plan(client, org, worked=False)
    with ctx.db.write() as session:
        session.query(Job).filter(Job.kind == renders.FREEZE).delete()
    work_queue(client)  # the announcement's render jobs, then the freeze jobs they queued
    assert [data["kind"] for _, data in frozen_events(ctx, pid)] == ["plan", "announcement"]
    assert client.get(f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor")).status_code == 200

    _, other = announced_plan(client, org, worked=False, fiscal_year=2565)
    with ctx.db.write() as session:
        session.query(Job).filter(Job.plan_id == other).delete()
    response = client.get(f"/api/v1/plans/{other}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert response.status_code == 202
    work_queue(client)
    assert stored(ctx, other, "announcement") is not None


def test_the_public_board_shows_documents_not_stored_yet_as_being_prepared(ctx, client, org):
    _, pid = announced_plan(client, org, worked=False)
    item = client.get(f"/public/{org.code}/plans/{pid}")
    text = item.get_data(as_text=True)
    assert item.status_code == 200 and item.headers["Cache-Control"] == "no-store"
    assert "กำลังจัดเก็บเอกสารฉบับที่ประกาศ (แผนการดำเนินงาน และประกาศใช้แผนการดำเนินงาน)" in text
    assert "ไม่มีเอกสารที่ระบบจัดเก็บ" not in text and "SHA-256</th>" not in text
    assert client.get(f"/public/{org.code}/2564/plan").headers["Cache-Control"] == "no-store"
    for path in (f"/public/{org.code}/plans/{pid}/plan.pdf", f"/public/verify/{pid}/announcement"):
        assert client.get(path).status_code == 404, path
    feed = client.get(f"/public/{org.code}/feed.atom")
    assert feed.status_code == 200 and b"enclosure" not in feed.data
    assert client.get(f"/public/{org.code}/").status_code == 200

    work_freezing(client)
    item = client.get(f"/public/{org.code}/plans/{pid}")
    text = item.get_data(as_text=True)
    assert "กำลังจัดเก็บ" not in text and text.count("ตรวจสอบสำเนา") == 2
    assert item.headers["Cache-Control"] == "public, max-age=60"
    assert client.get(f"/public/{org.code}/plans/{pid}/plan.pdf").data == stored(ctx, pid, "plan")
    assert client.get(f"/public/verify/{pid}/announcement").status_code == 200
