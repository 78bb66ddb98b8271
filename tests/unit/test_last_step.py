"""Which step finishes the procedure (its button says so): read from the diagram, not named in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import engine

PROCESSES = Path(__file__).resolve().parents[2] / "processes"

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">"""
TAIL = "</bpmn:process></bpmn:definitions>"


def parsed(body: str) -> engine.ProcessModel:
    return engine.parse_texts({"p.bpmn": HEAD + body + TAIL})


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairs))


@pytest.mark.parametrize("process", ["operational_plan", "amendment"])
def test_in_the_shipped_processes_only_the_certification_finishes(process):
    folder = PROCESSES / process
    model = engine.parse_process({f.name: f.read_bytes() for f in folder.glob("*.bpmn")})
    # the steps on the branches of the non-interrupting deadlines end only their own branch
    assert [name for name in model.user_tasks if model.ends_after(name)] == ["certify_posting"]


def test_a_step_before_another_step_or_a_wait_does_not_finish():
    model = parsed('<bpmn:startEvent id="s"/><bpmn:userTask id="a"/><bpmn:intermediateCatchEvent id="w">'
                   '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
                   '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:userTask id="b"/>'
                   '<bpmn:endEvent id="e"/>' + flows(("s", "a"), ("a", "w"), ("w", "b"), ("b", "e")))
    assert (model.ends_after("a"), model.ends_after("b")) == (False, True)


def test_a_step_on_one_branch_of_a_parallel_split_does_not_finish():
    model = parsed('<bpmn:startEvent id="s"/><bpmn:parallelGateway id="g"/><bpmn:userTask id="a"/>'
                   '<bpmn:userTask id="b"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
                   + flows(("s", "g"), ("g", "a"), ("g", "b"), ("a", "e1"), ("b", "e2")))
    assert (model.ends_after("a"), model.ends_after("b")) == (False, False)


def test_a_decision_that_may_send_back_does_not_finish():
    model = parsed('<bpmn:startEvent id="s"/><bpmn:userTask id="a"/><bpmn:userTask id="decide"/>'
                   '<bpmn:exclusiveGateway id="g" default="f3"/><bpmn:endEvent id="e"/>'
                   + flows(("s", "a"), ("a", "decide"), ("decide", "g"), ("g", "e"))
                   + '<bpmn:sequenceFlow id="back" sourceRef="g" targetRef="a">'
                     '<bpmn:conditionExpression>again</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert model.ends_after("decide") is False
