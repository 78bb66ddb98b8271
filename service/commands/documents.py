"""Freezing a plan's documents: once the step that names them (the ``freezeDocuments`` property of
its user task) is done, each is rendered as the plan stood right after that step and stored once,
with its SHA-256 in the event log.

Freezing is a job (commands/jobs.py), one per document: the completion of the step queues it in
its own transaction (``enqueue_freezing``), so a completion that is saved is frozen however the
process dies afterwards, one rolled back freezes nothing, and no one waits on the render (seconds
for a large plan). The queue's workers run it; until it has stored the document, a download
answers that it is being made (documents.document finds no copy; commands/renders.py)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from service.commands import (
    jobs,
    publication,  # noqa: F401 - registers the freeze jobs of published reports
    renders,
)
from service.commands.chain import store_frozen
from service.context import Context
from service.documents import records, render
from service.errors import NotFound
from service.models import FrozenDocument, Job, Plan
from service.tracking import reporting


def kinds_named(value: str) -> list[str]:
    """The documents a ``freezeDocuments`` value names ("plan,announcement"), in its order: only
    those the system makes (as PlanFile.freeze_points reads it)."""
    return list(dict.fromkeys(k.strip() for k in value.split(",") if k.strip() in records.TITLES))


def enqueue_freezing(session: Session, plan_id: int, named: str, now: datetime) -> list[Job]:
    """Queue the freezing of each document ``named`` (a ``freezeDocuments`` value), in the caller's
    transaction: the completion of the step that names them and their freezing are saved together."""
    return [jobs.enqueue(session, renders.FREEZE, {"plan_id": plan_id, "kind": kind},
                         renders.freeze_key(plan_id, kind), now, plan_id=plan_id,
                         max_attempts=renders.FREEZE_ATTEMPTS)
            for kind in kinds_named(named)]


@jobs.handles(renders.FREEZE)
def freeze_job(ctx: Context, payload: dict[str, Any]) -> None:
    plan_id, kind = payload.get("plan_id"), payload.get("kind")
    if not isinstance(plan_id, int) or kind not in render.DOCUMENTS:
        raise ValueError(f"a freeze job needs a plan id and a kind of document, not {payload!r}")
    assert isinstance(kind, str)
    try:
        freeze_due(ctx, plan_id, [kind])
    except NotFound:
        return  # the plan is gone (a test database emptied): nothing to freeze


def freeze_due(ctx: Context, plan_id: int, kinds: Collection[str] | None = None) -> list[str]:
    """Freeze the plan's documents (``kinds``: of these only) whose step is done and that are not
    stored yet; the kinds frozen. Running it again, or twice at once, stores each document once.

    Each is rendered as the plan stood right after its step, outside any transaction (a large plan
    takes seconds); then each is stored with a document_frozen event, in one transaction that
    holds the plan's row. Rendering is deterministic, so a freeze that lost a race stored the same bytes."""
    file = records.load(ctx, None, plan_id)
    due = {kind: seq for kind, seq in file.freeze_points().items()
           if kind not in file.frozen and (kinds is None or kind in kinds)}
    rendered = {}
    for kind, seq in due.items():
        try:
            rendered[kind] = render.DOCUMENTS[kind](reporting.with_year_figures(ctx, file.as_of(seq), kind))
        except records.NotReady:  # a process that freezes a document before it can exist: it never freezes
            continue
    if not rendered:
        return []
    now = ctx.clock.now()
    with ctx.db.write() as session:
        plan = session.scalars(select(Plan).where(Plan.id == plan_id).options(defer(Plan.state_json))
                               .with_for_update()).one()  # one freezer at a time
        stored = set(session.scalars(select(FrozenDocument.kind).where(FrozenDocument.plan_id == plan_id)))
        frozen = [kind for kind in rendered if kind not in stored]
        for kind in frozen:
            store_frozen(session, plan, kind, due[kind], rendered[kind], now)
    return frozen


def being_frozen(ctx: Context, plan_id: int) -> list[str]:
    """The plan's documents whose freezing is queued, running or failed and that are not stored
    yet, in the order of records.TITLES: what the public board shows as being prepared."""
    with ctx.db.read() as session:
        stored = set(session.scalars(select(FrozenDocument.kind).where(FrozenDocument.plan_id == plan_id)))
        waiting = {job.payload.get("kind") for job in session.scalars(select(Job).where(
            Job.plan_id == plan_id, Job.kind == renders.FREEZE, Job.state != jobs.DONE))}
    return [kind for kind in records.TITLES if kind in waiting and kind not in stored]
