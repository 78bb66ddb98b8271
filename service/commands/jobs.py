"""The job queue: work done in the background, kept in the database (models.Job). A command that
makes work enqueues it in its own transaction, so the work exists exactly when the change does;
workers (`phaen jobs run`, or a thread of `phaen serve`) take one job at a time by a lease.

- Taking a job is one UPDATE that succeeds for one worker only (PostgreSQL: the row is chosen with
  FOR UPDATE SKIP LOCKED, so workers do not wait on each other; SQLite: writers are serialized).
- A job runs outside any transaction; what it produces is written by the handler in one
  transaction of its own at its end, so a worker killed mid-job leaves nothing half written, and
  once its lease runs out another worker takes the job again.
- A job that fails is tried again after a growing pause, at most ``max_attempts`` times in all,
  then stays failed with its error (reported in the log, on the plan's page to its admins and by
  `phaen jobs list`) until `phaen jobs retry` queues it again. One failing job never holds up the others.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from service import oplog
from service.context import Context
from service.errors import Invalid, NotFound
from service.models import Job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
MAX_ATTEMPTS = 3
#: How long a worker holds a job before another may take it: well over the longest render.
LEASE = timedelta(minutes=10)
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)
#: Finished jobs are kept this long (to be listed), then deleted by the workers.
KEEP_DONE = timedelta(days=7)
#: Bounds of a listing (``phaen jobs list --limit``).
LIST_LIMITS = range(1, 1001)

Handler = Callable[[Context, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``: it gets the job's payload, and raises to fail."""
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler
    return register


