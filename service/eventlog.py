"""The rules of a plan's event log: the kinds of events, and the hash that chains each event to
the one before it. Commands append events; audit verifies them; pages and documents name them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date
from typing import Any

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

#: Kinds that change who holds a task, never the process state.
CLAIM_KINDS = frozenset({TASK_CLAIMED, TASK_RELEASED, TASK_REASSIGNED})
#: Kinds that never change the process state.
UNCHANGED_STATE_KINDS = CLAIM_KINDS | {DOCUMENT_FROZEN, ATTACHMENT_ADDED}
#: Kinds whose data is what a form submitted (the start form, a task's form).
FORM_DATA_KINDS = frozenset({PLAN_STARTED, TASK_COMPLETED})
GENESIS = GENESIS_HASH  # the previous hash of a plan's first event


def event_hash(event: Event) -> str:
    canonical = json.dumps(
        [event.plan_id, event.seq, event.at.astimezone(UTC).isoformat(), event.actor, event.role,
         event.kind, event.task, event.task_id, event.data, event.state_digest, event.prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def jsonable(data: Any) -> Any:
    """Event data as JSON holds it (dates as ISO text), so that its hash is the same when read back."""
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, date) else str(v)))
