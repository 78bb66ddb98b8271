"""Incidents: a plan the timer sweep could not move on. One plan's failure (its process's script,
a timer past its bounds, anything) is recorded on that plan and retried after a growing pause,
never a stop of the sweep for every other plan in the country."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import oplog
from service.context import Context
from service.models import Incident, Plan

TIMER_FAILED = "timer_failed"
FIRST_PAUSE = timedelta(minutes=5)
LONGEST_PAUSE = timedelta(days=1)


def pause_after(failures: int) -> timedelta:
    """5 minutes, 10, 20 … at most a day: a plan that keeps failing costs the sweep little."""
    return min(FIRST_PAUSE * 2 ** min(failures - 1, 16), LONGEST_PAUSE)


def record_failure(ctx: Context, plan_id: int, error: Exception, now: datetime) -> int:
    """Keep the failure on the plan's open incident (a new one if none is open) and hold the plan
    back from the sweep until its retry time, in one transaction of its own; how many failures in a row."""
    message = f"{type(error).__name__}: {error}"[:2000]
    with ctx.db.write() as session:
        plan = session.scalars(select(Plan).where(Plan.id == plan_id).with_for_update()).one()
        incident = session.scalars(select(Incident).where(Incident.plan_id == plan_id,
                                                          Incident.resolved_at.is_(None))).first()
        if incident is None:
            incident = Incident(plan_id=plan_id, organization_id=plan.organization_id, kind=TIMER_FAILED,
                                message=message, failures=1, first_at=now, last_at=now, retry_at=now)
            session.add(incident)
        else:
            incident.failures, incident.last_at, incident.message = incident.failures + 1, now, message
        failures = incident.failures
        incident.retry_at = now + pause_after(failures)
        plan.next_timer_at = incident.retry_at  # the sweep passes it by until then
    oplog.log("incident", plan=plan_id, kind=TIMER_FAILED, failures=failures, message=message)
    return failures


def resolve(session: Session, plan_id: int, now: datetime) -> None:
    """The plan moved on: its open incident, if any, is over (in the transaction that moved it)."""
    session.execute(update(Incident).where(Incident.plan_id == plan_id, Incident.resolved_at.is_(None))
                    .values(resolved_at=now))
