"""What every command and query needs: settings, the database, the clock, parsed models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import legaldays
from .catalog import ModelCache
from .clock import Clock
from .config import Settings
from .db import Database
from .models import ClockOverride, Holiday


HOLIDAYS_TTL = 60.0  # seconds: a holiday added by the administrator counts within a minute


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

    _holidays: tuple[float, frozenset[date]] | None = field(default=None, init=False, repr=False)

    def timer_helpers(self, session: Session) -> dict:
        """Timer functions over the official holidays, read at most once a minute."""
        if self._holidays is None or time.monotonic() - self._holidays[0] > HOLIDAYS_TTL:
            self._holidays = (time.monotonic(), frozenset(session.scalars(select(Holiday.day))))
        return legaldays.timer_helpers(self._holidays[1])


def _override_loader(db: Database):
    def load() -> tuple[datetime, datetime] | None:
        with db.read() as session:
            row = session.get(ClockOverride, 1)
            return (row.set_to, row.set_at) if row else None

    return load
