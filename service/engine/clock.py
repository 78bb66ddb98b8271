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


@contextlib.contextmanager
def running_at(now: datetime) -> Iterator[None]:
    if now.tzinfo is None:
        raise ValueError("engine instants must be timezone-aware")
    token = _engine_now.set(now)
    try:
        yield
    finally:
        _engine_now.reset(token)
