"""Appending to a plan's event log: one hash-chained event from the head the plan's row keeps,
inside the command's transaction. Every command that changes a plan appends through here."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.auth import SYSTEM
from service.commands import renders
from service.eventlog import DOCUMENT_FROZEN, checked_jsonable, event_hash
from service.models import Event, FrozenDocument, Plan


def append_event(session: Session, plan: Plan, at: datetime, actor: str, role: str | None, kind: str,
                 data: dict[str, Any], task: str | None = None, task_id: str | None = None,
                 state_digest: str | None = None) -> Event:
    """Append one event to the plan's chain from the head its row keeps, and move the head on;
    without a digest the state is unchanged (a claim).
    :raise StaleDataError: the plan was saved meanwhile; two commands never append the same number."""
    if plan.id is None:
        session.flush()  # a new plan: its event names its id
    stored, written_alike = checked_jsonable(data)
    event = Event(plan_id=plan.id, seq=plan.event_seq + 1, at=at, actor=actor, role=role, kind=kind, task=task,
                  task_id=task_id, data=stored, state_digest=state_digest or plan.state_digest,
                  prev_hash=plan.event_hash, hash="")
    event.hash = event_hash(event, written_alike)
    plan.event_seq, plan.event_hash, plan.state_digest = event.seq, event.hash, event.state_digest
    # The plan's row is written first, on its own: its version check fails a command that lost a
    # race before that command's event could clash with the winner's.
    session.flush()
    session.add(event)
    renders.enqueue_renders(session, plan.id, at)  # what the plan's documents show may have changed
    return event


def store_frozen(session: Session, plan: Plan, kind: str, as_of_seq: int, content: bytes, at: datetime) -> None:
    """Keep a document's bytes for good, as of event ``as_of_seq``, with the document_frozen event
    that records their SHA-256 (the caller holds the plan's row: one freezer at a time)."""
    digest = hashlib.sha256(content).hexdigest()
    session.add(FrozenDocument(plan_id=plan.id, kind=kind, as_of_seq=as_of_seq, sha256=digest, content=content,
                               frozen_at=at))
    append_event(session, plan, at, SYSTEM.username, None, DOCUMENT_FROZEN,
                 {"kind": kind, "sha256": digest, "bytes": len(content)})
