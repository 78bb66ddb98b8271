"""Process models: BPMN files parsed safely (hardened XML, the XSD, the sandbox's checks on every
script, condition and timer expression) into the spec stored once per process version."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

from service.engine import safexml, sandbox

#: Conventions a process designer uses in the BPMN (SpiffArena's property element).
FORM_PROPERTY = "formJsonSchemaFilename"
DEADLINE_KIND = "deadlineKind"  # "limit": act before it fires; "minimum": wait until it fires
DEADLINE_BASIS = "deadlineBasis"
DEADLINE_EXTENSION_FIELD = "deadlineExtensionField"
#: the recorded field whose date fulfils the deadline (the posting date for "post within 15 days"):
#: the verdict is measured against it, not against when a step was clicked
DEADLINE_FACT = "deadlineFact"
#: the field holding the reason an official gave when confirming the deadline was missed
DEADLINE_REASON_FIELD = "deadlineReasonField"
#: the documents (kinds, comma-separated) that state this deadline's verdict besides the record
DEADLINE_DOCUMENTS = "deadlineDocuments"
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CODE_ELEMENTS = {  # element -> how its text runs in the sandbox
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
        spec = SERIALIZER.from_dict(specs["spec"])
        subprocesses = {name: SERIALIZER.from_dict(sub) for name, sub in specs["subprocess_specs"].items()}
        _pass_through_plain_tasks(spec, subprocesses)
        return spec, subprocesses

    @property
    def lanes(self) -> list[str]:
        return list(dict.fromkeys(e["lane"] for e in self.elements.values() if e["lane"]))

    @property
    def user_tasks(self) -> dict[str, dict[str, Any]]:
        return {key: e for key, e in self.elements.items() if e["manual"]}

    def properties(self, bpmn_id: str) -> dict[str, str]:
        element = self.elements.get(bpmn_id)
        return element["properties"] if element else {}

    def ends_after(self, bpmn_id: str) -> bool:
        """Whether completing this step can only finish the procedure: no step for a person, no
        wait and no subprocess lies on any path after it (so its button can say it finishes)."""
        if "ends_after" not in self._restored:
            self._restored["ends_after"] = {name for name in self.user_tasks if self._nothing_after(name)}
        return bpmn_id in self._restored["ends_after"]

    def _nothing_after(self, bpmn_id: str) -> bool:
        spec, subprocesses = self.specs()
        task_spec = spec.task_specs.get(bpmn_id)
        if task_spec is None:  # a step inside a subprocess: its caller continues after it
            return False
        waits = _reaches(task_spec.outputs, lambda s: s.outputs, lambda s: (
            getattr(s, "manual", False) or s.name in subprocesses or getattr(s, "spec", None) is not None
            or isinstance(getattr(s, "event_definition", None), TimerEventDefinition)))
        # a step after a fork that leaves another path running (a non-interrupting boundary event, a
        # parallel or inclusive split) ends only its own path with its end event
        forked = _reaches(task_spec.inputs, lambda s: s.inputs, lambda s: (
            isinstance(s, BoundaryEvent) and not s.cancel_activity
            or isinstance(s, (ParallelGateway, InclusiveGateway)) and len(s.outputs) > 1))
        return not waits and not forked


def _reaches(start: list[Any], following: Callable[[Any], list[Any]], found: Callable[[Any], bool]) -> bool:
    """Whether a walk of the specs from ``start``, along ``following``, meets one that is ``found``."""
    seen: set[str] = set()
    pending = list(start)
    while pending:
        spec = pending.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if found(spec):
            return True
        pending += following(spec)
    return False


def code_elements(tree: etree._ElementTree) -> Iterator[tuple[etree._Element, str, str]]:
    """Every element holding designer code, with its code and how the sandbox runs it (eval, exec)."""
    for element in tree.iter(*CODE_ELEMENTS):
        text = (element.text or "").strip()
        if text:
            yield element, text, CODE_ELEMENTS[element.tag]


def _code_problems(tree: etree._ElementTree, filename: str) -> list[Problem]:
    problems = []
    for element, text, mode in code_elements(tree):
        owner = element.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        where = owner.get("id") if owner is not None else etree.QName(element).localname
        for reason in sandbox.check(text, mode):
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
        problems.extend(_code_problems(tree, filename))
        try:
            parser.add_bpmn_xml(tree, filename=filename)
        except Exception as err:  # the XSD validator and the parser raise several kinds
            line = getattr(err, "line_number", None) or getattr(err, "sourceline", None)
            problems.append(Problem(filename, line if isinstance(line, int) else None, first_line(err)))
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
                                      getattr(err, "line_number", None) or None, first_line(err))]) from err
    _pass_through_plain_tasks(spec, subprocesses)
    workflow = BpmnWorkflow(spec, subprocesses)
    state = SERIALIZER.to_dict(workflow)
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


def parse_texts(bpmn_files: dict[str, str], process_id: str | None = None) -> ProcessModel:
    """``parse_process`` of BPMN files kept as text (a published version, an exported bundle)."""
    return parse_process({name: text.encode("utf-8") for name, text in bpmn_files.items()}, process_id)


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
    except ValueError as err:
        if "century" in str(err) or "between the years" in str(err):  # engine/clock.py's bounds
            return str(err)
        return f"'{value}' is not a valid ISO 8601 value for {kind}"
    except Exception:  # the parsers raise AttributeError, OverflowError or a bare Exception
        return f"'{value}' is not a valid ISO 8601 value for {kind}"
    return None


def _pass_through_plain_tasks(spec: Any, subprocesses: dict[str, Any]) -> None:
    """A plain ``bpmn:task`` names a step without saying who does it; as in Camunda and bpmn.io's
    own engines it passes through. SpiffWorkflow would wait for a person on it, and with no lane
    no one could ever complete it: the plan would be stuck."""
    for task_spec in _all_task_specs(spec, subprocesses):
        if isinstance(task_spec, NoneTask):
            task_spec.manual = False


def _all_task_specs(spec, subprocesses) -> Iterator[Any]:
    for process in [spec, *subprocesses.values()]:
        yield from process.task_specs.values()


def first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _properties(task_spec) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))
