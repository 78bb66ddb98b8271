"""Announced documents are frozen: stored once as the plan stood at the announcement, their SHA-256
in the event log and the audit export, served as stored; the documents at /plans/<id>/<name>.pdf
for a session or a token; links on the plan page."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, update

from service import audit, documents
from service.commands.documents import freeze_due
from service.documents import render
from service.models import Event, FrozenDocument

from ..conftest import bangkok
from .documents_queue import get_document
from .procedure import Procedure
from .web import add_person, log_in

NAMES = ("operational-plan", "announcement", "posting-certificate", "record")


def frozen_events(ctx, pid):
    with ctx.db.read() as session:
        return [(e.seq, e.data) for e in session.scalars(
            select(Event).where(Event.plan_id == pid, Event.kind == "document_frozen").order_by(Event.seq))]


def announced_plan(client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.through_announcement(pid)
    return run, pid


def test_the_plan_and_announcement_as_announced_are_stored_once_and_served_unchanged(ctx, client, org, clock):
    run, pid = announced_plan(client, org)
    with ctx.db.read() as session:
        announce_seq = session.scalar(select(Event.seq).where(Event.plan_id == pid, Event.task == "announce_plan"))
    # the completion froze them once its transaction committed; downloads serve what was stored
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


def test_the_completion_freezes_right_away_and_the_plan_page_links_every_document(ctx, client, org, other_org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    person = add_person(ctx, "somchai", org.code, ["executive"])
    log_in(client, person)
    page = client.get(f"/plans/{pid}").get_data(as_text=True)
    linked = {name for name in NAMES if f"/plans/{pid}/{name}.pdf" in page}
    assert linked == {"operational-plan", "record"}
    assert "ยังไม่ได้ประกาศใช้" in page  # the announcement is not there yet, and the page says when it will be
    run.through_announcement(pid)
    # the completion freezes, after its commit; a page (a GET) never writes
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
    assert freeze_due(ctx, pid) == [] and frozen_events(ctx, pid) == []


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


def test_a_failed_freezing_never_fails_the_completion_and_a_download_never_writes(ctx, client, org, monkeypatch):
    """Freezing runs after the completion committed: if it fails, the completion still stands, the
    documents are served as the plan stood at their step (the bytes a later freezing stores), and
    serving them writes nothing."""
    def broken(file):
        raise RuntimeError("fonts missing")

    monkeypatch.setitem(render.DOCUMENTS, "announcement", broken)
    run, pid = announced_plan(client, org)  # every completion answered 200
    assert frozen_events(ctx, pid) == [] and "post_announcement" in run.open_names(pid)
    monkeypatch.undo()

    served = get_document(client, f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor"))
    assert served.status_code == 200 and "ETag" not in served.headers
    assert frozen_events(ctx, pid) == []  # a GET never freezes
    assert freeze_due(ctx, pid) == ["plan", "announcement"]
    stored = get_document(client, f"/api/v1/plans/{pid}/documents/plan.pdf", headers=org.headers("auditor"))
    assert stored.data == served.data and stored.headers["ETag"] == f'"{hashlib.sha256(served.data).hexdigest()}"'
