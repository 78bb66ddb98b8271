"""A task's lists from and to spreadsheets: upload an .xlsx or .csv, see every row with its errors,
take a clean file into the form, replacing the rows typed so far or after them (the official then
submits it as usual); download the template
and the list. Nested in the tasks blueprint: /tasks/<id>/spreadsheet/<list>/..."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http
from service.commands import taskdrafts
from service.errors import Invalid
from service.http import attachment, ctx
from service.taskforms import columns, fields, reading, validation, writing
from service.web import keeping
from service.web.auth import actor
from service.web.taskpage import keep_typed_first, open_task, render, require_can_complete

bp = Blueprint("spreadsheets", __name__, url_prefix="/tasks/<task_id>/spreadsheet/<name>")
EXPORTS = {"xlsx": (writing.write_xlsx, writing.XLSX_TYPE), "csv": (writing.write_csv, writing.CSV_TYPE)}


def of_a_list(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """A view of one list ``name`` of an open task: called with the task's page and the list's JSON
    Schema, or redirected where the task went once it is no longer open. :raise 404: no such
    task or list."""
    @wraps(view)
    def wrapper(task_id: str, name: str, **kwargs: Any) -> ResponseReturnValue:
        page = open_task(task_id)
        if isinstance(page, str):
            return redirect(page)
        schema = page["task"]["form"]["schema"]
        if name not in dict(columns.tables(schema)):
            abort(404)
        return view(page, schema["properties"][name], name, **kwargs)

    return wrapper


@bp.get("/template.xlsx")
@login_required
@of_a_list
def template(page: dict[str, Any], table: dict[str, Any], name: str) -> ResponseReturnValue:
    """An empty sheet with the list's columns and a sheet explaining them. :raise 404:"""
    content = writing.write_xlsx(table["items"], [], table.get("title", name), guide=True)
    return attachment(content, writing.XLSX_TYPE, f"แม่แบบ-{table.get('title', name)}.xlsx")


@bp.route("/export.<kind>", methods=["GET", "POST"])
@login_required
@of_a_list
def export(page: dict[str, Any], table: dict[str, Any], name: str, kind: str) -> ResponseReturnValue:
    """The list as the task holds it (GET), or as typed in the form (POST from its export button).
    :raise 404: no such task, list or file kind."""
    if kind not in EXPORTS:
        abort(404)
    task = page["task"]
    data = fields.parse(task["form"]["schema"], request.form)[0] if request.method == "POST" else task["data"]
    write, mimetype = EXPORTS[kind]
    items = columns.items_of(data, name)
    content = write(table["items"], items, *(() if kind == "csv" else (table.get("title", name),)))
    return attachment(content, mimetype, f"{table.get('title', name)}-ปีงบประมาณ-{task['fiscal_year']}.{kind}")


@bp.post("")
@login_required
@of_a_list
def upload(page: dict[str, Any], table: dict[str, Any], name: str) -> ResponseReturnValue:
    """Read the file and show every row with its errors; nothing is taken into the form yet. What was
    typed on the task page (it posts here with the file) is kept as the user's draft first.
    :raise 403: the user may not complete the task."""
    task = page["task"]
    require_can_complete(page)
    refused = keep_typed_first(page)  # from the task page: what was typed stays, whatever the file holds
    if refused:
        return refused
    file = request.files.get(f"file-{name}") or request.files.get("file")
    if file is None or not file.filename:
        preview = reading.Preview("")
        preview.problems.append(reading.Problem("กรุณาเลือกไฟล์ Excel (.xlsx) หรือ CSV ที่จะนำเข้า"))
    else:
        content = file.stream.read(reading.MAX_BYTES + 1)
        preview = reading.read(content, file.filename, table, task["fiscal_year"])
    return render_template("spreadsheet_preview.html", task=task, name=name, table=table, preview=preview,
                           typed=len(_typed_rows(page, name)), max_rows=columns.MAX_ROWS,
                           rows_json=json.dumps(preview.items, ensure_ascii=False) if preview.ok else ""), \
        200 if preview.ok else 422


@bp.post("/apply")
@login_required
@of_a_list
def apply(page: dict[str, Any], table: dict[str, Any], name: str) -> ResponseReturnValue:
    """Put the rows of a checked file into the task's form, replacing the rows typed so far or
    after them, as the user chose; not yet saved.
    :raise 400: the rows are not the list's rows (not from the preview), or no such choice; 403: as
    for completing."""
    task = page["task"]
    require_can_complete(page)
    mode = request.form.get("mode", "replace")
    try:
        rows = http.parse_json(request.form.get("rows", ""))
        validation.validate({"type": "object", "properties": {name: table}}, {name: rows})
    except (ValueError, Invalid):
        abort(400)
    if mode not in ("replace", "append"):
        abort(400)
    saved = taskdrafts.load(ctx(), actor(), task["id"])
    data = _typed(page, saved)
    before = _typed_rows(page, name, data)
    combined = rows if mode == "replace" else before + rows
    if len(combined) > columns.MAX_ROWS:
        return render(page, data, message=f"รวมกับรายการที่กรอกไว้ {len(before):,} รายการแล้วเกิน "
                      f"{columns.MAX_ROWS:,} รายการ จึงยังไม่ได้นำเข้า กรุณาเลือกแทนที่รายการเดิม หรือแบ่งไฟล์",
                      saved=saved), 422
    how = "แทนที่รายการเดิม" if mode == "replace" else f"ต่อท้ายรายการเดิม {len(before):,} รายการ"
    flash(f"นำ {len(rows):,} รายการจากไฟล์ {request.form.get('filename', '')} เข้าแบบฟอร์มแล้ว ยังไม่ได้บันทึก ({how}) "
          "กรุณาตรวจสอบแล้วกด “บันทึกร่าง” หรือ “บันทึกและส่งต่อขั้นตอนถัดไป”", "success")
    return render(page, {**data, name: combined}, saved=saved)


def _typed(page: dict[str, Any], saved: dict[str, Any] | None) -> dict[str, Any]:
    """The form as the user left it: their draft if they saved one, else the task's data."""
    if saved is None:
        return dict(page["task"]["data"])
    return fields.parse(page["task"]["form"]["schema"], keeping.as_form(saved["fields"]))[0]


def _typed_rows(page: dict[str, Any], name: str, data: dict[str, Any] | None = None) -> list[Any]:
    """The list's rows typed so far (the draft's, or the task's)."""
    if data is None:
        data = _typed(page, taskdrafts.load(ctx(), actor(), page["task"]["id"]))
    rows = data.get(name)
    return [row for row in rows if row is not None] if isinstance(rows, list) else []
