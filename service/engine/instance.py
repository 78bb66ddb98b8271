"""Instances: one running process, started or restored from its snapshot, completed a task at a
time, its timers fired at the instant the service layer gives, described in plain data (open
tasks, deadlines, timers) so that nothing else needs to know SpiffWorkflow."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from service.engine import sandbox
from service.engine.clock import running_at
from service.engine.model import (
    DEADLINE_BASIS,
    DEADLINE_DOCUMENTS,
    DEADLINE_EXTENSION_FIELD,
    DEADLINE_FACT,
    DEADLINE_KIND,
    DEADLINE_REASON_FIELD,
    SERIALIZER,
    ProcessModel,
    first_line,
)
from service.thai.legaldays import as_date, day_of, end_of_day

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- Sandboxed scripts -----------------------------------------------------------------
class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, box: sandbox.Sandbox):
        super().__init__(dict(box.helpers))
        self.box = box

    def evaluate(self, expression, context, external_context=None):
        return self.box.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script, context, external_context=None):
        self.box.execute(script, context)
        return True


# --- Instances -------------------------------------------------------------------------
class TaskNotOpen(LookupError):
    """The task is not (or no longer) waiting for a person."""


@dataclass(frozen=True, order=True)
class Blocker:
    """A step that stops a migration: where the instance stands on it and what the new version did."""

    bpmn_id: str
    name: str
    state: str  # completed | started | ready | waiting | ...
    change: str  # changed | removed

    def __str__(self) -> str:
        return f"{self.name or self.bpmn_id} ({self.bpmn_id}) is {self.state} and was {self.change}"


class MigrationRefused(ValueError):
    """The instance cannot move to the other version; ``blockers`` says which steps stop it."""

    def __init__(self, blockers: list[Blocker]):
        super().__init__("; ".join(map(str, blockers)))
        self.blockers = blockers


class ScriptFailed(RuntimeError):
    """A script, condition or timer expression of the process failed while running; ``step``: the
    name of the step it failed at, when SpiffWorkflow says."""

    def __init__(self, message: str, step: str | None = None):
        super().__init__(message)
        self.step = step


def _failed(err: Exception) -> ScriptFailed:
    task = getattr(err, "task", None)  # SpiffWorkflow's WorkflowTaskException names the task
    spec = getattr(task, "task_spec", None)
    step = (getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)) if spec is not None else None
    return ScriptFailed(first_line(err), step)


@dataclass
class OpenTask:
    id: str
    spec_name: str
    title: str
    lane: str | None
    properties: dict[str, str]
    documentation: str
    data: dict[str, Any]
    due_at: datetime | None = None


@dataclass
class Deadline:
    """A legal deadline as the recorded facts give it. ``state`` ignores the clock (a limit not yet
    reached is "pending" even once its day has passed and its timer not yet fired): the verdict
    at an instant is service.deadlines.verdict's."""

    key: str
    name: str
    kind: str  # limit | minimum
    basis: str
    due_at: datetime  # the date in force: the timer's own, or the one it was extended to
    state: str  # pending | met | missed
    actual_at: datetime | None = None  # when the step that fulfils it was completed
    extended_to: str | None = None
    original_due_at: datetime | None = None  # the timer's own date, when extended
    extended_in: str | None = None  # the step (BPMN id) that recorded the extension
    fact: str = ""  # the recorded field the deadline is measured against (deadlineFact)
    fact_on: str | None = None  # that field's recorded date
    reason: str | None = None  # why it was missed, as the official confirmed it (deadlineReasonField)
    documents: tuple[str, ...] = ()  # documents that state its verdict (deadlineDocuments)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "kind": self.kind, "basis": self.basis,
            "due_at": self.due_at.isoformat(), "state": self.state,
            "actual_at": self.actual_at.isoformat() if self.actual_at else None,
            "extended_to": self.extended_to,
            "original_due_at": self.original_due_at.isoformat() if self.original_due_at else None,
            "extended_in": self.extended_in,
            "fact": self.fact, "fact_on": self.fact_on, "reason": self.reason, "documents": list(self.documents),
        }


