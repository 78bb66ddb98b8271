"""Render jobs: a plan's documents are rendered in the background, never in a person's request.

Every change to a plan (an event appended, commands/recording.py) queues one render job per
document kind in the same transaction (deduplicated: one queued job per plan and kind). The job
renders what the plan shows when it runs, unless the cache already holds that content
(documents/cache.py), and stores the bytes in one transaction: a worker killed while rendering
leaves the previous copy whole.

Documents that freeze are not rendered here: from their step on, a freeze job per document
(commands/documents.py, queued by the completion of that step in its transaction) renders them as
the plan stood then and stores them for good. Until it has, a download says they are being made,
and a render job of such a document only makes sure its freeze job is queued.

A tracked plan's progress report (tracking/reporting.py) is queued only by a download that found
no copy of its figures, as the kind "report:<kind>:<cut-off>": one job, one copy per cut-off.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import ADMIN, Actor
from service.commands import jobs
from service.context import Context
from service.documents import cache, records, render
from service.errors import NotFound
from service.models import Job, Plan, RenderedDocument
from service.tracking import reporting

RENDER = "render"
#: The kind of the jobs that freeze a document (their handler is commands/documents.py's).
FREEZE = "freeze"
#: Freezing is tried more often than a draft's render before it is left to an operator: the
#: document is the announced one, and the public board waits for it.
FREEZE_ATTEMPTS = 5
#: Renders done by this process, by kind: what the tests count (a download never adds to it).
RENDERS: dict[str, int] = {}


def dedup_key(plan_id: int, kind: str) -> str:
    return f"{RENDER}:{plan_id}:{kind}"


def freeze_key(plan_id: int, kind: str) -> str:
    return f"{FREEZE}:{plan_id}:{kind}"


def enqueue_renders(session: Session, plan_id: int, now: datetime) -> None:
    """Queue the rendering of each of the plan's documents, in the caller's transaction (the
    change and its render are saved together), one query for those queued already. A job finds
    out when it runs whether its document changed, exists yet or is frozen: most runs are a
    digest and no render."""
    keys = {dedup_key(plan_id, kind): kind for kind in render.DOCUMENTS}
    queued = set(session.scalars(select(Job.dedup_key).where(Job.dedup_key.in_(keys), Job.state == jobs.QUEUED)))
    for key, kind in keys.items():
        if key not in queued:
            session.add(Job(kind=RENDER, dedup_key=key, plan_id=plan_id, payload={"plan_id": plan_id, "kind": kind},
                            state=jobs.QUEUED, attempts=0, max_attempts=jobs.MAX_ATTEMPTS, run_after=now,
                            created_at=now))


def request_render(ctx: Context, plan_id: int, kind: str) -> dict[str, Any]:
    """Queue the document's rendering unless one is queued or running (a download that found no
    fresh copy); the job that will make it, as jobs.as_dict: the document's freeze job while one
    is queued or running (a document due to freeze is made by it, never rendered as a draft)."""
    with ctx.db.write() as session:
        job = jobs.pending(session, freeze_key(plan_id, kind)) or jobs.pending(session, dedup_key(plan_id, kind))
        if job is None:
            job = jobs.enqueue(session, RENDER, {"plan_id": plan_id, "kind": kind}, dedup_key(plan_id, kind),
                               ctx.clock.now(), plan_id=plan_id)
            session.flush()
        return jobs.as_dict(job)


def failure(ctx: Context, plan_id: int, kind: str) -> str | None:
    """The error of the document's last render job, or of its last freeze job, when it failed for
    good (nothing queued since)."""
    with ctx.db.read() as session:
        for key in (freeze_key(plan_id, kind), dedup_key(plan_id, kind)):
            job = jobs.latest(session, key)
            if job is not None and job.state == jobs.FAILED:
                return job.last_error
        return None


def failures(ctx: Context, plan_id: int) -> dict[str, str]:
    """Document kind -> the error of its render job that failed for good, for the plan's page."""
    found = {}
    for kind in render.DOCUMENTS:
        error = failure(ctx, plan_id, kind)
        if error is not None:
            found[kind] = error
    return found


