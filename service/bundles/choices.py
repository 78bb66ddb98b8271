"""The lists an organization keeps that forms take choices from (taskforms/choices.py): read
from the database when a form names one, so a form that names none costs no query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Strategy
from service.taskforms import choices

STRATEGIES = "strategies"  # the organization's development strategies (commands/strategies.py)
assert STRATEGIES in choices.KEPT_LISTS


def kept_lists(session: Session, organization_id: int, names: set[str]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    if STRATEGIES in names:
        lists[STRATEGIES] = list(session.scalars(
            select(Strategy.name).where(Strategy.organization_id == organization_id).order_by(Strategy.position)))
    return lists


def resolved(session: Session, organization_id: int, schema: Mapping[str, Any], recorded: Any) -> dict[str, Any]:
    """The form as the organization's plan fills it: fields that pick from a kept list get it."""
    names = choices.declared(schema)
    if not names:
        return dict(schema)
    return choices.resolve(schema, kept_lists(session, organization_id, names), recorded)