class Instance:
    """One running process instance; every call that changes it takes the instant it runs at."""

    def __init__(self, workflow: BpmnWorkflow, model: ProcessModel, helpers: dict[str, Any]):
        self.workflow = workflow
        self.model = model
        self._timers: list[Any] | None = None  # the timer tasks, walked once per change (see _advance)
        self._completed: list[Any] | None = None  # the completed tasks, likewise (deadlines' facts)
        self._helpers: dict[str, Any] | None = None
        self.use_helpers(helpers)

    @classmethod
    def start(cls, model: ProcessModel, data: dict[str, Any], now: datetime,
              helpers: dict[str, Any]) -> Instance:
        with running_at(now):
            workflow = BpmnWorkflow(*model.specs())
            instance = cls(workflow, model, helpers)
            for task in instance.workflow.get_tasks(state=TaskState.READY):
                task.data.update(copy.deepcopy(data))
            instance._advance()
        return instance

    @classmethod
    def restore(cls, model: ProcessModel, state_json: str, helpers: dict[str, Any] | None = None) -> Instance:
        """``helpers``: the timer functions for a change; an instance only read needs none."""
        return cls(_restore_workflow(json.loads(state_json), *model.specs()), model, helpers or {})

    def use_helpers(self, helpers: dict[str, Any]) -> None:
        """The timer functions for the next change (a replay moves them from event to event)."""
        if helpers is not self._helpers:
            self._helpers = helpers
            self.workflow.script_engine = PythonScriptEngine(environment=_SandboxEnvironment(sandbox.Sandbox(helpers)))

    def dump(self) -> str:
        return json.dumps(self._state(), separators=(",", ":"), ensure_ascii=False)

    def snapshot(self) -> tuple[str, str]:
        """The serialized state and its digest, from one serialization."""
        state = self._state()
        text = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
        return text, _digest(state, text)

    def digest(self) -> str:
        return self.snapshot()[1]

    def _state(self) -> dict[str, Any]:
        state = SERIALIZER.to_dict(self.workflow)
        state.pop("spec")
        state.pop("subprocess_specs")
        return state

    @property
    def completed(self) -> bool:
        return self.workflow.completed

    @property
    def final_data(self) -> dict[str, Any] | None:
        """The process's data once it has completed (None before: branches hold their own)."""
        return dict(self.workflow.data) if self.completed else None

    def open_tasks(self) -> list[OpenTask]:
        tasks = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        # a step keeps the date it is due by while it is open, also once that date has passed
        limits = [(d, attached) for d, attached in self._deadline_tasks() if d.kind == "limit"
                  and d.actual_at is None]
        result = []
        for task in tasks:
            chain = set(self._activity_chain(task))
            due = [d.due_at for d, attached in limits if attached in chain]
            result.append(OpenTask(
                id=str(task.id), spec_name=task.task_spec.bpmn_id, title=task.task_spec.bpmn_name or "",
                lane=task.task_spec.lane, properties=self.model.properties(task.task_spec.bpmn_id),
                documentation=task.task_spec.documentation or "", data=dict(task.data),
                due_at=min(due) if due else None,
            ))
        return result

    def open_task_data(self, task_id: str) -> dict[str, Any] | None:
        """The data of one open task as open_tasks() gives it (None when it is not open), without
        working out every open task's due date."""
        try:
            return dict(self._ready_task(task_id).data)
        except TaskNotOpen:
            return None

    def complete(self, task_id: str, data: dict[str, Any], now: datetime) -> None:
        task = self._ready_task(task_id)
        with running_at(now):
            task.data.update(copy.deepcopy(data))
            try:
                task.run()
            except Exception as err:  # SpiffWorkflow's own errors, and whatever designer code raised
                raise _failed(err) from err
            self._advance()

    def fire_due_timers(self, now: datetime) -> list[str]:
        """Fire every timer due at ``now``; the names of those that fired."""
        waiting = {str(t.id): t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in self._timer_tasks()
                   if t.state == TaskState.WAITING}
        with running_at(now):
            self._advance()
        still = {str(t.id) for t in self._timer_tasks() if t.state == TaskState.WAITING}
        return [name for task_id, name in waiting.items() if task_id not in still]

    def next_timer_at(self) -> datetime | None:
        parsed = [_parse_instant(t._get_internal_data("event_value")) for t in self._timer_tasks()
                  if t.state == TaskState.WAITING]
        instants = [i for i in parsed if i is not None]
        return min(instants) if instants else None

    def waiting_timers(self) -> list[tuple[str, str, datetime | None]]:
        """(bpmn id, name, fire time) of every timer waiting to fire."""
        return [(t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                 _parse_instant(t._get_internal_data("event_value")))
                for t in self._timer_tasks() if t.state == TaskState.WAITING]

    def transitions(self) -> set[tuple[str, str]]:
        """(from, to) bpmn ids of the steps the instance has taken so far, gateway branches included."""
        taken = set()
        for task in self.workflow.get_tasks(state=TaskState.FINISHED_MASK | TaskState.DEFINITE_MASK):
            if task.state != TaskState.COMPLETED or not task.task_spec.bpmn_id:
                continue
            for child in task.children:
                if child.task_spec.bpmn_id and child.state in (TaskState.COMPLETED, TaskState.STARTED,
                                                                TaskState.READY, TaskState.WAITING):
                    taken.add((task.task_spec.bpmn_id, child.task_spec.bpmn_id))
        return taken

    def element_states(self) -> dict[str, str]:
        """bpmn id -> "completed", "started" (a running subprocess), "ready" (open for a person or the
        engine) or "waiting" (a timer) for every element the instance has reached. An element
        passed and reached again (a send-back) shows where it stands now."""
        rank = {TaskState.COMPLETED: "completed", TaskState.STARTED: "started", TaskState.WAITING: "waiting",
                TaskState.READY: "ready"}
        order = list(rank.values())
        states: dict[str, str] = {}
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED | TaskState.STARTED | TaskState.WAITING
                                            | TaskState.READY):
            bpmn_id, state = task.task_spec.bpmn_id, rank[task.state]
            if bpmn_id and order.index(state) >= order.index(states.get(bpmn_id, "completed")):
                states[bpmn_id] = state
        return states

    def migrate(self, model: ProcessModel, now: datetime) -> None:
        """Move the instance to another version of its process. Only changes ahead of where the
        instance stands are allowed: :raise MigrationRefused: listing each step that blocks it."""
        new_spec, new_subprocesses = model.fresh_specs()
        top_diff, subprocess_diffs = diff_workflow(SERIALIZER.registry, self.workflow, new_spec, new_subprocesses)
        blockers = []
        for diff in [top_diff, *subprocess_diffs.values()]:
            if diff is None:
                blockers.append(Blocker("", "", "started", "removed"))
                continue
            for task in diff.removed + diff.changed:
                if not task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
                    blockers.append(Blocker(task.task_spec.bpmn_id or task.task_spec.name,
                                            task.task_spec.bpmn_name or "",
                                            TaskState.get_name(task.state).lower(),
                                            "removed" if task in diff.removed else "changed"))
        if blockers:
            raise MigrationRefused(sorted(set(blockers)))
        with running_at(now):
            self.workflow.subprocess_specs = new_subprocesses
            migrate_workflow(top_diff, self.workflow, new_spec)
            for subprocess_id, subprocess in self.workflow.subprocesses.items():
                migrate_workflow(subprocess_diffs[subprocess_id], subprocess, new_subprocesses[subprocess.spec.name])
            for workflow in [self.workflow, *self.workflow.subprocesses.values()]:
                _repredict_started(workflow)
            stale = [t for t in self.workflow.get_tasks() if t.task_spec.bpmn_id
                     and t.task_spec not in t.workflow.spec.task_specs.values()]
            if stale:
                raise MigrationRefused([Blocker(t.task_spec.bpmn_id, t.task_spec.bpmn_name or "",
                                                TaskState.get_name(t.state).lower(), "removed") for t in stale])
            self.model = model
            self._advance()

    def deadlines(self) -> list[Deadline]:
        latest: dict[str, Deadline] = {}
        for deadline, _ in self._deadline_tasks():
            latest[deadline.key] = deadline
        return sorted(latest.values(), key=lambda d: d.due_at)

    # -- internals ------------------------------------------------------------------------
    def _advance(self) -> None:
        self._timers = self._completed = None  # every change of the task tree ends here
        try:
            self.workflow.do_engine_steps()
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except Exception as err:  # a timer past its bounds, a script's error: the process failed, not us
            raise _failed(err) from err

    def _ready_task(self, task_id: str):
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except Exception as err:
            raise TaskNotOpen(task_id) from err
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotOpen(task_id)
        return task

    def _timer_tasks(self) -> list[Any]:
        """The timer tasks of the whole tree (their states are read live). Saving a change asks for
        them several times (deadlines, due dates, next timer): the tree is walked once."""
        if self._timers is None:
            self._timers = [task for task in self.workflow.get_tasks()
                            if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)]
        return self._timers

    def _activity_chain(self, task) -> Iterator[UUID]:
        """The task and the subprocess tasks it runs inside, innermost first."""
        while task is not None:
            yield task.id
            parent_id = task.workflow.parent_task_id if hasattr(task.workflow, "parent_task_id") else None
            task = self.workflow.get_task_from_id(parent_id) if parent_id else None

    def _deadline_tasks(self) -> Iterator[tuple[Deadline, UUID | None]]:
        for task in self._timer_tasks():
            props = self.model.properties(task.task_spec.bpmn_id)
            kind = props.get(DEADLINE_KIND)
            due_at = _parse_instant(task._get_internal_data("event_value"))
            if kind not in ("limit", "minimum") or due_at is None or (
                    kind == "minimum" and task.state == TaskState.CANCELLED):
                continue
            fact = props.get(DEADLINE_FACT, "")
            fact_on = _as_day(self._recorded(fact)) if fact else None
            reason_field = props.get(DEADLINE_REASON_FIELD)
            attached = _attached_task(task)
            fired = task.state == TaskState.COMPLETED
            actual_at, extended_to, extended_in, original_due_at = None, None, None, None
            if kind == "minimum":
                # met once its timer fired, unless the fact shows the period was cut short
                # (e.g. the notice taken down before the end of its thirtieth day)
                state = "pending"
                if fired:
                    actual_at = due_at
                    state = "missed" if fact_on is not None and fact_on <= day_of(due_at) else "met"
            else:
                actual_at = _finished_at(attached)
                extension = _extension(task, props.get(DEADLINE_EXTENSION_FIELD)) if fired else None
                if extension is not None:
                    extended_to, extended_in = extension
                    original_due_at, due_at = due_at, end_of_day(as_date(extended_to))
                if fact_on is not None:
                    state = "met" if fact_on <= day_of(due_at) else "missed"
                elif actual_at is not None:
                    state = "met" if actual_at <= due_at else "missed"
                else:
                    state = "missed" if fired and extended_to is None else "pending"
            reason = self._recorded(reason_field) if reason_field and state == "missed" else None
            deadline = Deadline(
                key=task.task_spec.bpmn_id, name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                kind=kind, basis=props.get(DEADLINE_BASIS, ""), due_at=due_at, state=state,
                actual_at=actual_at, extended_to=extended_to, extended_in=extended_in, original_due_at=original_due_at,
                fact=fact, fact_on=fact_on.isoformat() if fact_on else None,
                reason=str(reason) if reason else None,
                documents=tuple(k.strip() for k in props.get(DEADLINE_DOCUMENTS, "").split(",") if k.strip()),
            )
            yield deadline, attached.id if attached is not None else None

    def _recorded(self, field_name: str) -> Any:
        """The value a completed step last recorded in a field: the task that changed it (its
        parent held another value), latest first. Branches forked earlier carry older copies of
        the data; only the step that set a value counts."""
        if self._completed is None:  # saving a change reads the deadlines twice, each fact once
            self._completed = self.workflow.get_tasks(state=TaskState.COMPLETED)
        latest, value = -1.0, None
        for task in self._completed:
            if field_name not in task.data:
                continue
            before = task.parent.data.get(field_name) if task.parent is not None else None
            if task.data[field_name] != before and task.last_state_change > latest:
                latest, value = task.last_state_change, task.data[field_name]
        return value


