"""Evidence of a tracked project's progress (photos of the work, a delivery report): a file checked
and kept as a step's attachment is (commands/attachments.keep), recorded with a
progress_evidence_added event of the plan's chain naming the project and the file's SHA-256. Who
may record the project's progress may attach to it: its unit, the process's editors, the admin."""

from __future__ import annotations

from typing import IO, Any

from sqlalchemy.orm import Session

from service import eventlog
from service.auth import Actor
from service.bundles import catalog
from service.bundles.catalog import TRACKING_KEY
from service.commands import attachments, progress
from service.context import Context
from service.evidence import listing
from service.taskforms import attachments as declarations


def attach(ctx: Context, actor: Actor, plan_id: int, number: str, filename: str | None,
           stream: IO[bytes] | None) -> dict[str, Any]:
    """Attach the file read from ``stream`` to the progress of the plan's project ``number``; the attachment.
    :raise NotFound: no such plan for the actor, or no such project in it.
    :raise Conflict: the plan is not announced yet (or is an amendment), or the project was withdrawn.
    :raise Forbidden: another unit's project, or a role that records no progress (an auditor).
    :raise Invalid: no file, an empty one, one of a kind the progress form does not take, one attached
        already, or one too many. :raise TooLarge: beyond the size limit (read no further than that)."""
    return attachments.keep(ctx, actor, plan_id, filename, stream,
                            lambda session: _holder(session, ctx, actor, plan_id, number))


def _holder(session: Session, ctx: Context, actor: Actor, plan_id: int, number: str) -> attachments.Holder:
    plan, version, row = progress.tracked_project(session, ctx, actor, plan_id, number)
    role = progress.acting_role(session, actor, plan, row, version.meta[TRACKING_KEY])
    declaration = declarations.declared(catalog.progress_form(version.meta, version.forms))
    if declaration is None:
        raise declarations.refused("แบบบันทึกผลการดำเนินงานของกระบวนงานนี้ไม่ได้กำหนดให้แนบไฟล์หลักฐาน")
    return attachments.Holder(declaration, listing.progress_key(row.number), listing.PROGRESS_TASK, role,
                              eventlog.PROGRESS_EVIDENCE_ADDED, {"project": row.number},
                              where="โครงการนี้", on_step=False)
