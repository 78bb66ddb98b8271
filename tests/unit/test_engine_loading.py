"""BPMN files are parsed safely, and their code is checked before anything runs."""

from datetime import UTC
from pathlib import Path

import pytest

from service import engine

PROCESS = Path(__file__).resolve().parents[2] / "processes" / "operational_plan" / "operational_plan.bpmn"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">\n')


def process_with(body: str) -> bytes:
    return (HEAD + '<bpmn:process id="p" isExecutable="true">\n<bpmn:startEvent id="s"/>\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="script"/>\n'
            f'<bpmn:scriptTask id="script"><bpmn:script>{body}</bpmn:script></bpmn:scriptTask>\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="e"/>\n<bpmn:endEvent id="e"/>\n'
            '</bpmn:process>\n</bpmn:definitions>\n').encode()


def test_the_shipped_process_parses():
    model = engine.parse_process({PROCESS.name: PROCESS.read_bytes()})
    assert model.process_id == "operational_plan"
    assert len(model.lanes) == 4 and len(model.user_tasks) == 11


def test_a_doctype_is_refused():
    xml = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + HEAD.split(b"?>" if False else "?>", 1)[1].encode())
    with pytest.raises(engine.InvalidProcess) as caught:
        engine.parse_process({"evil.bpmn": xml + b"</bpmn:definitions>"})
    assert "DOCTYPE" in str(caught.value) and "evil.bpmn" in str(caught.value)


@pytest.mark.parametrize("script, reason", [
    ("import os", "import is not allowed"),
    ("data = open('/etc/passwd').read()", "'open' is not allowed"),
    ("x = ().__class__.__base__.__subclasses__()", "__subclasses__"),
])
def test_dangerous_scripts_are_refused_at_load_naming_the_element_and_line(script, reason):
    with pytest.raises(engine.InvalidProcess) as caught:
        engine.parse_process({"bad.bpmn": process_with(script)})
    text = str(caught.value)
    assert reason in text and "script" in text and "bad.bpmn:6" in text, text


def test_a_file_that_is_not_xml_is_refused_with_its_line():
    with pytest.raises(engine.InvalidProcess) as caught:
        engine.parse_process({"broken.bpmn": HEAD.encode() + b"<bpmn:process id='p'>"})
    assert "broken.bpmn" in str(caught.value) and "well formed" in str(caught.value)


def test_a_safe_script_runs_in_the_sandbox():
    from datetime import datetime

    model = engine.parse_process({"ok.bpmn": process_with("total = sum([1, 2, 3])")})
    instance = engine.Instance.start(model, {}, datetime(2020, 1, 1, tzinfo=UTC), {})
    assert instance.completed and instance.final_data["total"] == 6


def test_the_state_digest_is_reproducible_and_sensitive_to_data():
    from datetime import datetime, timedelta

    from service.thai.legaldays import timer_helpers

    model = engine.parse_process({PROCESS.name: PROCESS.read_bytes()})
    start = datetime(2020, 9, 21, 2, tzinfo=UTC)

    def run(projects_note: str) -> list[str]:
        instance = engine.Instance.start(model, {"budget_announced_on": "2020-09-20"}, start, timer_helpers(()))
        digests = [instance.digest()]
        for step, (name, data) in enumerate([("collect_projects", {"projects": [{"name": projects_note}]}),
                                             ("draft_plan", {"draft_prepared_on": "2020-09-22"})]):
            task = next(t for t in instance.open_tasks() if t.spec_name == name)
            instance.complete(task.id, data, start + timedelta(hours=step + 1))
            digests.append(instance.digest())
        return digests

    first, again, other = run("ถนน"), run("ถนน"), run("สะพาน")
    assert first == again
    assert first[0] == other[0] and first[1] != other[1]
    assert len(set(first)) == 3


def test_many_instances_migrate_to_the_same_version():
    """The serializer consumes the dictionaries it restores: a second migration to the same
    model once failed because the first had eaten its spec."""
    from datetime import datetime

    from service.bundles import catalog
    from service.thai.legaldays import timer_helpers

    root = PROCESS.parents[2]
    version_1 = catalog.check(catalog.read_bundle(root / "processes" / "operational_plan", root / "forms"))
    version_2 = catalog.check(catalog.read_bundle(root / "tests" / "fixtures" / "operational_plan_v2", root / "forms"))
    start = datetime(2020, 9, 21, 2, tzinfo=UTC)
    digests = set()
    for _ in range(3):
        instance = engine.Instance.start(version_1, {"budget_announced_on": "2020-09-20"}, start, timer_helpers(()))
        instance.migrate(version_2, start)
        digests.add(instance.digest())
    assert len(digests) == 1