def _repredict_started(workflow) -> None:
    """SpiffWorkflow's migration resets ready and waiting tasks only; the steps predicted under a
    running subprocess still follow the old version, so predict them again from the new one."""
    ahead = TaskState.PREDICTED_MASK | TaskState.FUTURE
    for task in list(workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True)):
        predicted = [child for child in task.children if child.has_state(ahead) and not child.triggered]
        if not predicted:
            continue
        for child in predicted:
            workflow._remove_task(child.id)
        task.task_spec._predict_hook(task)
        task.task_spec._predict(task, mask=ahead)


# An instance of the converter the serializer uses (constructing it re-registers the same class).
_WORKFLOW_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, SERIALIZER.registry)


def _restore_workflow(state: dict[str, Any], spec, subprocess_specs) -> BpmnWorkflow:
    """SpiffWorkflow's BpmnWorkflowConverter.from_dict, with the specs already restored: the
    serializer would rebuild every task spec of the process on each load."""
    converter = _WORKFLOW_CONVERTER
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = converter.mapping_from_dict(state["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(state["root"]))
    converter.set_default_attributes(workflow, state)
    converter.subprocesses_from_dict(state["subprocesses"], workflow)
    workflow.bpmn_events = converter.registry.restore(state.pop("bpmn_events", []))
    return workflow


def _digest(state: dict[str, Any], text: str) -> str:
    """SHA-256 of a serialized state in which task ids (random uuid4) are replaced by their
    position in a walk of the task trees: replaying the same commands at the same instants
    gives the same digest. The rest of the text is already deterministic (insertion order)."""
    numbers: dict[str, str] = {}

    def walk(tree: dict[str, Any]) -> None:
        stack = [tree["root"]]
        while stack:
            task_id = stack.pop()
            numbers.setdefault(task_id, f"#{len(numbers)}")
            stack.extend(reversed(tree["tasks"][task_id]["children"]))
            if task_id in state["subprocesses"]:
                walk(state["subprocesses"][task_id])

    walk(state)
    # _UUID.sub(lambda m: numbers.setdefault(m.group(0), f"#{len(numbers)}"), text), found from
    # the dashes: re tries the pattern at every hex digit of the text, ten times slower.
    pieces: list[str] = []
    done = 0
    for start, end in _uuid_spans(text):
        found = text[start:end]
        pieces += (text[done:start], numbers.setdefault(found, f"#{len(numbers)}"))
        done = end
    pieces.append(text[done:])
    return hashlib.sha256("".join(pieces).encode("utf-8")).hexdigest()


def _uuid_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where _UUID.finditer(text) finds, leftmost first and not overlapping: a match starts 8
    characters before a dash, so only the dashes are tried."""
    start = 0
    while True:
        dash = text.find("-", start + 8)
        if dash < 0:
            return
        match = _UUID.match(text, dash - 8)
        if match is None:
            start = dash - 7
        else:
            yield match.span()
            start = match.end()


def _attached_task(timer_task):
    """The activity a boundary timer watches (None for an intermediate timer)."""
    parent = timer_task.parent
    if parent is None or not parent.task_spec.name.endswith(".BoundaryEventSplit"):
        return None
    name = parent.task_spec.name.removesuffix(".BoundaryEventSplit")
    return next((c for c in parent.children if c.task_spec.name == name), None)


def _as_day(value: Any) -> date | None:
    """A recorded date field as a date (None when empty or not a date: the form checks it)."""
    try:
        return as_date(value) if value else None
    except (TypeError, ValueError):
        return None


def _finished_at(task) -> datetime | None:
    if task is None or task.state != TaskState.COMPLETED:
        return None
    return datetime.fromtimestamp(task.last_state_change, UTC)


def _extension(timer_task, field_name: str | None) -> tuple[str, str] | None:
    """The date a deadline was extended to and the step (its BPMN id: task ids are not kept by a
    replay) that recorded it, if any."""
    if not field_name:
        return None
    found = None
    stack = list(timer_task.children)
    while stack:
        task = stack.pop()
        if task.state == TaskState.COMPLETED and task.data.get(field_name):
            found = (task.data[field_name], task.task_spec.bpmn_id)
        stack.extend(task.children)
    return found


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None
    return datetime.fromtimestamp(instant.timestamp(), UTC)
