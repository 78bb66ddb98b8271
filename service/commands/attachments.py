"""Attaching a file to an open step as evidence: checked from its content (the kinds the step's form
declares, the size limit, not empty), kept under the instance folder by SHA-256 and recorded with an
attachment_added event carrying that SHA-256, in one transaction. Only who may complete the step
may attach to it, and only while it is open: a step's evidence is what it was completed with.
``keep`` is the one way a file is kept; a project's progress evidence goes through it too
(commands/progress_evidence.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from service import eventlog, oplog
from service.auth import Actor, completion_refusal
from service.commands.chain import append_event
from service.context import Context
from service.errors import Conflict, Forbidden, NotFound
from service.evidence import listing
from service.models import Attachment, Event, OpenTask, Plan
from service.taskforms import attachments

#: What a request carrying one file may hold: the routes that take a file allow this much, no more.
REQUEST_LIMIT = attachments.MAX_BYTES + attachments.REQUEST_OVERHEAD


def too_large() -> attachments.TooLarge:
    """The refusal of a request beyond REQUEST_LIMIT (told by its Content-Length, before its body is read)."""
    return attachments.TooLarge(attachments.TOO_LARGE, [{"field": attachments.FIELD, "message": attachments.TOO_LARGE}])


def attach(ctx: Context, actor: Actor, plan_id: int, task_id: str, filename: str | None,
           stream: IO[bytes] | None) -> dict[str, Any]:
    """Attach the file read from ``stream`` to the open step ``task_id`` of the plan; the attachment.
    :raise NotFound: no such plan for the actor, or no such step in it.
    :raise Forbidden: the actor may not complete the step (another role, or someone else holds it).
    :raise Conflict: the step is done (or was completed meanwhile).
    :raise Invalid: no file, an empty one, one of a kind the step does not take, one attached already,
        or one too many. :raise TooLarge: beyond the size limit (read no further than that)."""
    return keep(ctx, actor, plan_id, filename, stream, lambda session: _attachable(session, ctx, actor, plan_id,
                                                                                    task_id))


@dataclass(frozen=True)
class Holder:
    """What a file is attached to (an open step, a tracked project's progress): the files it takes,
    the key its files are kept under, and the event that records one."""

    declaration: attachments.Declared
    key: str  # Attachment.task_id: the step's task id, or evidence.listing.progress_key(number)
    task: str  # Attachment.task: the step's BPMN id, or evidence.listing.PROGRESS_TASK
    role: str | None  # the role the actor attaches in
    kind: str  # the event's kind
    data: dict[str, Any] = field(default_factory=dict)  # the event's data besides the file's
    where: str = "ขั้นตอนนี้"  # what it is called in the refusals
    on_step: bool = True  # the event names the step (a step's evidence), or not (a project's)


def keep(ctx: Context, actor: Actor, plan_id: int, filename: str | None, stream: IO[bytes] | None,
         holder_of: Callable[[Session], Holder]) -> dict[str, Any]:
    """Check the file read from ``stream`` and keep it for what ``holder_of`` finds (called once before
    the file is read, and again in the write, when the plan's commands queue), in one transaction
    with its event; the attachment. :raise: what ``holder_of`` raises, and as ``attach`` says."""
    started = time.perf_counter()
    with ctx.db.read() as session:
        declaration = holder_of(session).declaration
    if stream is None:
        raise attachments.refused(f"กรุณาเลือกไฟล์ {declaration.titles} ที่จะแนบ")
    store = listing.store_of(ctx)
    received = store.receive(stream, attachments.MAX_BYTES, attachments.HEAD_BYTES)
    try:
        kind = attachments.check_content(declaration, received.head, received.size)
        name = attachments.clean_name(filename, kind)
        now = ctx.clock.now()
        try:
            with ctx.db.write() as session:
                plan = session.scalars(select(Plan).where(Plan.id == plan_id).options(defer(Plan.state_json))
                                       .with_for_update()).first()  # the plan's commands queue here
                holder = holder_of(session)
                kept = list(session.scalars(select(Attachment).where(Attachment.plan_id == plan_id,
                                                                      Attachment.task_id == holder.key)))
                same = next((a for a in kept if a.sha256 == received.sha256), None)
                if same is not None:
                    raise attachments.refused(f"ไฟล์นี้แนบไว้ใน{holder.where}แล้ว (ชื่อ {same.filename}) ไม่ต้องแนบซ้ำ")
                if len(kept) >= attachments.MAX_PER_TASK:
                    raise attachments.refused(f"{holder.where}แนบไฟล์ได้ไม่เกิน {attachments.MAX_PER_TASK} ไฟล์")
                assert plan is not None  # holder_of found the plan
                event = append_event(session, plan, now, actor.username, holder.role, holder.kind,
                                     {**holder.data, "filename": name, "type": kind.name, "bytes": received.size,
                                      "sha256": received.sha256},
                                     task=holder.task if holder.on_step else None,
                                     task_id=holder.key if holder.on_step else None)
                added = Attachment(plan_id=plan_id, task_id=holder.key, task=holder.task, seq=event.seq,
                                   sha256=received.sha256, size=received.size, kind=kind.name, filename=name,
                                   added_by=actor.username, added_at=now)
                session.add(added)
                session.flush()
                store.keep(received)  # synced before the commit: a recorded SHA-256 always has its bytes
                result = listing.view(added)
        except StaleDataError as err:
            raise Conflict("มีผู้อื่นบันทึกแผนนี้ไปก่อนแล้ว กรุณาเปิดดูใหม่แล้วแนบไฟล์อีกครั้ง") from err
    finally:
        store.discard(received)  # nothing when it was kept
    oplog.command(holder.kind, started, plan=plan_id, user=actor.username, task=result["task"])
    return result


def _attachable(session: Session, ctx: Context, actor: Actor, plan_id: int, task_id: str) -> Holder:
    """What the open step takes, and how its files are kept. :raise: as ``attach`` says."""
    plan = listing.visible_plan(session, actor, plan_id)
    row = session.scalars(select(OpenTask).where(OpenTask.id == task_id, OpenTask.plan_id == plan_id)).first()
    if row is None:
        if session.scalar(select(Event.id).where(Event.plan_id == plan_id, Event.task_id == task_id).limit(1)):
            raise Conflict("ขั้นตอนนี้ดำเนินการเสร็จไปแล้ว จึงแนบไฟล์เพิ่มไม่ได้ (ไฟล์ที่แนบไว้แล้วยังดูได้ที่หน้าแผน)")
        raise NotFound("ไม่พบขั้นตอนนี้ในแผนนี้")
    refusal = completion_refusal(actor, row.role, row.organization_id, row.claimed_by)
    if refusal:
        raise Forbidden(refusal)
    declaration = attachments.declared(ctx.models.published(session, plan.process_version_id).form_of(row.name))
    if declaration is None:
        raise attachments.refused("ขั้นตอนนี้ไม่ได้กำหนดให้แนบไฟล์")
    return Holder(declaration, task_id, row.name, row.role, eventlog.ATTACHMENT_ADDED)
