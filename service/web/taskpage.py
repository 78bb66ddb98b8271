"""A task's page as the task form and its spreadsheet pages share it: the one read model it shows
(queries.task_page), where to go once the task is no longer open, and the form rendered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import flash, render_template, request, url_for

from service import queries
from service.commands import taskdrafts
from service.documents import records
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.http import ctx, integer
from service.taskforms import columns, fields, reading
from service.thai.dates import short_datetime
from service.web import keeping
from service.web.auth import actor


def open_task(task_id: str) -> dict[str, Any] | str:
    """The task's page (queries.task_page), or where to go when the task is no longer open."""
    try:
        return queries.task_page(ctx(), actor(), task_id)
    except NotFound:
        where = closed(task_id)
        if where is None:
            raise
        return where


def closed(task_id: str) -> str | None:
    """Say who completed the task and when, and where to go instead; None if it was never seen here."""
    done = queries.completed_by(ctx(), actor(), task_id)
    if done is None:
        return None
    who, at = done
    flash(f"งานนี้ {who} บันทึกเสร็จไปแล้วเมื่อ {short_datetime(at)}", "info")
    return url_for("inbox.index")


def keep_typed_first(page: dict[str, Any]) -> tuple[str, int] | None:
    """What the task page posted along with a file (a spreadsheet checked, an attachment): kept as
    the user's draft before the file is looked at, so nothing typed is lost whatever the file holds;
    the page again with why, when it could not be kept (another tab saved meanwhile, too large)."""
    typed = keeping.typed_fields(request.form)
    if not typed:
        return None
    task = page["task"]
    try:
        taskdrafts.save(ctx(), actor(), task["id"], typed, integer(request.form.get("_draft", "0")) or 0)
    except (Conflict, Invalid) as err:
        data = fields.parse(task["form"]["schema"], request.form)[0]
        return render(page, data, message=err.message, saved=keeping.standing_on_latest(actor(), task["id"])), \
            err.status
    return None


def require_can_complete(page: dict[str, Any]) -> None:
    """:raise Forbidden: the task is another role's, or someone else holds it (auth.completion_refusal)."""
    if page["refusal"]:
        raise Forbidden(page["refusal"])


def render(page: dict[str, Any], data: dict[str, Any], errors: Sequence[dict[str, str]] = (), message: str = "",
           saved: dict[str, Any] | None = None) -> str:
    """``saved``: the draft the page stands on (its revision), if not the one stored now (keeping.py)."""
    task = page["task"]
    return render_template(
        "task.html", task=task, form=fields.build(task["form"]["schema"], data, list(errors)),
        message=message if errors or message else "", months=fields.month_options(),
        row_action=fields.ROW_ACTION, new_row=fields.NEW_ROW, tables=columns.tables(task["form"]["schema"]),
        max_rows=columns.MAX_ROWS, max_megabytes=reading.MAX_BYTES // 1024 // 1024,
        basis=page["basis"], holder=page["holder"], roles=page["roles"], can_edit=page["refusal"] is None,
        is_admin=page["is_admin"], members=page["members"],
        **keeping.page_context(actor(), task["id"], saved),  # the saved draft and whose form this is
        sent_back=sent_back(task), draft=draft_summary(task),
    )


# --- A send-back and the draft decided on (the process's sendBack* and draftLists properties) -------
def sent_back(task: dict[str, Any]) -> dict[str, Any] | None:
    """Who sent the step back (their name as people know it), when and why; None if it was not."""
    found = task.get("returned")
    if not found:
        return None
    names = queries.display_names(ctx(), {found["by"]})
    return {**found, "by_name": names.get(found["by"], found["by"]), "at": datetime.fromisoformat(found["at"])}


def draft_summary(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Each list of the draft a deciding step shows: its items, and their count and total by strategy."""
    shown = []
    for listed in task.get("draft") or []:
        items = [item for item in listed["items"] if isinstance(item, dict)]
        projects, equipment = records.projects_of({"projects": items})
        strategies = records.by_strategy(projects + equipment)
        shown.append({**listed, "rows": items, "strategies": strategies, "count": sum(g.count for g in strategies),
                      "total": sum((g.total for g in strategies), Decimal(0))})
    return shown
