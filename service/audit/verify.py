"""Verifying a plan's history: the hash chain, a step-by-step replay at the recorded instants, and
the current snapshot and read models against what the last event left.

In place and offline (audit/bundle.py) run the same checks on the same record (``PlanRecord``), so
a bundle that verifies offline says exactly what ``verify`` said in the system. In place a run may
start from the plan's verified checkpoint (audit/checkpoints.py): the chain is still hashed from the
first event, but only the events after the checkpoint are replayed. ``verify_all`` uses every core,
and from checkpoints it takes up only the plans that changed since theirs (``_unchanged``): a run
costs what is new, not what was already verified; ``full`` verifies everything again.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import multiprocessing
import multiprocessing.util
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, aliased

from service import engine, eventlog
from service.audit import checkpoints
from service.audit.checkpoints import Checkpoint
from service.auth import Actor
from service.bundles.catalog import Bundle, Published
from service.context import Context, kept_holidays
from service.errors import NotFound, ServiceError
from service.eventlog import CLAIM_KINDS, GENESIS, UNCHANGED_STATE_KINDS, VERSION_MIGRATED, event_hash
from service.models import Event, OpenTask, Plan, ProcessVersion, VerifyCheckpoint
from service.thai import legaldays


# --- What verification reports ---------------------------------------------------------
@dataclass(frozen=True)
class Divergence:
    """The first point where the record stops agreeing with itself.

    ``reason`` is a stable code (tests and programs match it); ``detail`` says it in a sentence.
    ``seq`` is None for what belongs to no single event (the snapshot, the bundle, the process).
    """

    seq: int | None
    kind: str | None
    reason: str
    expected: Any
    found: Any
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "expected": self.expected, "found": self.found,
                "reason": self.reason, "detail": self.detail}


@dataclass
class Verification:
    plan_id: int | None
    events: int
    head: str | None  # the last event's hash: compare it with the system's to anchor a bundle
    first_divergence: Divergence | None
    #: how many events this run replayed (the rest were only hashed, up to a checkpoint): how the
    #: run went, not part of the result
    replayed: int = 0
    #: nothing changed since the plan's checkpoint, so this run did not read its history again (how
    #: the run went, not part of the result)
    unchanged: bool = False

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "plan_id": self.plan_id, "events": self.events, "head": self.head,
                "first_divergence": self.first_divergence.as_dict() if self.first_divergence else None}


class DatabaseDamaged(ServiceError):
    """The database is damaged beyond reading even which plans it holds."""

    status = 503


class Diverged(Exception):
    """Replay stopped: ``divergence`` says at which event and why."""

    def __init__(self, divergence: Divergence):
        super().__init__(divergence.detail)
        self.divergence = divergence


# --- The record verified: from the database or from a bundle ----------------------------
@dataclass
class PlanRecord:
    plan_id: int
    organization: dict[str, str]
    fiscal_year: int
    status: str
    process: dict[str, Any]  # name, version, process_id, title, digest, bpmn_files, forms, lane_roles, meta
    events: list[Event]
    state_json: str
    deadlines: list[dict[str, Any]]
    claims: dict[str, str | None]  # open task id -> who holds it (the inbox read model)
    process_version_id: int | None = None
    holidays: list[legaldays.KeptHoliday] = field(default_factory=list)  # as kept over time
    #: the versions a migrated plan ran on before its current one: version id -> process_id, bpmn_files
    earlier_versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the log head the plan row keeps (last sequence number, last hash); None in an exported bundle
    head: tuple[int, str] | None = None

    @functools.cached_property
    def calendar(self) -> legaldays.Calendar:
        return legaldays.Calendar(self.holidays)

    def process_bundle(self) -> Bundle:
        p = self.process
        return Bundle(p["name"], p["bpmn_files"], p["forms"], p["lane_roles"], p["meta"])


def load_record(session: Session, plan_id: int, actor: Actor | None = None) -> PlanRecord:
    """The plan's record as stored; ``actor`` None is the operator at the console. :raise NotFound:"""
    plan = session.get(Plan, plan_id)
    if plan is None or (actor is not None and not actor.can_see(plan.organization_id)):
        raise NotFound("ไม่พบแผนนี้")
    version = plan.process_version
    events = list(session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq, Event.id)))
    claims = dict(session.execute(select(OpenTask.id, OpenTask.claimed_by).where(OpenTask.plan_id == plan_id)).all())
    return PlanRecord(
        plan_id=plan.id,
        organization={"code": plan.organization.code, "name": plan.organization.name,
                      "province": plan.organization.province},
        fiscal_year=plan.fiscal_year, status=plan.status,
        process={"name": version.name, "version": version.version, "process_id": version.process_id,
                 "title": version.title, "digest": version.digest, "bpmn_files": version.bpmn_files,
                 "forms": version.forms, "lane_roles": version.lane_roles, "meta": version.meta},
        events=events, state_json=plan.state_json, deadlines=list(plan.deadlines or []), claims=claims,
        process_version_id=plan.process_version_id, holidays=kept_holidays(session),
        earlier_versions=_earlier_versions(session, events), head=(plan.event_seq, plan.event_hash),
    )


