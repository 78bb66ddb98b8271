"""The page where an organization's admin (or a national admin) keeps its committees' members and
their terms: appoint, end a term, replace a member (the old term ends the day before), correct a
mistyped row. Every form calls commands/committees.py, as the API does."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service.commands import committees
from service.errors import Conflict, Invalid
from service.http import ctx
from service.taskforms.fields import THAI_DIGITS, month_options
from service.thai import dates
from service.web.auth import actor

bp = Blueprint("committees_web", __name__)
BE = dates.BE_OFFSET
#: The day pickers of the forms: (prefix of the inputs, what the day is).
DAYS = {"starts_on": "วันเริ่มวาระ", "ends_on": "วันสิ้นสุดวาระ"}


@bp.get("/admin/organizations/<code>/committees")
@login_required
def show(code: str) -> ResponseReturnValue:
    """:raise 404: not an organization the user sees; 403: not its admin nor a national admin."""
    return _page(code)


@bp.post("/admin/organizations/<code>/committees")
@login_required
def add(code: str) -> ResponseReturnValue:
    """Appoint one member (or the holder of a role). :raise 403, 404; 409: an overlap; 422: a field."""
    return _change(code, lambda: committees.add(ctx(), actor(), code, _typed(
        "committee", "name", "seat", "position", "username", "starts_on", "ends_on")),
        "บันทึกการแต่งตั้งแล้ว")


@bp.post("/admin/organizations/<code>/committees/<int:seat_id>/end")
@login_required
def end(code: str, seat_id: int) -> ResponseReturnValue:
    """:raise 403, 404; 409: ended already; 422: the day."""
    return _change(code, lambda: committees.end(ctx(), actor(), code, seat_id, _typed("ends_on", required=True)),
                   "บันทึกการสิ้นสุดวาระแล้ว")


@bp.post("/admin/organizations/<code>/committees/<int:seat_id>/replace")
@login_required
def replace(code: str, seat_id: int) -> ResponseReturnValue:
    """The member's term ends the day before the new one's begins. :raise 403, 404, 409, 422:"""
    return _change(code, lambda: committees.replace(ctx(), actor(), code, seat_id,
                                                    _typed("name", "position", "username", "starts_on")),
                   "บันทึกการแต่งตั้งแทนแล้ว วาระของผู้ดำรงตำแหน่งเดิมสิ้นสุดในวันก่อนหน้า")


@bp.post("/admin/organizations/<code>/committees/<int:seat_id>/correct")
@login_required
def correct(code: str, seat_id: int) -> ResponseReturnValue:
    """A mistyped row put right (the admin log keeps what it said). :raise 403, 404, 409, 422:"""
    return _change(code, lambda: committees.correct(ctx(), actor(), code, seat_id, _typed(
        "name", "seat", "position", "username", "starts_on", "ends_on")),
        "แก้ไขข้อมูลแล้ว บันทึกการดูแลระบบเก็บข้อมูลเดิมไว้")


def _change(code: str, command: Any, done: str) -> ResponseReturnValue:
    try:
        command()
    except (Invalid, Conflict) as err:
        return _page(code, err), err.status
    flash(done, "success")
    return redirect(url_for("committees_web.show", code=code))


def _page(code: str, refused: Invalid | Conflict | None = None) -> str:
    kept = committees.listing(ctx(), actor(), code)
    return render_template("admin/committees.html", kept=kept, months=month_options(), refused=refused,
                           typed=dict(request.form) if refused is not None else {})


def _typed(*names: str, required: bool = False) -> dict[str, Any]:
    """The fields of the submitted form a command takes; a day from its day, Thai month and year in
    พ.ศ. (an end left empty: still serving). :raise Invalid: a day that is not one."""
    fields: dict[str, Any] = {}
    for name in names:
        if name in DAYS:
            fields[name] = _day(name, required or name == "starts_on")
        elif name in request.form:
            fields[name] = request.form.get(name, "").replace("\x00", "")
    return fields


def _day(prefix: str, required: bool) -> str | None:
    parts = {part: request.form.get(f"{prefix}_{part}", "").strip()[:8].translate(THAI_DIGITS) for part in "dmy"}
    title = DAYS[prefix]
    if not any(parts.values()) and not required:
        return None
    if not all(parts.values()):
        message = f"กรุณาเลือกวัน เดือน และปี พ.ศ. ของ{title}ให้ครบ"
    elif not all(value.isascii() and value.isdigit() for value in parts.values()):
        message = f"วัน เดือน และปีของ{title}ต้องเป็นตัวเลข"
    else:
        try:
            return date(int(parts["y"]) - BE, int(parts["m"]), int(parts["d"])).isoformat()
        except ValueError:
            message = f"ไม่มี{title}นี้ในปฏิทิน (ปีเป็น พ.ศ. เช่น ๒๕๖๘)"
    raise Invalid(f"{title}ไม่ถูกต้อง ยังไม่ได้บันทึก", [{"field": f"/{prefix}", "message": message}])