def reported_to(ctx: Context, actor: Actor, plan_id: int) -> bool:
    """Whether the actor is told of the plan's failed renders: its organization's admins, national ones."""
    with ctx.db.read() as session:
        organization = session.scalars(select(Plan.organization_id).where(Plan.id == plan_id)).first()
    return organization is not None and ADMIN in actor.roles_in(organization)


@jobs.handles(RENDER)
def render_job(ctx: Context, payload: dict[str, Any]) -> None:
    plan_id, kind = payload.get("plan_id"), payload.get("kind")
    if isinstance(plan_id, int) and isinstance(kind, str) and reporting.is_report(kind):
        render_report(ctx, plan_id, kind)
        return
    if not isinstance(plan_id, int) or kind not in render.DOCUMENTS:
        raise ValueError(f"a render job needs a plan id and a kind of document, not {payload!r}")
    assert isinstance(kind, str)
    try:
        file = records.load(ctx, None, plan_id)
    except NotFound:
        return  # the plan is gone (a test database emptied): nothing to render
    source = render.source_of(file, kind)
    if source is None or records.not_ready(source, kind):
        return  # frozen (served as stored), or not yet in the plan's state
    if kind in file.freeze_points():
        ensure_freezing(ctx, plan_id, kind)  # its freeze job makes it: rendering it here too is the same work twice
        return
    key = cache.source_key(source, kind)
    if cache.is_fresh(ctx, plan_id, kind, key):
        return
    started = time.perf_counter()
    content = render.DOCUMENTS[kind](reporting.with_year_figures(ctx, source, kind))
    RENDERS[kind] = RENDERS.get(kind, 0) + 1
    store(ctx, plan_id, kind, key, content, round((time.perf_counter() - started) * 1000))


def render_report(ctx: Context, plan_id: int, kind: str) -> None:
    """A progress report's PDF (tracking/reporting.py: ``kind`` names its cut-off), queued by a
    download that found no copy of its figures; nothing when the cache has one by now."""
    started = time.perf_counter()
    made = reporting.render_report(ctx, plan_id, kind)
    if made is not None:
        RENDERS[kind] = RENDERS.get(kind, 0) + 1
        store(ctx, plan_id, kind, made.key, made.content, round((time.perf_counter() - started) * 1000))


def ensure_freezing(ctx: Context, plan_id: int, kind: str) -> None:
    """Queue the freezing of a document due to freeze unless it is queued or running: for a plan
    whose step was done before freezing was queued (it ran after the commit then, and could fail),
    or whose freeze job failed for good (this change of the plan is its next try)."""
    with ctx.db.write() as session:
        if jobs.pending(session, freeze_key(plan_id, kind)) is None:
            jobs.enqueue(session, FREEZE, {"plan_id": plan_id, "kind": kind}, freeze_key(plan_id, kind),
                         ctx.clock.now(), plan_id=plan_id, max_attempts=FREEZE_ATTEMPTS)


def store(ctx: Context, plan_id: int, kind: str, key: str, content: bytes, render_ms: int) -> None:
    """Replace the cached copy with the new one, whole, in one transaction."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.scalars(select(Plan.id).where(Plan.id == plan_id).with_for_update()).one()  # one writer per plan
        row = session.scalars(select(RenderedDocument).where(RenderedDocument.plan_id == plan_id,
                                                             RenderedDocument.kind == kind)).first()
        if row is None:
            row = RenderedDocument(plan_id=plan_id, kind=kind)
            session.add(row)
        row.source_key, row.content, row.sha256 = key, content, hashlib.sha256(content).hexdigest()
        row.rendered_at, row.render_ms = now, render_ms
