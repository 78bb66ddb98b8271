"""The lists an organization keeps that forms take choices from (taskforms/choices.py): read
from the database when a form names one, so a form that names none costs no query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.bundles.catalog import ModelCache
from service.eventlog import TASK_COMPLETED
from service.models import Event, Plan, Strategy
from service.taskforms import choices

STRATEGIES = "strategies"  # the organization's development strategies (commands/strategies.py)
assert STRATEGIES in choices.KEPT_LISTS


def kept_lists(session: Session, organization_id: int, names: set[str]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    if STRATEGIES in names:
        lists[STRATEGIES] = list(session.scalars(
            select(Strategy.name).where(Strategy.organization_id == organization_id).order_by(Strategy.position)))
    return lists


def resolved(session: Session, models: ModelCache, plan: Plan, schema: Mapping[str, Any],
             recorded: Any) -> dict[str, Any]:
    """The form as the organization's plan fills it: fields that pick from a kept list get it, and
    keep what this plan and the organization's other plans of its fiscal year recorded there."""
    names = choices.declared(schema)
    if not names:
        return dict(schema)
    return choices.resolve(schema, kept_lists(session, plan.organization_id, names), recorded,
                           recorded_this_year(session, models, plan))


def recorded_this_year(session: Session, models: ModelCache, plan: Plan) -> dict[str, list[str]]:
    """What the organization's other plans of the plan's fiscal year recorded in fields that pick
    from a kept list (by list name), read from their completed steps."""
    found: dict[str, list[str]] = {}
    rows = session.execute(
        select(Plan.process_version_id, Event.task, Event.data).join(Event, Event.plan_id == Plan.id)
        .where(Plan.organization_id == plan.organization_id, Plan.fiscal_year == plan.fiscal_year,
               Plan.id != plan.id, Event.kind == TASK_COMPLETED).order_by(Event.id))
    for version_id, task, data in rows:
        form = models.published(session, version_id).form_of(task or "")
        if choices.declared(form):
            choices.values_of(form, data, found)
    return found
