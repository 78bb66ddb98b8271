"""Freezing a plan's documents: once the step that names them (the ``freezeDocuments`` property of
its user task) is done, each is rendered as the plan stood right after that step and stored once,
with its SHA-256 in the event log. Run after the completion's transaction has committed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import defer

from service import eventlog, oplog
from service.auth import SYSTEM
from service.commands.recording import append_event
from service.context import Context
from service.documents import records, render
from service.models import FrozenDocument, Plan


def freeze_after(ctx: Context, plan_id: int) -> list[str]:
    """Freeze what a completion that has committed made due. The completion stands whatever
    happens here: a failure is logged, and until a later freezing stores the documents they are
    served rendered as the plan stood at their step (documents.document), the same bytes."""
    try:
        return freeze_due(ctx, plan_id)
    except Exception:  # noqa: BLE001 - the completion was saved; never answer it with an error
        oplog.logger.exception("freezing failed", extra={"fields": {"event": "freeze_failed", "plan": plan_id}})
        return []


def freeze_due(ctx: Context, plan_id: int) -> list[str]:
    """Freeze the plan's documents whose step is done and that are not stored yet; the kinds frozen.

    Each is rendered as the plan stood right after its step, outside any transaction (a large plan
    takes seconds); then each is stored with a document_frozen event, in one transaction. Rendering
    is deterministic, so a freeze that lost a race stored the same bytes."""
    file = records.load(ctx, None, plan_id)
    due = {kind: seq for kind, seq in file.freeze_points().items() if kind not in file.frozen}
    rendered = {}
    for kind, seq in due.items():
        try:
            rendered[kind] = render.DOCUMENTS[kind](file.as_of(seq))
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
            pdf = rendered[kind]
            digest = hashlib.sha256(pdf).hexdigest()
            session.add(FrozenDocument(plan_id=plan_id, kind=kind, as_of_seq=due[kind], sha256=digest, content=pdf,
                                       frozen_at=now))
            append_event(session, plan, now, SYSTEM.username, None, eventlog.DOCUMENT_FROZEN,
                                  {"kind": kind, "sha256": digest, "bytes": len(pdf)})
    return frozen
