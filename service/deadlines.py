"""The verdict on a legal deadline at an instant: the one answer that the plan page, the inbox,
the API, every document, the compliance report and the audit export give.

The engine measures a deadline against the fact the law names (the recorded posting date, the
removal date), not against when a step was clicked; what only the clock can add is here: a limit
whose day has passed while its step is still open is missed, and overdue.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from service.labels import DEADLINE_STATES, OVERDUE
from service.thai.legaldays import day_of


def verdict(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A stored deadline (engine.Deadline.as_dict) judged at ``now``."""
    due_at = datetime.fromisoformat(deadline["due_at"])
    kind, state = deadline["kind"], deadline["state"]
    actual_at = deadline.get("actual_at")
    fact_on = deadline.get("fact_on")
    done_on: date | None = (date.fromisoformat(fact_on) if fact_on
                            else day_of(datetime.fromisoformat(actual_at)) if actual_at else None)
    if state == "pending" and kind == "limit" and now > due_at:
        state = "missed"
    overdue = state == "missed" and kind == "limit" and done_on is None  # still not done
    due_on = day_of(due_at)
    late_by = None
    if kind == "limit" and state == "missed":
        late_by = ((done_on or day_of(now)) - due_on).days
    original = deadline.get("original_due_at")
    return {
        "key": deadline["key"], "name": deadline["name"], "basis": deadline["basis"], "kind": kind,
        "state": state, "label": OVERDUE if overdue else DEADLINE_STATES[state], "overdue": overdue,
        "days_late": late_by,
        "due_at": deadline["due_at"], "due_on": due_on.isoformat(),
        "original_due_on": day_of(datetime.fromisoformat(original)).isoformat() if original else None,
        "extended_to": deadline.get("extended_to"), "extended_in": deadline.get("extended_in"),
        "actual_on": done_on.isoformat() if done_on else None,
        "fact": deadline.get("fact") or None, "fact_on": fact_on, "reason": deadline.get("reason"),
        "documents": list(deadline.get("documents") or []),
    }


def verdicts(deadlines: list[dict[str, Any]] | None, now: datetime) -> list[dict[str, Any]]:
    return [verdict(d, now) for d in deadlines or []]


def of_task(due_at: datetime | None, deadlines: list[dict[str, Any]] | None, now: datetime) -> dict[str, Any] | None:
    """The verdict on the deadline an open step is due by (matched by its date), or None if the step
    has none. An extended deadline matches by the date in force."""
    if due_at is None:
        return None
    for deadline in deadlines or []:
        if datetime.fromisoformat(deadline["due_at"]) == due_at:
            return verdict(deadline, now)
    return verdict({"key": "", "name": "", "basis": "", "kind": "limit", "state": "pending",
                    "due_at": due_at.isoformat()}, now)
