"""What every command and query needs: settings, the database, the clock, parsed models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.bundles.catalog import ModelCache
from service.clock import Clock
from service.config import Settings
from service.db import Database
from service.models import ClockOverride, Holiday
from service.thai import legaldays

# Holidays are read again once the application clock has moved this far from the last read; a
# change counts only after legaldays.HOLIDAY_CHANGE_DELAY (longer), so every process has read it
# by the time it counts. Application time, not a timer: a test or demo clock moves by jumps.
HOLIDAYS_TTL = legaldays.HOLIDAY_CHANGE_DELAY / 2


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
    models: ModelCache = field(default_factory=ModelCache)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Context:
        settings.ensure_instance()
        db = Database(settings.database_url)
        if clock is None:
            clock = Clock(_override_loader(db)) if settings.allow_clock_override else Clock()
        return cls(settings, db, clock)

    _holidays: tuple[datetime, legaldays.Calendar] | None = field(default=None, init=False, repr=False)

    def calendar(self, session: Session, at: datetime) -> legaldays.Calendar:
        """The official holidays as kept over time, as read at most HOLIDAYS_TTL before ``at``."""
        if self._holidays is None or not self._holidays[0] <= at < self._holidays[0] + HOLIDAYS_TTL:
            self._holidays = (at, legaldays.Calendar(kept_holidays(session)))
        return self._holidays[1]

    def ignored_clock_override(self) -> datetime | None:
        """The clock a stored override sets, when this deployment does not allow overrides and so
        runs on system time instead (said loudly at start: a demo's clock silently lost is a trap)."""
        if self.settings.allow_clock_override:
            return None
        try:
            with self.db.read() as session:
                row = session.get(ClockOverride, 1)
                return row.set_to if row else None
        except SQLAlchemyError:  # no database yet (serve before init): nothing stored to ignore
            return None

    def timer_helpers(self, session: Session, at: datetime) -> dict:
        """The timer functions of a command applied at ``at``: over the holidays counting then."""
        return self.calendar(session, at).helpers_at(at)


def kept_holidays(session: Session) -> list[legaldays.KeptHoliday]:
    return [legaldays.KeptHoliday(h.day, h.name, h.effective_at, h.ended_at)
            for h in session.scalars(select(Holiday).order_by(Holiday.day, Holiday.id))]


def _override_loader(db: Database):
    def load() -> tuple[datetime, datetime] | None:
        with db.read() as session:
            row = session.get(ClockOverride, 1)
            return (row.set_to, row.set_at) if row else None

    return load
