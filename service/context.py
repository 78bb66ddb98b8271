"""What every command and query needs: settings, the database, the clock, parsed models."""

from __future__ import annotations

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

    def timer_helpers(self, session: Session) -> dict:
        holidays: set[date] = set(session.scalars(select(Holiday.day)))
        return legaldays.timer_helpers(holidays)


def _override_loader(db: Database):
    def load() -> tuple[datetime, datetime] | None:
        with db.read() as session:
            row = session.get(ClockOverride, 1)
            return (row.set_to, row.set_at) if row else None

    return load
