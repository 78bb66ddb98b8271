"""The rules of a plan's event log: the kinds of events, and the hash that chains each event to
the one before it. Commands append events; audit verifies them; pages and documents name them."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, date
from typing import Any

import orjson

from service.models import GENESIS_HASH, Event

PLAN_STARTED = "plan_started"
TASK_COMPLETED = "task_completed"
TIMER_FIRED = "timer_fired"
TASK_CLAIMED = "task_claimed"
TASK_RELEASED = "task_released"
TASK_REASSIGNED = "task_reassigned"
VERSION_MIGRATED = "version_migrated"  # the plan moved to another version of its process
DOCUMENT_FROZEN = "document_frozen"  # a document stored as the plan stood at a step
ATTACHMENT_ADDED = "attachment_added"  # a file attached to an open step as evidence, with its SHA-256
PROJECTS_LISTED = "projects_listed"  # the announced plan's projects, or an amendment's changes, to be tracked
PROGRESS_RECORDED = "progress_recorded"  # a unit's progress of one tracked project
PROGRESS_EVIDENCE_ADDED = "progress_evidence_added"  # a file attached to a project's progress, with its SHA-256
REPORT_PUBLISHED = "report_published"  # a progress report published on the public board, by its figures' SHA-256

#: Kinds that change who holds a task, never the process state.
CLAIM_KINDS = frozenset({TASK_CLAIMED, TASK_RELEASED, TASK_REASSIGNED})
#: Kinds that never change the process state.
UNCHANGED_STATE_KINDS = CLAIM_KINDS | {DOCUMENT_FROZEN, ATTACHMENT_ADDED, PROJECTS_LISTED, PROGRESS_RECORDED,
                                       PROGRESS_EVIDENCE_ADDED, REPORT_PUBLISHED}
#: Kinds of the plan's year (service/tracking): the tracked list, its progress and the progress's evidence,
#: and the reports published from them (which replay passes over).
TRACKING_KINDS = frozenset({PROJECTS_LISTED, PROGRESS_RECORDED, PROGRESS_EVIDENCE_ADDED, REPORT_PUBLISHED})
#: Kinds that record a kept file by its SHA-256 (a plan bundle carries the bytes of each).
EVIDENCE_KINDS = frozenset({ATTACHMENT_ADDED, PROGRESS_EVIDENCE_ADDED})
#: Kinds whose data is what a form submitted (the start form, a task's form).
FORM_DATA_KINDS = frozenset({PLAN_STARTED, TASK_COMPLETED})
GENESIS = GENESIS_HASH  # the previous hash of a plan's first event


def event_hash(event: Event, written_alike: bool | None = None) -> str:
    """The SHA-256 of the event's canonical JSON. ``written_alike``: whether its data is such that
    orjson writes it byte for byte as json does (see checked_jsonable); None: find out."""
    fields = [event.plan_id, event.seq, event.at.astimezone(UTC).isoformat(), event.actor, event.role,
              event.kind, event.task, event.task_id, event.data, event.state_digest, event.prev_hash]
    if written_alike is None:
        written_alike = _kind_of(event.data) == _ALIKE
    if written_alike:
        try:
            return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:  # a text with a lone surrogate, a value orjson does not write
            pass
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def jsonable(data: Any) -> Any:
    """Event data as JSON holds it (dates as ISO text), so that its hash is the same when read back."""
    return checked_jsonable(data)[0]


def checked_jsonable(data: Any) -> tuple[Any, bool]:
    """jsonable(data), and whether event_hash may write it with orjson. Data that is JSON already (a
    form's submission) is copied by orjson, which reads back exactly what json would for it, five
    times faster on a 200-project list; one walk tells both."""
    kind = _kind_of(data)
    if kind != _OTHER:
        try:
            return orjson.loads(orjson.dumps(data)), kind == _ALIKE
        except TypeError:  # a text with a lone surrogate: json keeps it
            pass
    copied = json.loads(json.dumps(data, ensure_ascii=False,
                                   default=lambda v: v.isoformat() if isinstance(v, date) else str(v)))
    return copied, _kind_of(copied) == _ALIKE


_TEXT_OR_NOTHING = (str, bool, type(None))
_OTHER, _PLAIN, _ALIKE = 0, 1, 2
#: orjson writes a float as json does (repr) in this range; below it, 1e-05 against 1e-5.
_ALIKE_FLOATS = (1e-4, 1e16)


def _kind_of(data: Any) -> int:
    """_PLAIN when ``data`` is made of JSON's own values only, as orjson and json read and write them
    alike: objects with text keys, lists, text, booleans, null, 64-bit integers and finite floats;
    _ALIKE when moreover every float is written the same by both (0 or within _ALIKE_FLOATS);
    else _OTHER."""
    kind = _ALIKE
    low, high = _ALIKE_FLOATS
    stack = [data]
    while stack:
        value = stack.pop()
        of = type(value)
        if of is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return _OTHER
                stack.append(item)
        elif of is list:
            stack.extend(value)
        elif of is float:
            if not math.isfinite(value):
                return _OTHER
            if value and not low <= abs(value) < high:
                kind = _PLAIN
        elif of is int:
            if not -2**63 <= value < 2**64:
                return _OTHER
        elif of not in _TEXT_OR_NOTHING:
            return _OTHER
    return kind
