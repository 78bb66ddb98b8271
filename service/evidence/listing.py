"""Which files a step, a tracked project's progress or a plan has, and one file's bytes, for the
plan's organization and its auditors (anyone who may see the plan)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from service.auth import Actor
from service.context import Context
from service.errors import NotFound, ServiceError
from service.evidence.store import Store
from service.models import Attachment, Event, OpenTask, Plan
from service.taskforms import attachments


class StoreDamaged(ServiceError):
    """A kept file is missing or no longer the bytes its SHA-256 names."""

    status = 503


#: A tracked project's progress evidence is kept as a step's is, in the same table and store, under a
#: key of its own in place of the step's task id: ``progress:<number>`` (task ids are uuids, so no
#: step's key is ever one), its task PROGRESS_TASK. Its event is progress_evidence_added.
PROGRESS_TASK = "progress"
_PROGRESS_PREFIX = f"{PROGRESS_TASK}:"


def progress_key(number: str) -> str:
    return f"{_PROGRESS_PREFIX}{number}"


def project_of(task_id: str) -> str | None:
    """The tracked project's number a file's key names; None for a step's file."""
    return task_id[len(_PROGRESS_PREFIX):] if task_id.startswith(_PROGRESS_PREFIX) else None


def of_projects(session: Session, plan_id: int, numbers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The progress evidence of the plan's projects ``numbers``, each project's in the order attached."""
    found: dict[str, list[dict[str, Any]]] = {number: [] for number in numbers}
    if numbers:
        for row in session.scalars(select(Attachment).where(
                Attachment.plan_id == plan_id, Attachment.task_id.in_([progress_key(n) for n in numbers]))
                .order_by(Attachment.id)):
            found[project_of(row.task_id) or ""].append(view(row))
    return found


def store_of(ctx: Context) -> Store:
    return Store(ctx.settings.instance_path)


def view(row: Attachment, step: str = "") -> dict[str, Any]:
    kind = attachments.KINDS.get(row.kind)
    project = project_of(row.task_id)
    if project is not None:
        step = f"ผลการดำเนินงานโครงการลำดับที่ {project}"
    return {"id": row.id, "plan_id": row.plan_id, "task_id": row.task_id, "task": row.task, "step": step or row.task,
            "project": project,
            "seq": row.seq, "sha256": row.sha256, "size": row.size, "kind": row.kind,
            "mimetype": kind.mimetype if kind else "application/octet-stream", "filename": row.filename,
            "added_by": row.added_by, "added_at": row.added_at.isoformat()}


def of_task(ctx: Context, actor: Actor, plan_id: int, task_id: str) -> dict[str, Any]:
    """A step's attachments, what it takes and whether it is still open (files can be added only then).
    :raise NotFound: no such plan for the actor, or no such step in it."""
    with ctx.db.read() as session:
        plan = visible_plan(session, actor, plan_id)
        open_row = session.scalars(select(OpenTask).where(OpenTask.id == task_id,
                                                          OpenTask.plan_id == plan_id)).first()
        name = open_row.name if open_row else session.scalar(
            select(Event.task).where(Event.plan_id == plan_id, Event.task_id == task_id).limit(1))
        if name is None:
            raise NotFound("ไม่พบขั้นตอนนี้ในแผนนี้")
        published = ctx.models.published(session, plan.process_version_id)
        declaration = attachments.declared(published.form_of(name))
        step = published.model.elements.get(name, {}).get("name") or name
        rows = session.scalars(select(Attachment).where(Attachment.plan_id == plan_id, Attachment.task_id == task_id)
                               .order_by(Attachment.id))
        return {"plan_id": plan_id, "task_id": task_id, "task": name, "step": step, "open": open_row is not None,
                "accepts": declaration.as_dict() if declaration else None,
                "attachments": [view(row, step) for row in rows]}


def of_plan(ctx: Context, actor: Actor, plan_id: int) -> list[dict[str, Any]]:
    """Every file attached to the plan's steps, in the order attached. :raise NotFound:"""
    with ctx.db.read() as session:
        plan = visible_plan(session, actor, plan_id)
        elements = ctx.models.published(session, plan.process_version_id).model.elements
        rows = session.scalars(select(Attachment).where(Attachment.plan_id == plan_id).order_by(Attachment.id))
        return [view(row, elements.get(row.task, {}).get("name") or row.task) for row in rows]


def content(ctx: Context, actor: Actor, plan_id: int, attachment_id: int) -> tuple[dict[str, Any], bytes]:
    """One attachment and its bytes, checked against its SHA-256.
    :raise NotFound: no such plan for the actor, or no such attachment in it.
    :raise StoreDamaged: the kept file is missing or altered (it is never served as evidence then)."""
    with ctx.db.read() as session:
        visible_plan(session, actor, plan_id)
        row = session.scalars(select(Attachment).where(Attachment.id == attachment_id,
                                                       Attachment.plan_id == plan_id)).first()
        if row is None:
            raise NotFound("ไม่พบไฟล์แนบนี้ในแผนนี้")
        found = view(row)
    body = store_of(ctx).read(found["sha256"])
    if body is None or hashlib.sha256(body).hexdigest() != found["sha256"]:
        raise StoreDamaged("ไฟล์แนบนี้หายไปหรือถูกเปลี่ยนในที่จัดเก็บ จึงไม่ส่งให้ดาวน์โหลด "
                           "(SHA-256 ไม่ตรงกับที่บันทึกไว้) กรุณาแจ้งผู้ดูแลระบบ")
    return found, body


def visible_plan(session: Session, actor: Actor, plan_id: int) -> Plan:
    """:raise NotFound: no such plan, or of an organization the actor does not see."""
    plan = session.get(Plan, plan_id, options=[defer(Plan.state_json)])
    if plan is None or not actor.can_see(plan.organization_id):
        raise NotFound("ไม่พบแผนนี้")
    return plan
