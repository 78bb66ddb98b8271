"""Verified checkpoints kept: where each plan's history last verified clean, stored compressed.
audit/verify.py decides what they are worth; this module only reads and writes them."""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from importlib import metadata

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.context import Context
from service.models import VerifyCheckpoint


@dataclass(frozen=True)
class Checkpoint:
    """A plan's history verified clean up to event ``seq``: that event's hash and state digest,
    the plan's state then, and the digest of what replay rested on besides the events."""

    seq: int
    event_hash: str
    state_digest: str
    state_json: str
    basis: str


def load(session: Session, plan_id: int) -> Checkpoint | None:
    row = session.get(VerifyCheckpoint, plan_id)
    if row is None:
        return None
    try:
        state = zlib.decompress(row.state).decode("utf-8")
    except (zlib.error, UnicodeDecodeError, TypeError):
        state = ""  # an edited row: it restores to nothing, so verification does not trust it
    return Checkpoint(row.seq, row.event_hash, row.state_digest, state, row.basis)


def keep(ctx: Context, checkpoints: list[tuple[int, Checkpoint]]) -> None:
    """Record checkpoints (plan id, checkpoint) in one transaction, each replacing the plan's last.
    A checkpoint is a saving, not a result: one that cannot be written (a concurrent run wrote it
    first, a damaged or read-only database) is left for the next run, which only replays more."""
    if not checkpoints:
        return
    now, by = ctx.clock.now(), verified_by()
    try:
        with ctx.db.write() as session:
            session.execute(delete(VerifyCheckpoint).where(VerifyCheckpoint.plan_id.in_([p for p, _ in checkpoints])))
            session.add_all(VerifyCheckpoint(plan_id=plan_id, seq=c.seq, event_hash=c.event_hash,
                                             state_digest=c.state_digest, basis=c.basis, verified_at=now,
                                             verified_by=by, state=zlib.compress(c.state_json.encode("utf-8"), 6))
                            for plan_id, c in checkpoints)
    except DBAPIError:
        pass


@functools.cache
def verified_by() -> str:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "unknown"

    return f"phaen {version('phaen')}; SpiffWorkflow {version('SpiffWorkflow')}"
