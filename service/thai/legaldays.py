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

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
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
    return datetime.combine(day, time.max, BANGKOK).astimezone(UTC)


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


# --- The holidays as they were kept over time ------------------------------------------------
#: A holiday the administrator adds or removes counts (or stops counting) this long after the
#: change: every process reads the holidays at most this often, so each command's count is the
#: one an auditor's replay at that command's instant reproduces.
HOLIDAY_CHANGE_DELAY = timedelta(seconds=60)
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)  # kept before changes were dated


@dataclass(frozen=True)
class KeptHoliday:
    """A holiday as kept: its day and name, and from when until when it counted."""

    day: date
    name: str
    effective_at: datetime = ALWAYS
    ended_at: datetime | None = None

    def counts_at(self, instant: datetime) -> bool:
        return self.effective_at <= instant and (self.ended_at is None or instant < self.ended_at)

    def as_dict(self) -> dict[str, str | None]:
        return {"day": self.day.isoformat(), "name": self.name, "effective_at": self.effective_at.isoformat(),
                "ended_at": self.ended_at.isoformat() if self.ended_at else None}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | str) -> KeptHoliday:
        """From as_dict, or a bare ISO day (an export made before changes were dated)."""
        if isinstance(value, str):
            return cls(date.fromisoformat(value), "")
        ended = value.get("ended_at")
        return cls(date.fromisoformat(value["day"]), str(value.get("name", "")),
                   datetime.fromisoformat(value["effective_at"]), datetime.fromisoformat(ended) if ended else None)


class Calendar:
    """The official holidays over time: which days counted as holidays at a given instant."""

    def __init__(self, kept: Iterable[KeptHoliday] = ()):
        self.kept = sorted(kept, key=lambda h: (h.day, h.effective_at))
        self._helpers: dict[frozenset[date], dict] = {}

    def days_at(self, instant: datetime) -> frozenset[date]:
        return frozenset(h.day for h in self.kept if h.counts_at(instant))

    def helpers_at(self, instant: datetime) -> dict:
        """The timer functions of a command applied at ``instant`` (the same object for the same
        holidays, so a replay changes them only where the holidays changed)."""
        days = self.days_at(instant)
        if days not in self._helpers:
            self._helpers[days] = timer_helpers(days)
        return self._helpers[days]
