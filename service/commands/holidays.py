"""The official holidays the national administrator keeps, for counting legal periods.

A change counts from legaldays.HOLIDAY_CHANGE_DELAY after it is made (every process has read it
by then), and is kept, never overwritten: a removed holiday ends, so an auditor's replay of an
earlier command counts over the holidays that counted then. A deadline already set when a
holiday is added keeps its date: periods are counted when they begin.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.auth import Actor, require_national_admin
from service.context import Context
from service.errors import Conflict, Invalid, NotFound
from service.models import Holiday
from service.thai.legaldays import HOLIDAY_CHANGE_DELAY

YEARS = range(2000, 2201)  # Common Era years a holiday may fall in


def require_admin(actor: Actor) -> None:
    require_national_admin(actor, "กำหนดวันหยุดราชการ")


def parse_day(value: Any, field: str = "/day") -> date:
    """An ISO day (YYYY-MM-DD) of a year holidays are kept for. :raise Invalid:"""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or day.year not in YEARS:
        raise Invalid("วันที่ไม่ถูกต้อง", [{"field": field, "message": "วันที่ต้องอยู่ในรูปแบบ ปปปป-ดด-วว (ค.ศ.) "
                                                                    f"ระหว่างปี {YEARS.start} ถึง {YEARS.stop - 1}"}])
    return day


def _checked_name(value: Any, field: str = "/name") -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > 200:
        raise Invalid("ชื่อวันหยุดไม่ถูกต้อง", [{"field": field, "message": "กรุณาระบุชื่อวันหยุด ไม่เกิน 200 ตัวอักษร"}])
    return name


def keep(ctx: Context, by: str, day: date, name: Any) -> dict[str, Any]:
    """Add a holiday (or rename one that is kept); it counts from a minute after now."""
    name = _checked_name(name)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        return view(_keep(session, by, day, name, now))


def add(ctx: Context, by: str, day: date, name: Any) -> dict[str, Any]:
    """Add a holiday that is not kept yet (the admin page's form, where a day already kept is a
    mistake, not a rename); it counts from a minute after now. :raise Conflict: the day is kept."""
    name = _checked_name(name)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        kept = _kept(session, day)
        if kept is not None:
            raise Conflict(f"วันที่ {day.isoformat()} เป็นวันหยุด “{kept.name}” อยู่แล้ว",
                           [{"field": "/day", "message": f"วันนี้เป็นวันหยุด “{kept.name}” อยู่แล้ว"}])
        return view(_keep(session, by, day, name, now))


def csv_text(raw: bytes) -> str:
    """A CSV file's text (UTF-8, with or without a byte-order mark). :raise Invalid:"""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise Invalid("ไฟล์วันหยุดต้องเป็นข้อความ UTF-8 (CSV)", [{"field": "file", "message": "อ่านไฟล์ไม่ได้"}]) from err


def keep_all(ctx: Context, by: str, text: str) -> list[dict[str, Any]]:
    """Add the holidays of a CSV text (day,name per line; a header line is allowed), all or none."""
    entries, errors = [], []
    for number, line in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not line or not "".join(line).strip() or (number == 1 and line[0].strip().lower() in ("day", "date", "วันที่")):
            continue
        try:
            if len(line) < 2:
                raise Invalid("", [{"field": f"บรรทัด {number}", "message": "ต้องมีวันที่และชื่อวันหยุด คั่นด้วยจุลภาค"}])
            entries.append((parse_day(line[0].strip(), f"บรรทัด {number}"), _checked_name(line[1], f"บรรทัด {number}")))
        except Invalid as err:
            errors.extend(err.errors)
    if errors:
        raise Invalid("ไฟล์วันหยุดมีข้อผิดพลาด ยังไม่ได้บันทึกวันใด", errors)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        return [view(_keep(session, by, day, name, now)) for day, name in entries]


def remove(ctx: Context, by: str, day: date) -> dict[str, Any]:
    """Stop counting a holiday, from a minute after now. :raise NotFound: it is not kept."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = _kept(session, day)
        if row is None:
            raise NotFound(f"ไม่มีวันหยุดวันที่ {day.isoformat()} ในระบบ")
        row.ended_at, row.removed_by = max(now + HOLIDAY_CHANGE_DELAY, row.effective_at), by
        session.flush()
        return view(row)


def listing(ctx: Context, year: int | None = None) -> list[dict[str, Any]]:
    """The holidays that count or will count (of one Common Era year, if given), by day."""
    now = ctx.clock.now()
    query = select(Holiday).where(or_(Holiday.ended_at.is_(None), Holiday.ended_at > now)).order_by(Holiday.day)
    if year is not None:
        query = query.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    with ctx.db.read() as session:
        return [view(row) for row in session.scalars(query)]


def view(row: Holiday) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "name": row.name, "counts_from": _utc(row.effective_at),
            "counts_until": _utc(row.ended_at) if row.ended_at else None,
            "added_by": row.added_by, "removed_by": row.removed_by}


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _keep(session: Session, by: str, day: date, name: str, now: datetime) -> Holiday:
    row = _kept(session, day)
    if row is None:
        row = Holiday(day=day, name=name, effective_at=now + HOLIDAY_CHANGE_DELAY, added_by=by)
        session.add(row)
    else:
        row.name = name  # the name counts nothing: it may change in place
    session.flush()
    return row


def _kept(session: Session, day: date) -> Holiday | None:
    """The row of a day that is kept and not removed (it may not count yet)."""
    return session.scalars(select(Holiday).where(Holiday.day == day, Holiday.ended_at.is_(None))
                           .with_for_update()).first()
