"""Documents never make anyone wait (issue 14, item 3; issue 12, item 8): a plan's changes queue
the rendering of its documents (commands/renders.py) on the job queue (commands/jobs.py); a
download serves the cached copy of what the plan now shows, or answers at once that it is being
made; a failing render is retried a bounded number of times, then reported; a worker that dies
leaves its job to another; two workers never take one job."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service import cli
from service.commands import jobs, renders
from service.documents import render
from service.errors import Invalid, NotFound
from service.models import Job, RenderedDocument

from .documents_queue import work_queue
from .procedure import PROJECT, Procedure
from .web import add_person, log_in

API = "/api/v1/plans/{}/documents/{}.pdf"


def collected(client, org, projects=3):
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.complete(pid, "collect_projects", {"projects": [{**PROJECT, "name": f"โครงการที่ {n}"}
                                                        for n in range(1, projects + 1)]})
    return run, pid


def renders_of(kind):
    return renders.RENDERS.get(kind, 0)


def queued(ctx, pid, kind):
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(
            Job.dedup_key == renders.dedup_key(pid, kind), Job.state == jobs.QUEUED))


def cached_rows(ctx, pid, kind):
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(RenderedDocument).where(
            RenderedDocument.plan_id == pid, RenderedDocument.kind == kind))


def job_of(ctx, pid, kind):
    with ctx.db.read() as session:
        job = session.scalars(select(Job).where(Job.dedup_key == renders.dedup_key(pid, kind))).one()
        session.expunge(job)
        return job


def test_a_draft_download_answers_at_once_then_the_cached_copy_is_served_without_rendering(ctx, client, org):
    _, pid = collected(client, org)
    before = renders_of("plan")
    # the completion queued the render in its own transaction: nothing rendered yet, one job per kind
    assert queued(ctx, pid, "plan") == 1 and queued(ctx, pid, "record") == 1
    waiting = client.get(API.format(pid, "plan"), headers=org.headers("auditor"))
    assert waiting.status_code == 202 and waiting.mimetype == "application/problem+json"
    assert waiting.headers["Retry-After"] == "3" and waiting.headers["Cache-Control"] == "no-store"
    body = waiting.get_json()
    assert body["title"] == "กำลังจัดทำเอกสาร" and body["status"] == 202 and body["state"] == jobs.QUEUED
    assert renders_of("plan") == before and queued(ctx, pid, "plan") == 1  # the download queued no second job

    # a browser gets a Thai page that asks again by itself
    add_person(ctx, "reader", org.code, ["auditor"])
    log_in(client, "reader")
    page = client.get(f"/plans/{pid}/operational-plan.pdf")
    assert page.status_code == 202 and page.mimetype == "text/html" and page.headers["Refresh"] == "3"
    assert "กำลังจัดทำเอกสาร" in page.get_data(as_text=True)

    assert work_queue(client) >= 1
    assert renders_of("plan") == before + 1
    first = client.get(API.format(pid, "plan"), headers=org.headers("auditor"))
    assert first.status_code == 200 and first.mimetype == "application/pdf" and first.data.startswith(b"%PDF")
    again = client.get(f"/plans/{pid}/operational-plan.pdf")
    assert again.status_code == 200 and again.data == first.data
    assert renders_of("plan") == before + 1  # served from the cache: no render on a download
    assert work_queue(client) == 0 and queued(ctx, pid, "plan") == 0


def test_a_change_to_the_plan_makes_the_copy_stale_and_queues_its_render(ctx, client, org):
    run, pid = collected(client, org)
    work_queue(client)
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 200
    before = renders_of("plan")
    run.complete(pid, "draft_plan")
    assert queued(ctx, pid, "plan") == 1
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 202
    work_queue(client)
    assert renders_of("plan") == before + 1 and cached_rows(ctx, pid, "plan") == 1  # replaced, not piled up
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 200
    # a job whose content is cached already renders nothing
    with ctx.db.write() as session:
        renders.enqueue_renders(session, pid, ctx.clock.now())
    work_queue(client)
    assert renders_of("plan") == before + 1


def test_a_failing_render_is_retried_a_bounded_number_of_times_then_reported_and_others_still_run(
        ctx, client, org, clock, monkeypatch):
    _, pid = collected(client, org)

    def broken(file):
        raise RuntimeError("template error: 'plan' is undefined")

    monkeypatch.setitem(render.DOCUMENTS, "record", broken)
    plans_before = renders_of("plan")
    work_queue(client)
    assert renders_of("plan") == plans_before + 1  # the other kinds rendered though one failed
    for attempt in range(2, jobs.MAX_ATTEMPTS + 1):
        assert work_queue(client) == 0  # held back by its pause, holding no one up
        clock.set(clock.now() + jobs.pause_after(attempt - 1))
        assert work_queue(client) == 1
    job = job_of(ctx, pid, "record")
    assert job.state == jobs.FAILED and job.attempts == jobs.MAX_ATTEMPTS and "template error" in job.last_error
    clock.set(clock.now() + timedelta(days=1))
    assert work_queue(client) == 0  # failed for good: not tried again by itself

    # a download says so at once and queues nothing; the plan's admin sees it on the plan page
    failed = client.get(API.format(pid, "record"), headers=org.headers("auditor"))
    assert failed.status_code == 503 and failed.get_json()["title"] == "จัดทำเอกสารไม่สำเร็จ"
    assert queued(ctx, pid, "record") == 0
    add_person(ctx, "boss", org.code, ["admin"])
    add_person(ctx, "member", org.code, ["auditor"])
    member, boss = client.application.test_client(), client.application.test_client()
    log_in(member, "member")
    assert "จัดทำเอกสารนี้ไม่สำเร็จ" not in member.get(f"/plans/{pid}").get_data(as_text=True)
    log_in(boss, "boss")
    page = boss.get(f"/plans/{pid}").get_data(as_text=True)
    assert "จัดทำเอกสารนี้ไม่สำเร็จ" in page and "template error" in page
    assert [row["id"] for row in jobs.listing(ctx, jobs.FAILED)] == [job.id]

    # the operator retries it once the template is mended
    monkeypatch.undo()
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    result = CliRunner().invoke(cli.main, ["jobs", "retry", str(job.id)])
    assert result.exit_code == 0, result.output
    work_queue(client)
    assert client.get(API.format(pid, "record"), headers=org.headers("auditor")).status_code == 200
    listed = CliRunner().invoke(cli.main, ["jobs", "list", "--state", "done"])
    assert listed.exit_code == 0 and f"{job.id}\trender\tdone" in listed.output


def test_a_worker_killed_mid_render_leaves_nothing_half_written_and_another_finishes_the_job(
        ctx, client, org, clock, monkeypatch):
    _, pid = collected(client, org)
    for kind in set(render.DOCUMENTS) - {"plan"}:  # only the plan's job is left
        with ctx.db.write() as session:
            session.query(Job).filter(Job.dedup_key == renders.dedup_key(pid, kind)).delete()
    real = render.DOCUMENTS["plan"]

    def killed(file):
        raise KeyboardInterrupt  # the worker dies in the middle of the render (SIGKILL, OOM)

    monkeypatch.setitem(render.DOCUMENTS, "plan", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.work(ctx, "worker-a")
    assert cached_rows(ctx, pid, "plan") == 0  # nothing written
    monkeypatch.setitem(render.DOCUMENTS, "plan", real)
    assert jobs.work(ctx, "worker-b") == 0  # the dead worker's lease still holds the job
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 202
    assert queued(ctx, pid, "plan") == 0  # the job is running (on worker-a's lease): none queued again

    clock.set(clock.now() + jobs.LEASE + timedelta(seconds=1))
    assert jobs.work(ctx, "worker-b") == 1
    job = job_of(ctx, pid, "plan")
    assert job.state == jobs.DONE and job.attempts == 2 and job.locked_by is None
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 200


def test_a_job_that_kills_its_worker_every_time_ends_failed(ctx, client, org, clock, monkeypatch):
    monkeypatch.setitem(jobs.HANDLERS, "crash", lambda ctx, payload: (_ for _ in ()).throw(KeyboardInterrupt))
    with ctx.db.write() as session:
        jobs.enqueue(session, "crash", {}, "crash", ctx.clock.now())
    for _ in range(jobs.MAX_ATTEMPTS):
        with pytest.raises(KeyboardInterrupt):
            jobs.work(ctx, "w")
        clock.set(clock.now() + jobs.LEASE + timedelta(seconds=1))
    assert jobs.work(ctx, "w") == 0
    assert [(row["state"], row["attempts"]) for row in jobs.listing(ctx)] == [(jobs.FAILED, jobs.MAX_ATTEMPTS)]


def test_two_workers_never_take_the_same_job(ctx, monkeypatch):
    ran: list[tuple[int, str]] = []
    lock = threading.Lock()

    def count(ctx, payload):
        with lock:
            ran.append((payload["n"], threading.current_thread().name))

    monkeypatch.setitem(jobs.HANDLERS, "count", count)
    with ctx.db.write() as session:
        for n in range(40):
            jobs.enqueue(session, "count", {"n": n}, f"count:{n}", ctx.clock.now())
    workers = [threading.Thread(target=jobs.work, args=(ctx, f"worker-{i}"), name=f"worker-{i}") for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(n for n, _ in ran) == list(range(40))  # each once, none twice
    assert {row["state"] for row in jobs.listing(ctx, limit=100)} == {jobs.DONE}


def test_an_unknown_kind_of_job_fails_without_stopping_the_worker(ctx, clock):
    with ctx.db.write() as session:
        jobs.enqueue(session, "no-such-kind", {}, "x", ctx.clock.now(), max_attempts=1)
        jobs.enqueue(session, renders.RENDER, {"plan_id": "not a number", "kind": "plan"}, "y", ctx.clock.now(),
                     max_attempts=1)
    assert jobs.work(ctx) == 2
    assert {row["state"] for row in jobs.listing(ctx)} == {jobs.FAILED}


@pytest.mark.parametrize("value", ["0", "1000000000", "abc", "-1", "๑", "1" * 30])
def test_bad_job_ids_and_page_sizes_are_refused_in_thai(ctx, monkeypatch, value):
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["jobs", "list", "--limit", value])
    assert listed.exit_code == 1 and "ผิดพลาด" in listed.output and "Traceback" not in listed.output
    retried = runner.invoke(cli.main, ["jobs", "retry", "--", value])
    assert retried.exit_code == 1 and "ผิดพลาด" in retried.output and "Traceback" not in retried.output


def test_the_queue_refuses_bad_listing_and_retry_arguments(ctx):
    for limit in (0, 10**9, "10", True):
        with pytest.raises(Invalid):
            jobs.listing(ctx, limit=limit)
    with pytest.raises(Invalid):
        jobs.listing(ctx, state="sleeping")
    for job_id in (0, 10**9, 10**30, "1"):
        with pytest.raises(NotFound):
            jobs.retry(ctx, job_id)


@pytest.mark.parametrize("path", [API.format(0, "plan"), API.format(10**9, "plan"), API.format(10**30, "plan"),
                                  "/api/v1/plans/abc/documents/plan.pdf", "/plans/0/record.pdf",
                                  f"/plans/{10**9}/operational-plan.pdf", "/plans/abc/record.pdf"])
def test_documents_of_no_plan_are_404_never_500(client, org, path):
    response = client.get(path, headers=org.headers("auditor"))
    assert response.status_code == 404


def test_the_embedded_worker_thread_renders_in_the_background_until_stopped(ctx, client, org):
    """`phaen serve` without --production works the queue in a thread of its own (cli._work_forever)."""
    _, pid = collected(client, org)
    assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 202
    stopping = threading.Event()
    worker = threading.Thread(target=cli._work_forever, args=(ctx, 0.05, stopping), daemon=True)
    worker.start()
    try:
        for _ in range(1200):  # waits for the condition, bounded; no assertion on how long it took
            if client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 200:
                break
            stopping.wait(0.1)
        assert client.get(API.format(pid, "plan"), headers=org.headers("auditor")).status_code == 200
    finally:
        stopping.set()
        worker.join()
    assert not worker.is_alive()