def pause_after(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … at most an hour."""
    return min(FIRST_PAUSE * 2 ** min(attempts - 1, 16), LONGEST_PAUSE)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


# --- Enqueueing ----------------------------------------------------------------------------
def enqueue(session: Session, kind: str, payload: dict[str, Any], dedup_key: str, now: datetime,
            plan_id: int | None = None, max_attempts: int = MAX_ATTEMPTS) -> Job:
    """Queue a job in the caller's transaction, unless one with the same key is queued already
    (that one does the work: it runs on what there is when it runs). A job already running is not
    enough: it may be working on what was there before this change."""
    queued = session.scalars(select(Job).where(Job.dedup_key == dedup_key, Job.state == QUEUED)
                             .limit(1)).first()
    if queued is not None:
        return queued
    job = Job(kind=kind, dedup_key=dedup_key, plan_id=plan_id, payload=payload, state=QUEUED, attempts=0,
              max_attempts=max_attempts, run_after=now, created_at=now)
    session.add(job)
    return job


def pending(session: Session, dedup_key: str) -> Job | None:
    """The queued or running job of this key, if any."""
    return session.scalars(select(Job).where(Job.dedup_key == dedup_key, Job.state.in_((QUEUED, RUNNING)))
                           .order_by(Job.id.desc()).limit(1)).first()


def latest(session: Session, dedup_key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.dedup_key == dedup_key).order_by(Job.id.desc()).limit(1)).first()


# --- Working -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def claim(ctx: Context, worker: str, kinds: Collection[str] | None = None) -> Claimed | None:
    """Take the next job due (queued and due, or running on a lease that ran out), or None;
    ``kinds``: only jobs of these kinds."""
    now = ctx.clock.now()
    due = or_(and_(Job.state == QUEUED, Job.run_after <= now),
              and_(Job.state == RUNNING, Job.locked_until < now))
    if kinds is not None:
        due = and_(due, Job.kind.in_(list(kinds)))
    while True:
        with ctx.db.write() as session:
            job = session.scalars(select(Job).where(due).order_by(Job.run_after, Job.id).limit(1)
                                  .with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            if job.state == RUNNING and job.attempts >= job.max_attempts:
                # its worker died on the last attempt: a job that kills its worker is not tried forever
                job.state, job.finished_at, job.locked_by, job.locked_until = FAILED, now, None, None
                job.last_error = (job.last_error or "") + "\nthe worker stopped before the job finished"
                _report(job)
                continue
            # the guard makes the take one worker's even where the row could not be locked
            taken = session.execute(  # type: ignore[attr-defined]  # an UPDATE's result: a CursorResult
                update(Job).where(Job.id == job.id, Job.state == job.state, Job.attempts == job.attempts)
                .values(state=RUNNING, attempts=job.attempts + 1, locked_by=worker, locked_until=now + LEASE)
                .execution_options(synchronize_session=False)).rowcount
            if taken != 1:
                continue
            return Claimed(job.id, job.kind, dict(job.payload), job.attempts + 1, job.max_attempts)


def run(ctx: Context, job: Claimed, worker: str) -> bool:
    """Run a claimed job and record how it ended (only while the lease is still this worker's:
    a worker that overran its lease leaves the job to the one that took it); True if it succeeded."""
    started = time.perf_counter()
    handler = HANDLERS.get(job.kind)
    error: str | None = None
    try:
        if handler is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        handler(ctx, job.payload)
    except Exception as err:  # noqa: BLE001 - any failure of one job is that job's, never the worker's
        error = "".join(traceback.format_exception_only(err)).strip()[:4000]
    now = ctx.clock.now()
    mine = and_(Job.id == job.id, Job.state == RUNNING, Job.locked_by == worker)
    with ctx.db.write() as session:
        if error is None:
            values: dict[str, Any] = {"state": DONE, "finished_at": now, "locked_by": None, "locked_until": None,
                                      "last_error": None}
        elif job.attempts < job.max_attempts:
            values = {"state": QUEUED, "run_after": now + pause_after(job.attempts), "locked_by": None,
                      "locked_until": None, "last_error": error}
        else:
            values = {"state": FAILED, "finished_at": now, "locked_by": None, "locked_until": None,
                      "last_error": error}
        session.execute(update(Job).where(mine).values(**values).execution_options(synchronize_session=False))
    if error is None:
        oplog.command("job_done", started, job=job.id, job_kind=job.kind, attempt=job.attempts)
    else:
        oplog.logger.error("job failed", extra={"fields": {
            "event": "job_failed" if job.attempts >= job.max_attempts else "job_retried", "job": job.id,
            "kind": job.kind, "attempt": job.attempts, "of": job.max_attempts, "error": error}})
    return error is None


def _report(job: Job) -> None:
    oplog.logger.error("job failed", extra={"fields": {"event": "job_failed", "job": job.id, "kind": job.kind,
                                                        "attempt": job.attempts, "error": job.last_error}})


def work(ctx: Context, worker: str | None = None, limit: int | None = None,
         kinds: Collection[str] | None = None) -> int:
    """Run due jobs (``kinds``: only of these kinds) one after another until none is due (or
    ``limit`` ran); how many ran."""
    worker = worker or worker_name()
    ran = 0
    while limit is None or ran < limit:
        job = claim(ctx, worker, kinds)
        if job is None:
            break
        run(ctx, job, worker)
        ran += 1
    return ran


def prune(ctx: Context) -> int:
    """Delete jobs done longer than KEEP_DONE ago (failed ones stay until retried)."""
    with ctx.db.write() as session:
        old = delete(Job).where(Job.state == DONE, Job.finished_at < ctx.clock.now() - KEEP_DONE)
        result: Any = session.execute(old.execution_options(synchronize_session=False))
        return int(result.rowcount)


# --- Operating -----------------------------------------------------------------------------
def listing(ctx: Context, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest jobs, newest first. :raise Invalid: an unknown state or a limit out of range."""
    if state is not None and state not in STATES:
        raise Invalid(f"ไม่มีสถานะงาน {state}; สถานะที่มี: {', '.join(STATES)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit not in LIST_LIMITS:
        raise Invalid(f"จำนวนที่แสดงต้องอยู่ระหว่าง {LIST_LIMITS.start} ถึง {LIST_LIMITS.stop - 1}")
    with ctx.db.read() as session:
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if state is not None:
            query = query.where(Job.state == state)
        return [as_dict(job) for job in session.scalars(query)]


def as_dict(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "plan_id": job.plan_id, "payload": job.payload, "state": job.state,
            "attempts": job.attempts, "max_attempts": job.max_attempts, "run_after": job.run_after,
            "locked_by": job.locked_by, "last_error": job.last_error, "created_at": job.created_at,
            "finished_at": job.finished_at}


def retry(ctx: Context, job_id: int) -> dict[str, Any]:
    """Queue a failed job again with a fresh count of attempts. :raise NotFound: no such failed job."""
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not 1 <= job_id < 2 ** 63:
        raise NotFound("ไม่พบงานนี้")
    with ctx.db.write() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"ไม่พบงานเลขที่ {job_id}")
        if job.state != FAILED:
            raise Invalid(f"งานเลขที่ {job_id} ไม่ได้ล้มเหลว (สถานะ {job.state}) จึงไม่ต้องสั่งทำใหม่")
        job.state, job.attempts, job.run_after, job.finished_at = QUEUED, 0, ctx.clock.now(), None
        return as_dict(job)
