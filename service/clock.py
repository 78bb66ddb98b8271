"""The one clock. Every "now" in the system comes from here, SpiffWorkflow's timers included
(the engine adapter runs each command at the instant the clock gave it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """System time, optionally shifted by an override that training and demo deployments set
    from the CLI. The override is read through ``load_override`` (the database), so the web
    server and the timer workers always agree."""

    def __init__(self, load_override: Callable[[], tuple[datetime, datetime] | None] | None = None):
        self._load_override = load_override

    def now(self) -> datetime:
        real = utcnow()
        override = self._load_override() if self._load_override else None
        if override is None:
            return real
        set_to, set_at = override
        return set_to + (real - set_at)


class FixedClock(Clock):
    """A clock that moves only when told: tests and replay."""

    def __init__(self, at: datetime):
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("clock times must be timezone-aware")
        self.at = at

    def advance(self, **delta) -> datetime:
        self.at += timedelta(**delta)
        return self.at