def _earlier_versions(session: Session, events: list[Event]) -> dict[str, dict[str, Any]]:
    ids = [(e.data or {}).get("from_version_id") for e in events if e.kind == VERSION_MIGRATED]
    versions = session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_([i for i in ids if i])))
    return {str(v.id): {"process_id": v.process_id, "version": v.version, "bpmn_files": v.bpmn_files}
            for v in versions}


# --- Verification ------------------------------------------------------------------------
#: checkpoints written per transaction by ``verify_all``
CHECKPOINT_BATCH = 200


def verify_plan(ctx: Context, plan_id: int, actor: Actor | None = None, *, checkpoint: bool = False,
                full: bool = False) -> Verification:
    """Verify one plan in place; a plan whose record cannot be read or parsed fails verification
    ("unreadable"), it does not raise. With ``checkpoint``, start from the plan's verified checkpoint
    (unless ``full``) and keep a new one when the plan verifies clean. :raise NotFound: (and a
    database that cannot be reached, or whose plan row an actor's scope cannot be checked on,
    raises as it is)."""
    if actor is not None:
        with ctx.db.read() as session:  # scope first: an unreadable record is reported only to who may see it
            organization_id = session.scalar(select(Plan.organization_id).where(Plan.id == plan_id))
        if organization_id is None or not actor.can_see(organization_id):
            raise NotFound("ไม่พบแผนนี้")
    result, kept = _verified(ctx, plan_id, False, checkpoint, full)
    if kept is not None:
        checkpoints.keep(ctx, [(plan_id, kept)])
    return result


def verify_all(ctx: Context, *, checkpoint: bool = False, full: bool = False, workers: int = 1,
               progress: Callable[[int, int], None] | None = None) -> Iterator[Verification]:
    """Verify every plan, one read transaction each, in plan order; a damaged plan is a failed
    verification with its reason, and the next plan is verified all the same. ``workers`` > 1
    verifies in that many processes; ``checkpoint`` and ``full`` as for ``verify_plan``;
    ``progress(done, total)`` after each plan. :raise DatabaseDamaged: not even the list of plans
    can be read (neither from the plans table nor from the events)."""
    plan_ids = _plan_ids(ctx)
    unchanged = _unchanged(ctx) if checkpoint and not full else {}
    changed = [plan_id for plan_id in plan_ids if plan_id not in unchanged]
    verified = _results(ctx, changed, checkpoint, full, workers)
    kept: list[tuple[int, Checkpoint]] = []
    try:
        for done, plan_id in enumerate(plan_ids, 1):
            if plan_id in unchanged:
                seq, head = unchanged[plan_id]
                result, new = Verification(plan_id, seq, head, None, unchanged=True), None
            else:
                result, new = next(verified)
            if new is not None:
                kept.append((plan_id, new))
            if len(kept) >= CHECKPOINT_BATCH:
                checkpoints.keep(ctx, kept)
                kept = []
            yield result
            if progress is not None:  # after the caller took the result: it counts it too
                progress(done, len(plan_ids))
    finally:
        checkpoints.keep(ctx, kept)


