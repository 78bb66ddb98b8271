"""One clock for SpiffWorkflow: it asks ``datetime.now(timezone.utc)`` when it checks a timer and
``time.time()`` when a task changes state. Both are routed to the instant of the command being
applied, so timers obey the application clock and a replay at the recorded instants reproduces the
same tree. Importing the engine installs the patch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

import SpiffWorkflow.task as _spiff_task_module
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer_module

_engine_now: ContextVar[datetime | None] = ContextVar("engine_now", default=None)


def _current_instant() -> datetime:
    return _engine_now.get() or datetime.now(UTC)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        at = _current_instant()
        return at.astimezone(tz) if tz else at.astimezone(UTC).replace(tzinfo=None)


class _EngineTime:
    @staticmethod
    def time() -> float:
        return _current_instant().timestamp()


_spiff_timer_module.datetime = _EngineDatetime
_spiff_task_module.time = _EngineTime()


# --- Bounded timers ----------------------------------------------------------------------
# SpiffWorkflow adds a duration month by month and a date of year 9999 overflows when it is
# compared: a designer's P99999999Y would hold a worker for minutes. Every timer the engine reads
# passes these bounds first, at deploy (engine.timer_value_problem) and at run time alike.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2300  # Common Era
MAX_DURATION_DAYS = 100 * 366  # a century: no legal period is longer
_DAYS_PER = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
             "seconds": 1 / 86400}
_TimerEventDefinition = _spiff_timer_module.TimerEventDefinition
_parse_duration, _parse_datetime = _TimerEventDefinition.parse_iso_duration, _TimerEventDefinition.get_datetime


def bounded_duration(expression: str) -> dict:
    parsed = _parse_duration(expression)
    if sum(_DAYS_PER.get(part, 1) * value for part, value in parsed.items()) > MAX_DURATION_DAYS:
        raise ValueError(f"the duration {expression} is longer than a century")
    return parsed


def bounded_datetime(expression: str) -> datetime:
    moment = _parse_datetime(expression)
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"the date {expression} is not between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


_TimerEventDefinition.parse_iso_duration = staticmethod(bounded_duration)
_TimerEventDefinition.get_datetime = staticmethod(bounded_datetime)


@contextlib.contextmanager
def running_at(now: datetime) -> Iterator[None]:
    if now.tzinfo is None:
        raise ValueError("engine instants must be timezone-aware")
    token = _engine_now.set(now)
    try:
        yield
    finally:
        _engine_now.reset(token)
