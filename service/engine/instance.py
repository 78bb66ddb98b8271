"""The engine adapter: the only module that imports SpiffWorkflow.

It turns BPMN files into process models (parsed safely, scripts checked by the sandbox),
starts and restores instances, completes tasks, fires timers at the instant the service
layer gives it, and describes an instance in plain data (open tasks, deadlines, timers)
so that nothing else needs to know SpiffWorkflow.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import SpiffWorkflow.task as _spiff_task_module
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from service.engine import safexml, sandbox
from service.thai.legaldays import as_date, end_of_day

# --- One clock -------------------------------------------------------------------------
# SpiffWorkflow asks datetime.now(timezone.utc) when it checks a timer and time.time() when a
# task changes state. Both are routed to the instant of the command being applied, so timers
# obey the application clock and a replay at the recorded instants reproduces the same tree.
_engine_now: ContextVar[datetime | None] = ContextVar("engine_now", default=None)


def _current_instant() -> datetime:
    return _engine_now.get() or datetime.now(timezone.utc)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        at = _current_instant()
        return at.astimezone(tz) if tz else at.astimezone(timezone.utc).replace(tzinfo=None)


class _EngineTime:
    @staticmethod
    def time() -> float:
        return _current_instant().timestamp()


_spiff_timer_module.datetime = _EngineDatetime
_spiff_task_module.time = _EngineTime()


@contextlib.contextmanager
def running_at(now: datetime) -> Iterator[None]:
    if now.tzinfo is None:
        raise ValueError("engine instants must be timezone-aware")
    token = _engine_now.set(now)
    try:
        yield
    finally:
        _engine_now.reset(token)


# --- Process models --------------------------------------------------------------------
#: Conventions a process designer uses in the BPMN (SpiffArena's property element).
FORM_PROPERTY = "formJsonSchemaFilename"
DEADLINE_KIND = "deadlineKind"  # "limit": act before it fires; "minimum": wait until it fires
DEADLINE_BASIS = "deadlineBasis"
DEADLINE_EXTENSION_FIELD = "deadlineExtensionField"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CODE_ELEMENTS = {  # element -> how its text runs in the sandbox
    f"{{{_BPMN_NS}}}conditionExpression": "eval",
    f"{{{_BPMN_NS}}}timeDate": "eval",
    f"{{{_BPMN_NS}}}timeDuration": "eval",
    f"{{{_BPMN_NS}}}timeCycle": "eval",
    f"{{{_BPMN_NS}}}script": "exec",
    f"{{{_SPIFF_NS}}}preScript": "exec",
    f"{{{_SPIFF_NS}}}postScript": "exec",
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class InvalidProcess(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ProcessModel:
    """An executable process: its id, and the spec stored once per process version."""

    process_id: str
    spec_json: str
    #: bpmn id -> {name, lane, manual, properties, documentation}, read at parse time because
    #: the serializer does not restore every element's extensions
    elements: dict[str, dict[str, Any]]
    _restored: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def spec_dict(self) -> dict[str, Any]:
        if "spec" not in self._restored:
            self._restored["spec"] = json.loads(self.spec_json)
        return self._restored["spec"]

    def specs(self) -> tuple[Any, dict[str, Any]]:
        """The restored process spec and subprocess specs, built once and shared by every
        instance of this model (SpiffWorkflow treats specs as read-only)."""
        if "objects" not in self._restored:
            self._restored["objects"] = self.fresh_specs()
        return self._restored["objects"]

    def fresh_specs(self) -> tuple[Any, dict[str, Any]]:
        """New spec objects (the serializer consumes the dictionaries it restores: give it copies)."""
        specs = copy.deepcopy(self.spec_dict)
        return (_SERIALIZER.from_dict(specs["spec"]),
                {name: _SERIALIZER.from_dict(sub) for name, sub in specs["subprocess_specs"].items()})

    @property
    def lanes(self) -> list[str]:
        return list(dict.fromkeys(e["lane"] for e in self.elements.values() if e["lane"]))

    @property
    def user_tasks(self) -> dict[str, dict[str, Any]]:
        return {key: e for key, e in self.elements.items() if e["manual"]}

    def properties(self, bpmn_id: str) -> dict[str, str]:
        element = self.elements.get(bpmn_id)
        return element["properties"] if element else {}


def _lint_code(tree: etree._ElementTree, filename: str) -> list[Problem]:
    problems = []
    for element in tree.iter(*_CODE_ELEMENTS):
        text = (element.text or "").strip()
        if not text:
            continue
        owner = element.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        where = owner.get("id") if owner is not None else etree.QName(element).localname
        for reason in sandbox.check(text, _CODE_ELEMENTS[element.tag]):
            problems.append(Problem(filename, element.sourceline, f"{where}: {reason}"))
    return problems


def parse_process(files: dict[str, bytes], process_id: str | None = None) -> ProcessModel:
    """Parse BPMN files safely into a model; every problem is reported at once."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems: list[Problem] = []
    for filename, data in files.items():
        try:
            tree = safexml.parse(data, filename)
        except safexml.UnsafeXml as err:
            problems.append(Problem(filename, None, str(err).removeprefix(f"{filename}: ")))
            continue
        problems.extend(_lint_code(tree, filename))
        try:
            parser.add_bpmn_xml(tree, filename=filename)
        except Exception as err:  # the XSD validator and the parser raise several kinds
            line = getattr(err, "line_number", None) or getattr(err, "sourceline", None)
            problems.append(Problem(filename, line if isinstance(line, int) else None, _first_line(err)))
    if problems:
        raise InvalidProcess(problems)
    executable = parser.get_process_ids()
    if not executable:
        raise InvalidProcess([Problem(", ".join(files), None, "no executable process found")])
    process_id = process_id or executable[0]
    try:
        spec = parser.get_spec(process_id)
        subprocesses = parser.get_subprocess_specs(process_id)
    except Exception as err:
        raise InvalidProcess([Problem(getattr(err, "file_name", "") or ", ".join(files),
                                      getattr(err, "line_number", None) or None, _first_line(err))]) from err
    workflow = BpmnWorkflow(spec, subprocesses)
    state = _SERIALIZER.to_dict(workflow)
    spec_json = json.dumps({"spec": state["spec"], "subprocess_specs": state["subprocess_specs"]})
    elements = {
        task_spec.bpmn_id: {
            "name": task_spec.bpmn_name or task_spec.bpmn_id,
            "lane": task_spec.lane,
            "manual": bool(getattr(task_spec, "manual", False)),
            "properties": _properties(task_spec),
            "documentation": task_spec.documentation or "",
        }
        for task_spec in _all_task_specs(spec, subprocesses) if task_spec.bpmn_id
    }
    return ProcessModel(process_id, spec_json, elements)


