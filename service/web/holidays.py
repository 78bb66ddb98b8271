"""The national admins' page of official holidays: those of a year (in พ.ศ.), one added or removed
at a time by the same dated rules as the CLI and the API (commands/holidays.py): a change counts
from a minute after it is made, and a removed holiday ends rather than disappears."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service.commands import holidays
from service.errors import Conflict, Invalid, NotFound
from service.http import ctx, query_integer
from service.taskforms.fields import THAI_DIGITS, month_options
from service.thai import dates, legaldays
from service.web.auth import actor

bp = Blueprint("holidays_web", __name__)
BE = dates.BE_OFFSET
FIRST_YEAR, LAST_YEAR = holidays.YEARS.start + BE, holidays.YEARS.stop - 1 + BE
YEAR_RANGE = f"ปี พ.ศ. {FIRST_YEAR}–{LAST_YEAR}"


@bp.get("/admin/holidays")
@login_required
def index() -> ResponseReturnValue:
    """The holidays of ``year`` (พ.ศ.; this year by default) that count or will count.
    :raise 403: not a national admin. :raise 422: a year out of range."""
    holidays.require_admin(actor())
    return _page(_shown_year())


@bp.post("/admin/holidays")
@login_required
def add() -> ResponseReturnValue:
    """Keep one more holiday (a day already kept is refused, not renamed).
    :raise 403: not a national admin. :raise 422: a bad day or name. :raise 409: the day is kept."""
    holidays.require_admin(actor())
    typed = {part: request.form.get(part, "").strip()[:8] for part in ("d", "m", "y")}
    name = request.form.get("name", "")[:400]
    try:
        day = _typed_day(typed)
        kept = holidays.add(ctx(), actor().username, day, name)
    except (Invalid, Conflict) as err:
        year = _year_of(typed)
        return _page(year, err, typed, name), err.status
    flash(f"เพิ่มวันหยุด “{kept['name']}” วันที่ {dates.short(kept['day'])} แล้ว "
          f"เริ่มนับเป็นวันหยุดตั้งแต่ {dates.short_datetime(datetime.fromisoformat(kept['counts_from']))}", "success")
    return redirect(url_for("holidays_web.index", year=day.year + BE))


@bp.post("/admin/holidays/<day>/remove")
@login_required
def remove(day: str) -> ResponseReturnValue:
    """Stop counting a holiday from a minute after now. :raise 403: not a national admin.
    :raise 404: no such holiday kept (or not a day)."""
    holidays.require_admin(actor())
    try:
        ended = holidays.remove(ctx(), actor().username, holidays.parse_day(day, "/day"))
    except (Invalid, NotFound):  # a path that names no day names no holiday kept either
        return _page(_shown_year(), NotFound(f"ไม่มีวันหยุดวันที่ {_shown_day(day)} ในระบบ จึงไม่ได้นำออก")), 404
    flash(f"นำวันหยุด “{ended['name']}” วันที่ {dates.short(ended['day'])} ออกแล้ว "
          f"นับเป็นวันหยุดถึง {dates.short_datetime(datetime.fromisoformat(ended['counts_until']))}", "success")
    return redirect(url_for("holidays_web.index", year=date.fromisoformat(ended["day"]).year + BE))


def _page(year: int, refused: Any = None, typed: dict[str, str] | None = None, name: str = "") -> str:
    errors = {e["field"].lstrip("/"): e["message"] for e in refused.errors} if refused is not None else {}
    return render_template("holidays.html", year=year, kept=holidays.listing(ctx(), year - BE),
                           refused=refused.message if refused is not None else "", errors=errors,
                           typed=typed or {"y": str(year)}, name=name, months=month_options(),
                           first_year=FIRST_YEAR, last_year=LAST_YEAR)


def _shown_year() -> int:
    this_year = legaldays.day_of(ctx().clock.now()).year + BE
    year = query_integer("year", FIRST_YEAR, LAST_YEAR, f"ปีต้องเป็น{YEAR_RANGE}")
    return year or this_year


def _year_of(typed: dict[str, str]) -> int:
    year = typed["y"].translate(THAI_DIGITS)
    return int(year) if year.isascii() and year.isdigit() and FIRST_YEAR <= int(year) <= LAST_YEAR \
        else legaldays.day_of(ctx().clock.now()).year + BE


def _typed_day(typed: dict[str, str]) -> date:
    """The day picked as day, Thai month and year in พ.ศ. :raise Invalid: not a day of a year kept."""
    parts = {key: value.translate(THAI_DIGITS) for key, value in typed.items()}
    if not all(parts.values()):
        message = "กรุณาเลือกวัน เดือน และปี พ.ศ. ให้ครบ"
    elif not all(value.isascii() and value.isdigit() for value in parts.values()):
        message = "วัน เดือน และปีต้องเป็นตัวเลข"
    elif not FIRST_YEAR <= int(parts["y"]) <= LAST_YEAR:
        message = f"กรุณากรอกปีเป็น{YEAR_RANGE} เช่น {legaldays.day_of(ctx().clock.now()).year + BE}"
    else:
        try:
            return date(int(parts["y"]) - BE, int(parts["m"]), int(parts["d"]))
        except ValueError:
            message = "ไม่มีวันที่นี้ในปฏิทิน"
    raise Invalid("วันที่ไม่ถูกต้อง ยังไม่ได้เพิ่มวันหยุด", [{"field": "/day", "message": message}])


def _shown_day(text: str) -> str:
    try:
        return dates.short(date.fromisoformat(text))
    except ValueError:
        return "ที่ระบุ"
