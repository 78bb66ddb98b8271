"""The tracked projects as a plan's events say they stood at a moment: the one computation every
report, the read model's check and the auditors' figures share. Only the events count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.eventlog import PROGRESS_EVIDENCE_ADDED, PROGRESS_RECORDED, PROJECTS_LISTED
from service.tracking.listing import Listed, sort_key

NOT_STARTED = "not_started"


@dataclass
class Tracked:
    listed: Listed
    list_version: int
    withdrawn: bool = False
    progress: dict[str, Any] = field(default_factory=lambda: {"status": NOT_STARTED})
    updated_at: datetime | None = None
    updated_by: str | None = None
    updates: int = 0
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the files attached to its progress, in order

    @property
    def status(self) -> str:
        return str(self.progress.get("status") or NOT_STARTED)


@dataclass
class State:
    projects: dict[str, Tracked] = field(default_factory=dict)
    list_version: int = -1  # none listed yet
    lists: list[dict[str, Any]] = field(default_factory=list)  # each listing: version, plan, when

    def ordered(self) -> list[Tracked]:
        return sorted(self.projects.values(), key=lambda t: sort_key(t.listed.number))


def replay(events: Iterable[Any], until: datetime | None = None) -> State:
    """The state after the tracking events (rows or dicts with kind, at, actor, data) up to ``until``."""
    state = State()
    for event in events:
        kind, at, actor, data = _fields(event)
        if until is not None and at > until:
            break
        if kind == PROJECTS_LISTED:
            apply_listing(state, data, at)
        elif kind == PROGRESS_RECORDED:
            tracked = state.projects.get(data["project"])
            if tracked is not None:
                tracked.progress, tracked.updated_at, tracked.updated_by = dict(data["progress"]), at, actor
                tracked.updates += 1
        elif kind == PROGRESS_EVIDENCE_ADDED:
            tracked = state.projects.get(data["project"])
            if tracked is not None:
                tracked.evidence.append({"filename": data["filename"], "type": data["type"], "bytes": data["bytes"],
                                         "sha256": data["sha256"], "at": at, "actor": actor})
    return state


def apply_listing(state: State, data: dict[str, Any], at: datetime) -> None:
    version = int(data["list_version"])
    for entry in data.get("listed", []):
        state.projects[entry["number"]] = Tracked(Listed.of(entry), version)
    for entry in data.get("changed", []):
        tracked = state.projects[entry["number"]]
        tracked.listed, tracked.list_version = Listed.of(entry), version
    for number in data.get("withdrawn", []):
        state.projects[number].withdrawn, state.projects[number].list_version = True, version
    state.list_version = version
    state.lists.append({"list_version": version, "plan_id": data.get("plan_id"), "at": at})


def _fields(event: Any) -> tuple[str, datetime, str, dict[str, Any]]:
    if isinstance(event, dict):
        return event["kind"], event["at"], event["actor"], event["data"] or {}
    return event.kind, event.at, event.actor, event.data or {}