def xsd_problems(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Every BPMN 2.0 XSD violation in a tree (SpiffWorkflow's validator stops at the first)."""
    VALIDATOR.preprocess(tree)
    if VALIDATOR.validator.validate(tree):
        return []
    return [Problem(filename, error.line, error.message) for error in VALIDATOR.validator.error_log]


def timer_value_problem(kind: str, value: Any) -> str | None:
    """Why a timer expression's value cannot drive a timer of this kind (timeDate, timeDuration,
    timeCycle); None when it can."""
    if not isinstance(value, str):
        return f"the expression gives {type(value).__name__}, not a text (ISO 8601 string)"
    try:
        if kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        elif kind == "timeDuration":
            if not value.upper().startswith("P"):
                return f"'{value}' is not an ISO 8601 duration such as P15D"
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # the parsers raise ValueError, AttributeError or a bare Exception
        return f"'{value}' is not a valid ISO 8601 value for {kind}"
    return None


def _all_task_specs(spec, subprocesses) -> Iterator[Any]:
    for process in [spec, *subprocesses.values()]:
        yield from process.task_specs.values()


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _properties(task_spec) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


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
    """A script, condition or timer expression of the process failed while running."""


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
    key: str
    name: str
    kind: str
    basis: str
    due_at: datetime
    state: str  # pending | met | missed
    actual_at: datetime | None = None
    extended_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "kind": self.kind, "basis": self.basis,
            "due_at": self.due_at.isoformat(), "state": self.state,
            "actual_at": self.actual_at.isoformat() if self.actual_at else None,
            "extended_to": self.extended_to,
        }


class Instance:
    """One running process instance; every call that changes it takes the instant it runs at."""

    def __init__(self, workflow: BpmnWorkflow, model: ProcessModel, helpers: dict[str, Any]):
        self.workflow = workflow
        self.model = model
        self._timers: list[Any] | None = None  # the timer tasks, walked once per change (see _advance)
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
        state = _SERIALIZER.to_dict(self.workflow)
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
        limits = [(d, attached) for d, attached in self._deadline_tasks() if d.kind == "limit"
                  and d.state == "pending"]
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

    def complete(self, task_id: str, data: dict[str, Any], now: datetime) -> None:
        task = self._ready_task(task_id)
        with running_at(now):
            task.data.update(copy.deepcopy(data))
            try:
                task.run()
            except SpiffWorkflowException as err:
                raise ScriptFailed(_first_line(err)) from err
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
        instants = [_parse_instant(t._get_internal_data("event_value")) for t in self._timer_tasks()
                    if t.state == TaskState.WAITING]
        instants = [i for i in instants if i is not None]
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
        top_diff, subprocess_diffs = diff_workflow(_SERIALIZER.registry, self.workflow, new_spec, new_subprocesses)
        blockers = []
        for diff in [top_diff, *subprocess_diffs.values()]:
            if diff is None:
                blockers.append(Blocker("", "", "started", "removed"))
                continue
            for task in diff.removed + diff.changed:
                if not task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
                    blockers.append(Blocker(task.task_spec.bpmn_id or task.task_spec.name, task.task_spec.bpmn_name or "",
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
        self._timers = None  # every change of the task tree ends here
        try:
            self.workflow.do_engine_steps()
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as err:
            raise ScriptFailed(_first_line(err)) from err

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
            if kind not in ("limit", "minimum") or due_at is None:
                continue
            attached = _attached_task(task)
            fired = task.state == TaskState.COMPLETED
            state, actual_at, extended_to = "pending", None, None
            if kind == "minimum":
                if task.state == TaskState.CANCELLED:
                    continue
                if fired:
                    state, actual_at = "met", due_at
            elif task.state == TaskState.CANCELLED:
                state = "met"
                actual_at = _finished_at(attached)
            elif fired:
                state, actual_at = "missed", _finished_at(attached)  # late, or not done yet
                extended_to = _extension(task, props.get(DEADLINE_EXTENSION_FIELD))
                if extended_to is not None:
                    due_at = end_of_day(as_date(extended_to))
                    if actual_at is None:
                        state = "pending"
                    elif actual_at <= due_at:
                        state = "met"
            deadline = Deadline(
                key=task.task_spec.bpmn_id, name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                kind=kind, basis=props.get(DEADLINE_BASIS, ""), due_at=due_at, state=state,
                actual_at=actual_at, extended_to=extended_to,
            )
            yield deadline, attached.id if attached is not None else None


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
_WORKFLOW_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, _SERIALIZER.registry)


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
    canonical = _UUID.sub(lambda m: numbers.setdefault(m.group(0), f"#{len(numbers)}"), text)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _attached_task(timer_task):
    """The activity a boundary timer watches (None for an intermediate timer)."""
    parent = timer_task.parent
    if parent is None or not parent.task_spec.name.endswith(".BoundaryEventSplit"):
        return None
    name = parent.task_spec.name.removesuffix(".BoundaryEventSplit")
    return next((c for c in parent.children if c.task_spec.name == name), None)


def _finished_at(task) -> datetime | None:
    if task is None or task.state != TaskState.COMPLETED:
        return None
    return datetime.fromtimestamp(task.last_state_change, timezone.utc)


def _extension(timer_task, field_name: str | None) -> str | None:
    if not field_name:
        return None
    found = None
    stack = list(timer_task.children)
    while stack:
        task = stack.pop()
        if task.state == TaskState.COMPLETED and task.data.get(field_name):
            found = task.data[field_name]
        stack.extend(task.children)
    return found


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None
    return datetime.fromtimestamp(instant.timestamp(), timezone.utc)
