"""How legal periods are counted: the one place the day-counting policy lives.

Civil and Commercial Code (ป.พ.พ.) s. 193/3: a period in days does not count its first day
("นับแต่" = start counting the next day). s. 193/8: when the last day of a period within which
something must be done is an official or customary non-working day, the period ends on the
next working day. A *minimum* period (e.g. "posted at least 30 days") is not extended: it is
counted as it stands. A period ends at the end of its last day, Asia/Bangkok time (23:59:59.999999).

So "within 15 days from 1 Oct" ends at the end of 16 Oct, and "at least 30 days from 20 Oct"
is met at the end of 19 Nov.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
WEEKEND = (5, 6)  # Saturday, Sunday


def as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.astimezone(BANGKOK).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() not in WEEKEND and day not in holidays


def last_day(start: date | str, days: int, holidays: Collection[date] = (),
             extend_to_working_day: bool = True) -> date:
    """The last day of a period of ``days`` days counted from ``start`` (first day not counted)."""
    if days < 0:
        raise ValueError("a period cannot be negative")
    end = as_date(start) + timedelta(days=days)
    if extend_to_working_day:
        while not is_working_day(end, holidays):
            end += timedelta(days=1)
    return end


def end_of_day(day: date) -> datetime:
    """The last instant of a day in Bangkok, as aware UTC: a timer set to it fires as the
    next day begins (SpiffWorkflow fires a timer once the clock is strictly past it)."""
    return datetime.combine(day, time.max, BANGKOK).astimezone(timezone.utc)


def day_of(instant: datetime) -> date:
    """The Bangkok day of an instant."""
    return instant.astimezone(BANGKOK).date()


def timer_helpers(holidays: Collection[date]) -> dict:
    """Functions that BPMN timer expressions call; each returns an ISO date-time string."""

    def legal_deadline(start, days):
        return end_of_day(last_day(start, int(days), holidays)).isoformat()

    def legal_minimum(start, days):
        return end_of_day(last_day(start, int(days), holidays, extend_to_working_day=False)).isoformat()

    def end_of(day):
        return end_of_day(as_date(day)).isoformat()

    return {"legal_deadline": legal_deadline, "legal_minimum": legal_minimum, "end_of": end_of}