def _results(ctx: Context, plan_ids: list[int], checkpoint: bool, full: bool,
             workers: int) -> Iterator[tuple[Verification, Checkpoint | None]]:
    """Each plan verified, in the order given: here, or in a pool of processes that only read (the
    checkpoints come back to be written here, in batches, by one writer)."""
    workers = min(workers, len(plan_ids))
    if workers <= 1:
        for plan_id in plan_ids:
            yield _verified(ctx, plan_id, True, checkpoint, full)
        return
    # forkserver: workers start from a clean process with the engine imported, not from a copy of
    # this one with its open database connections (and threads, under a test runner or a server)
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(["service.audit.verify"])
    chunk = max(1, min(16, len(plan_ids) // (workers * 8)))
    with ProcessPoolExecutor(workers, mp_context=processes, initializer=_start_worker,
                             initargs=(ctx.settings,)) as pool:
        yield from pool.map(_verify_in_worker, plan_ids, itertools.repeat(checkpoint), itertools.repeat(full),
                            chunksize=chunk)


_worker_context: Context | None = None


def _start_worker(settings: Any) -> None:
    global _worker_context
    _worker_context = Context.create(settings)
    # pool workers leave by os._exit: close the connections through multiprocessing's own exit hooks
    multiprocessing.util.Finalize(None, _worker_context.db.dispose, exitpriority=10)


def _verify_in_worker(plan_id: int, checkpoint: bool, full: bool) -> tuple[Verification, Checkpoint | None]:
    assert _worker_context is not None  # set by _start_worker in each pool process
    return _verified(_worker_context, plan_id, True, checkpoint, full)


def _unchanged(ctx: Context) -> dict[int, tuple[int, str]]:
    """The plans nothing was appended to since their checkpoint: plan id -> (events, head hash).
    The plan row's head and state digest are still the checkpoint's, its events still number as
    many and the one at the checkpoint still holds its hash, the code that verified it is this one,
    no migration took it across versions, and its process files still digest as published. What the
    checkpoint covers was verified then and is not read again (a rewrite of the history behind the
    service that leaves all this in place is found by a ``full`` run; one that chains again moves
    the head and is found here). Nothing of an unreadable database: every plan is then verified."""
    at_checkpoint = aliased(Event)
    counted = select(Event.plan_id, func.count().label("events")).group_by(Event.plan_id).subquery()
    migrated = select(Event.plan_id).where(Event.kind == VERSION_MIGRATED)
    query = (select(Plan.id, VerifyCheckpoint.seq, VerifyCheckpoint.event_hash, Plan.process_version_id)
             .join(VerifyCheckpoint, VerifyCheckpoint.plan_id == Plan.id)
             .join(at_checkpoint, and_(at_checkpoint.plan_id == Plan.id, at_checkpoint.seq == VerifyCheckpoint.seq))
             .join(counted, counted.c.plan_id == Plan.id)
             .where(Plan.event_seq == VerifyCheckpoint.seq, Plan.event_hash == VerifyCheckpoint.event_hash,
                    Plan.state_digest == VerifyCheckpoint.state_digest,
                    at_checkpoint.hash == VerifyCheckpoint.event_hash,
                    at_checkpoint.state_digest == VerifyCheckpoint.state_digest,
                    counted.c.events == VerifyCheckpoint.seq,
                    VerifyCheckpoint.verified_by == checkpoints.verified_by(), Plan.id.not_in(migrated)))
    try:
        with ctx.db.read() as session:
            rows = session.execute(query).all()
            versions = session.scalars(select(ProcessVersion).where(
                ProcessVersion.id.in_({row.process_version_id for row in rows})))
            intact = {v.id for v in versions
                      if Bundle(v.name, v.bpmn_files, v.forms, v.lane_roles, v.meta).digest() == v.digest}
    except DBAPIError:
        return {}
    return {row.id: (row.seq, row.event_hash) for row in rows if row.process_version_id in intact}


def _plan_ids(ctx: Context) -> list[int]:
    """Every plan the database knows of: the plans table's ids and those the events name (a plan
    whose row is lost still has a history to report). Each source on its own: a damaged one does
    not hide the other."""
    found: set[int] = set()
    failures: list[Exception] = []
    for query in (select(Plan.id), select(Event.plan_id).distinct()):
        try:
            with ctx.db.read() as session:
                found.update(session.scalars(query))
        except OperationalError as err:
            if not _damage(err):
                raise  # not reached: the CLI says so
            failures.append(err)
        except DBAPIError as err:
            failures.append(err)
    if len(failures) == 2:
        raise DatabaseDamaged(f"ฐานข้อมูลเสียหาย อ่านรายการแผนไม่ได้ ({_first_line(failures[0])}) "
                              "กรุณากู้คืนจากสำเนาสำรอง") from failures[0]
    return sorted(found)


def _verified(ctx: Context, plan_id: int, listed: bool, checkpoint: bool = False,
              full: bool = False) -> tuple[Verification, Checkpoint | None]:
    """One plan verified, and the checkpoint to keep for it (None: none asked, the plan failed, or
    the one kept is still its head). Whatever stops its record from being read or parsed (a
    damaged page, a value its column type cannot decode, a stored process that no longer parses)
    is the plan's failure, not the caller's exception. A database that cannot be reached still
    raises, and so does NotFound unless the plan was ``listed`` (by its events: its row is gone)."""
    try:
        with ctx.db.read() as session:
            record = load_record(session, plan_id)
            model = _published(ctx, session, record).model
            kept = checkpoints.load(session, plan_id) if checkpoint and not full else None
            try:
                result = verify_record(record, model, kept)  # in the session: the events load as they are read
            except Exception as err:  # a record so damaged that the checks themselves stumble on it
                if isinstance(err, OperationalError) and not _damage(err):
                    raise
                return _unreadable(plan_id, "unreadable", f"the plan's record cannot be checked: {_first_line(err)}",
                                   len(record.events)), None
            return result, _next_checkpoint(record, kept) if checkpoint and result.ok else None
    except NotFound:
        if not listed:
            raise
        return _unreadable(plan_id, "missing", "the plan's row is missing, though its events remain"), None
    except OperationalError as err:
        if not _damage(err):
            raise
        return _unreadable(plan_id, "unreadable", f"the plan's record cannot be read: {_first_line(err)}"), None
    except Exception as err:  # any failure to read one plan is that plan's, reported with its cause
        return _unreadable(plan_id, "unreadable",
                           f"the plan's record cannot be read or parsed: {_first_line(err)}"), None


def _next_checkpoint(record: PlanRecord, kept: Checkpoint | None) -> Checkpoint | None:
    """The checkpoint a clean record leaves: its last event (None when the one kept is that already)."""
    last = record.events[-1]
    basis = replay_basis(record, last.seq)
    if kept is not None and (kept.seq, kept.event_hash, kept.basis) == (last.seq, last.hash, basis):
        return None
    return Checkpoint(last.seq, last.hash, last.state_digest, record.state_json, basis)


def replay_basis(record: PlanRecord, seq: int) -> str:
    """SHA-256 of what replaying the events up to ``seq`` rests on besides the events themselves:
    the process files (their digest is checked against them), the earlier versions of a migrated
    plan, and the holidays as they counted up to that event's instant. A checkpoint made on another
    basis is not used: only a full replay says what the change does to the history."""
    until = record.events[seq - 1].at
    holidays = sorted((h.day.isoformat(), h.effective_at.isoformat(),
                       h.ended_at.isoformat() if h.ended_at is not None and h.ended_at <= until else None)
                      for h in record.holidays if h.effective_at <= until)
    basis = [record.process["digest"], record.earlier_versions, holidays]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _unreadable(plan_id: int, reason: str, detail: str, events: int = 0) -> Verification:
    return Verification(plan_id, events, None, Divergence(None, None, reason, None, None, detail))


def _damage(err: OperationalError) -> bool:
    """SQLite reports some damage as an operational error (a truncated file: "disk I/O error")."""
    text = str(err.orig or err).lower()
    return any(word in text for word in ("malformed", "disk i/o", "not a database", "corrupt"))


def _first_line(err: BaseException) -> str:
    cause = getattr(err, "orig", None) or err
    return f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"[:300]


def _published(ctx: Context, session: Session, record: PlanRecord) -> Published:
    assert record.process_version_id is not None  # a record loaded in place names its version
    return ctx.models.published(session, record.process_version_id)


def verify_record(record: PlanRecord, model: engine.ProcessModel,
                  checkpoint: Checkpoint | None = None) -> Verification:
    """The chain, the replay and the snapshot of one record; stops at the first divergence.

    From a ``checkpoint`` the whole chain is still hashed, but only the events after it are
    replayed, from the state it keeps. It is used only if it agrees with the chain (its hash is the
    event's at its place, its state digests to that event's) and was made on the same basis
    (``replay_basis``). One that disagrees is not trusted: everything is replayed, and if that finds
    nothing, the disagreement itself is the divergence (``checkpoint_mismatch``): the history once
    verified up to there is no longer the one stored, or the checkpoint was edited."""
    events = record.events
    head = events[-1].hash if events else None
    if checkpoint is not None and checkpoint.seq <= len(events) and checkpoint.basis != replay_basis(
            record, checkpoint.seq):
        checkpoint = None  # the process or the holidays changed under it: replay everything again
    tally = _Tally()
    untrusted: Divergence | None = None
    try:
        _check_process(record)
        try:
            instance = _check_events(record, model, checkpoint, tally)
        except _Untrusted as refused:
            untrusted, checkpoint, tally = refused.divergence, None, _Tally()
            instance = _check_events(record, model, None, tally)
        _check_current(record, instance, _claims(events), checkpoint)
    except Diverged as diverged:
        return Verification(record.plan_id, len(events), head, diverged.divergence, tally.replayed)
    return Verification(record.plan_id, len(events), head, untrusted, tally.replayed)


@dataclass
class _Tally:
    replayed: int = 0


class _Untrusted(Exception):
    """The checkpoint disagrees with the chain: ``divergence`` says how."""

    def __init__(self, divergence: Divergence):
        super().__init__(divergence.detail)
        self.divergence = divergence


def _check_process(record: PlanRecord) -> None:
    found = record.process_bundle().digest()
    if found != record.process["digest"]:
        raise Diverged(Divergence(None, None, "process_altered", record.process["digest"], found,
                                   "the process files the plan ran on differ from the published version's digest"))


def _check_events(record: PlanRecord, model: engine.ProcessModel, checkpoint: Checkpoint | None = None,
                  tally: _Tally | None = None) -> engine.Instance:
    if not record.events:
        raise Diverged(Divergence(1, None, "missing_event", eventlog.PLAN_STARTED, None,
                                  "the plan has no events at all"))
    instance: engine.Instance | None = None
    for _, instance in replay_steps(record, model, checkpoint, tally):  # noqa: B007 - the last one is the plan now
        pass
    assert instance is not None  # there was an event, and replay_steps raised unless it started the plan
    return instance


def _claims(events: list[Event]) -> dict[str, str | None]:
    """Who holds each task, as the claim events leave it."""
    return {e.task_id: (e.data or {}).get("to") for e in events if e.kind in CLAIM_KINDS and e.task_id}


def replay_steps(record: PlanRecord, model: engine.ProcessModel, checkpoint: Checkpoint | None = None,
                 tally: _Tally | None = None) -> Iterator[tuple[Event, engine.Instance]]:
    """Each event with the instance replayed up to it, chain and state digest checked on the way;
    each event counts legal days over the holidays that counted at its instant.
    The same instance is yielded each time, changed in place: read it before taking the next.
    From a ``checkpoint`` the events before it are only chain-checked, not yielded; its own event
    comes with the state the checkpoint keeps, and replay goes on from there.
    :raise Diverged: at the first event that does not check. :raise _Untrusted: the checkpoint
    does not agree with the chain."""
    events = record.events
    start = checkpoint.seq if checkpoint is not None else 0
    if checkpoint is not None and not 1 <= checkpoint.seq <= len(events):
        raise _Untrusted(Divergence(checkpoint.seq, "checkpoint", "checkpoint_mismatch", checkpoint.event_hash, None,
                                    f"the history was verified up to event {checkpoint.seq}, which is no longer "
                                    "stored: events were deleted and the plan set back, or the checkpoint edited"))
    position_of = {e.hash: i for i, e in enumerate(events)}
    instance: engine.Instance | None = None
    digest = ""
    previous: Event | None = None
    current = model
    migrations = [e for e in events if e.kind == VERSION_MIGRATED]
    if migrations:  # a migrated plan started on the version its first migration left
        model = _version_model(record, (migrations[0].data or {}).get("from_version_id"), current)
    for position, event in enumerate(events):
        _check_link(record.plan_id, position, event, previous, events, position_of)
        if event.kind == VERSION_MIGRATED:
            model = _version_model(record, (event.data or {}).get("to_version_id"), current)
        previous = event
        if event.seq < start:
            continue  # verified when the checkpoint was made, and its hash is unchanged: the chain says so
        if event.seq == start:
            assert checkpoint is not None  # start is 0 without one
            instance, digest = _restored(checkpoint, event, model), event.state_digest
        else:
            if tally is not None:
                tally.replayed += 1  # the event that fails to replay counts too
            instance, digest = _replay(event, instance, digest, model, record.calendar.helpers_at(event.at),
                                       record.process["lane_roles"])
        yield event, instance


def _restored(checkpoint: Checkpoint, event: Event, model: engine.ProcessModel) -> engine.Instance:
    """The instance as the checkpoint keeps it, if the checkpoint is the chain's. :raise _Untrusted:"""
    def untrusted(expected: Any, found: Any, detail: str) -> _Untrusted:
        return _Untrusted(Divergence(event.seq, "checkpoint", "checkpoint_mismatch", expected, found, detail))

    if event.hash != checkpoint.event_hash:
        raise untrusted(checkpoint.event_hash, event.hash,
                        f"event {event.seq} is not the one verified earlier: the events up to it were rewritten "
                        "and chained again, or the checkpoint was edited")
    if event.state_digest != checkpoint.state_digest:
        raise untrusted(event.state_digest, checkpoint.state_digest,
                        f"the checkpoint at event {event.seq} records another state than the event does: it was edited")
    try:
        instance = engine.Instance.restore(model, checkpoint.state_json)
        found: str | None = instance.digest()
    except Exception:  # a kept state edited into something the serializer cannot read
        found = None
    if found != event.state_digest:
        raise untrusted(event.state_digest, found,
                        f"the state kept at the checkpoint of event {event.seq} is not the state the event records: "
                        "the checkpoint was edited")
    return instance


@dataclass
class Replayed:
    """A plan replayed up to a step, for showing where it stood."""

    record: PlanRecord
    version: Published
    step: int  # the step the instance stands at: fewer than asked when the record diverges before
    instance: engine.Instance | None  # None when not even the first event replays
    divergence: Divergence | None  # why replay stopped short of the step asked for


def replay_to(ctx: Context, plan_id: int, step: int, actor: Actor | None = None) -> Replayed:
    """The plan after its first ``step`` events (1 = just started), replayed from its pinned
    process version; when the record diverges before, the plan as it stood at the last event
    that checked, and why. :raise NotFound: no such plan for the actor, or no such step."""
    with ctx.db.read() as session:
        record = load_record(session, plan_id, actor)
        version = _published(ctx, session, record)
        session.expunge_all()  # the events outlive the session (its rollback would expire them)
    if not 1 <= step <= len(record.events):
        raise NotFound(f"แผนนี้มีเหตุการณ์ {len(record.events)} ลำดับ ไม่มีลำดับที่ {step}")
    try:
        return Replayed(record, version, step, _instance_after(record, version.model, step), None)
    except Diverged as diverged:
        # the instance was changed by the event that failed: replay again to the one before it
        reached = (diverged.divergence.seq or 1) - 1
        instance = _instance_after(record, version.model, reached) if reached else None
        return Replayed(record, version, reached, instance, diverged.divergence)


def _instance_after(record: PlanRecord, model: engine.ProcessModel, step: int) -> engine.Instance:
    for event, instance in replay_steps(record, model):
        if event.seq == step:
            return instance
    raise AssertionError("unreachable: replay_steps checks that the events are numbered 1, 2, 3 …")


def _version_model(record: PlanRecord, version_id: Any, current: engine.ProcessModel) -> engine.ProcessModel:
    """The model of a version the plan ran on: the current one, or an earlier one kept in the record."""
    if version_id is None or version_id == record.process_version_id:
        return current
    earlier = record.earlier_versions.get(str(version_id))
    if earlier is None:
        raise Diverged(Divergence(None, VERSION_MIGRATED, "process_missing", version_id, None,
                                  f"the record lacks version id {version_id}, which the plan ran on before a "
                                  "migration"))
    return _parsed(earlier["process_id"], json.dumps(earlier["bpmn_files"], sort_keys=True))


@functools.lru_cache(maxsize=64)
def _parsed(process_id: str, bpmn_files_json: str) -> engine.ProcessModel:
    files = json.loads(bpmn_files_json)
    return engine.parse_texts(files, process_id)


def _check_link(plan_id: int, position: int, event: Event, previous: Event | None, events: list[Event],
                position_of: dict[str, int]) -> None:
    expected_seq = position + 1

    def diverged(reason: str, expected: Any, found: Any, detail: str) -> Diverged:
        return Diverged(Divergence(expected_seq, event.kind, reason, expected, found, detail))

    if event.seq != expected_seq:
        if event.seq > expected_seq:
            missing = f"{expected_seq}" if event.seq == expected_seq + 1 else f"{expected_seq}–{event.seq - 1}"
            raise diverged("missing_event", expected_seq, event.seq, f"event {missing} is missing (deleted)")
        raise diverged("sequence_broken", expected_seq, event.seq, f"event {event.seq} appears twice or out of place")
    if event.plan_id != plan_id:
        raise diverged("wrong_plan", plan_id, event.plan_id, f"event {event.seq} belongs to plan {event.plan_id}")
    expected_prev = previous.hash if previous is not None else GENESIS
    if event.prev_hash != expected_prev:
        origin = position_of.get(event.prev_hash)
        if origin is not None and origin != position - 1:
            raise diverged("reordered", expected_prev, event.prev_hash,
                           f"event {event.seq} was recorded right after the event now numbered {origin + 1}: "
                           "the events were reordered")
        raise diverged("broken_link", expected_prev, event.prev_hash,
                       f"event {event.seq} does not follow event {event.seq - 1} in the chain "
                       "(an event before it was removed, inserted or rewritten)")
    found = event_hash(event)
    if found != event.hash:
        raise diverged("event_altered", event.hash, found,
                       f"event {event.seq} was changed after it was recorded: its content no longer matches its hash")
    if previous is not None and event.at < previous.at:
        raise diverged("time_order", f">= {previous.at.isoformat()}", event.at.isoformat(),
                       f"event {event.seq} is dated before event {previous.seq}")


def _replay(event: Event, instance: engine.Instance | None, digest: str, model: engine.ProcessModel,
            helpers: dict[str, Any], lane_roles: dict[str, str]) -> tuple[engine.Instance, str]:
    """Apply one event to the replayed instance at its recorded instant; the new state's digest."""

    def diverged(reason: str, expected: Any, found: Any, detail: str) -> Diverged:
        return Diverged(Divergence(event.seq, event.kind, reason, expected, found, detail))

    if instance is not None:
        instance.use_helpers(helpers)  # the holidays that counted at this event's instant
    if event.kind == eventlog.PLAN_STARTED:
        if instance is not None:
            raise diverged("unexpected_event", None, event.kind, f"event {event.seq} starts the plan a second time")
        try:
            instance = engine.Instance.start(model, event.data or {}, event.at, helpers)
        except engine.ScriptFailed as err:
            raise diverged("replay_failed", event.state_digest, None, f"starting the plan again fails: {err}") from err
    elif instance is None:
        raise diverged("unexpected_event", eventlog.PLAN_STARTED, event.kind,
                       f"event {event.seq} comes before the plan was started")
    elif event.kind == eventlog.TASK_COMPLETED:
        ready = [t for t in instance.open_tasks() if t.spec_name == event.task]
        if not ready:
            open_names = sorted(t.spec_name for t in instance.open_tasks())
            raise diverged("replay_failed", event.task, open_names,
                           f"event {event.seq} completes task {event.task}, which was not open at that point")
        role = lane_roles.get(ready[0].lane or "")
        if role != event.role:
            raise diverged("role_mismatch", role, event.role,
                           f"event {event.seq} was done in role {event.role}, but task {event.task} belongs to {role}")
        try:
            instance.complete(ready[0].id, event.data or {}, event.at)
        except (engine.ScriptFailed, engine.TaskNotOpen) as err:
            raise diverged("replay_failed", event.state_digest, None,
                           f"completing task {event.task} again fails: {err}") from err
    elif event.kind == eventlog.TIMER_FIRED:
        instance.fire_due_timers(event.at)
    elif event.kind == VERSION_MIGRATED:
        try:
            instance.migrate(model, event.at)
        except (engine.MigrationRefused, engine.ScriptFailed) as err:
            raise diverged("replay_failed", event.state_digest, None,
                           f"migrating to version {(event.data or {}).get('to_version')} again fails: {err}") from err
    elif event.kind in UNCHANGED_STATE_KINDS:
        if event.state_digest != digest:
            raise diverged("state_mismatch", digest, event.state_digest,
                           f"event {event.seq} ({event.kind}) records a state change, which such an event cannot make")
        return instance, digest
    else:
        raise diverged("unknown_kind", None, event.kind, f"event {event.seq} is of a kind replay does not know")
    found = instance.digest()
    if found != event.state_digest:
        raise diverged("state_mismatch", event.state_digest, found,
                       f"replaying event {event.seq} does not give the state it records "
                       "(its data, time or task, or an earlier event, differs from what happened)")
    return instance, found


def _check_current(record: PlanRecord, instance: engine.Instance, claims: dict[str, str | None],
                   checkpoint: Checkpoint | None = None) -> None:
    """The plan row and its read models must be what the last event left (a stored state that is
    the trusted ``checkpoint``'s text digests as the checkpoint's did: it is not restored again)."""
    last = record.events[-1]

    def diverged(reason: str, expected: Any, found: Any, detail: str) -> Diverged:
        return Diverged(Divergence(None, "snapshot", reason, expected, found, detail))

    try:
        if checkpoint is not None and checkpoint.state_json == record.state_json:
            current = checkpoint.state_digest
        else:
            current = engine.Instance.restore(instance.model, record.state_json).digest()
    except Exception as err:  # a snapshot edited into something the serializer cannot read
        raise diverged("snapshot_mismatch", last.state_digest, None,
                       f"the plan's stored state cannot be read: {type(err).__name__}") from err
    if current != last.state_digest:
        raise diverged("snapshot_mismatch", last.state_digest, current,
                       f"the plan's stored state is not the state its last event ({last.seq}) records: "
                       "the state was edited behind the log, or later events were deleted")
    replayed_deadlines = [d.as_dict() for d in instance.deadlines()]
    if record.deadlines != replayed_deadlines:
        raise diverged("deadlines_mismatch", replayed_deadlines, record.deadlines,
                       "the plan's deadlines differ from those its history gives")
    status = "completed" if instance.completed else "running"
    if record.status != status:
        raise diverged("status_mismatch", status, record.status, f"the plan is marked {record.status}, "
                       f"its history says {status}")
    held = {task_id: claims.get(task_id) for task_id in record.claims}
    if held != record.claims:
        raise diverged("claims_mismatch", held, record.claims,
                       "who holds the open tasks differs from the claims in the log (a claim event was deleted "
                       "or the inbox edited)")
    if record.head is not None and record.head != (last.seq, last.hash):
        raise diverged("head_mismatch", [last.seq, last.hash], list(record.head),
                       "the log head kept on the plan row is not the last event: events were deleted from the "
                       "end of the log, or added behind the service")
