"""The flowchart is drawn from the BPMN's diagram interchange, not from a picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from service.bundles import diagram

BPMN = Path(__file__).resolve().parents[2] / "processes" / "operational_plan" / "operational_plan.bpmn"


@pytest.fixture(scope="module")
def source() -> str:
    return BPMN.read_text(encoding="utf-8")


def test_every_task_lane_and_arrow_of_the_bpmn_is_drawn(source):
    drawing = diagram.render({"operational_plan.bpmn": source})
    svg = etree.fromstring(drawing.svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert drawing.task_names()[:7] == [
        "รวบรวมโครงการ/กิจกรรม", "จัดทำร่างแผนการดำเนินงาน", "เสนอร่างแผนการดำเนินงาน", "พิจารณาร่างแผนการดำเนินงาน",
        "เสนอร่างต่อผู้บริหารท้องถิ่น", "ผู้บริหารท้องถิ่นให้ความเห็นชอบ", "ประกาศใช้แผนการดำเนินงาน"]
    lanes = [label.text for label in drawing.labels if label.kind == "lane"]
    assert lanes == ["คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น", "คณะกรรมการพัฒนาท้องถิ่น", "ผู้บริหารท้องถิ่น",
                     "สำนักปลัด (งานนโยบายและแผน)"]
    edges = source.count("<bpmndi:BPMNEdge")
    assert len(svg.findall("s:polyline", ns)) == edges
    assert all(p.get("marker-end") == "url(#arrowhead)" for p in svg.findall("s:polyline", ns))
    assert len(svg.findall("s:polygon", ns)) == 2  # the two gateways
    flows = {label.text for label in drawing.labels if label.kind == "flow"}
    assert {"ให้แก้ไขร่าง", "เห็นชอบ"} <= flows


def test_labels_stay_inside_the_drawing_and_tasks_keep_their_di_size(source):
    drawing = diagram.render({"operational_plan.bpmn": source})
    for label in drawing.labels:
        assert 0 <= label.x and label.x + label.width <= drawing.width + 1, label
        assert 0 <= label.y and label.y + label.height <= drawing.height + 1, label
    tasks = [label for label in drawing.labels if label.kind == "task"]
    assert {(t.width, t.height) for t in tasks} == {(180.0, 80.0)}


def test_lane_title_bands_are_widened_without_moving_shapes_relative_to_each_other(source):
    drawing = diagram.render({"operational_plan.bpmn": source})
    by_name = {label.text: label for label in drawing.labels}
    collect, draft = by_name["รวบรวมโครงการ/กิจกรรม"], by_name["จัดทำร่างแผนการดำเนินงาน"]
    assert draft.x - collect.x == 675 - 445  # as in the DI
    lane = by_name["ผู้บริหารท้องถิ่น"]
    assert lane.width == diagram.LANE_BAND and lane.x + lane.width <= collect.x


def test_a_renamed_task_is_drawn_with_its_new_name(source):
    renamed = source.replace('name="เสนอร่างแผนการดำเนินงาน"', 'name="ส่งร่างแผนให้คณะกรรมการพัฒนาท้องถิ่น"')
    names = diagram.render({"copy.bpmn": renamed}).task_names()
    assert "ส่งร่างแผนให้คณะกรรมการพัฒนาท้องถิ่น" in names and "เสนอร่างแผนการดำเนินงาน" not in names


def test_a_bpmn_without_diagram_interchange_is_refused():
    plain = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
             '<process id="p" isExecutable="true"><startEvent id="s"/></process></definitions>')
    with pytest.raises(diagram.NoDiagram, match="x.bpmn"):
        diagram.render({"x.bpmn": plain})


def test_marks_wrap_each_shape_and_arrow_with_its_bpmn_id_and_classes(source):
    drawing = diagram.render({"operational_plan.bpmn": source},
                             marks={"collect_projects": "done", "draft_plan": "current", "flow_p1": "taken"})
    svg = etree.fromstring(drawing.svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    groups = {g.get("data-bpmn-id"): g for g in svg.findall("s:g", ns)}
    assert groups["collect_projects"].get("class") == "done"
    assert groups["draft_plan"].get("class") == "current"
    assert groups["flow_p1"].get("class") == "taken" and groups["flow_p1"].find("s:polyline", ns) is not None
    assert groups["approve_plan"].get("class") is None  # drawn, not marked
    assert len([g for g in groups.values() if g.find("s:polyline", ns) is not None]) == source.count("<bpmndi:BPMNEdge")
    labels = {label.element: label for label in drawing.labels}
    assert labels["draft_plan"].text == "จัดทำร่างแผนการดำเนินงาน" and labels["lane_executive"].kind == "lane"


def test_without_marks_the_drawing_is_flat_and_the_same_as_before(source):
    plain = diagram.render({"operational_plan.bpmn": source})
    assert "<g" not in plain.svg and "data-bpmn-id" not in plain.svg
    marked = diagram.render({"operational_plan.bpmn": source}, marks={})
    assert [(lb.text, lb.x, lb.y) for lb in marked.labels] == [(lb.text, lb.x, lb.y) for lb in plain.labels]
    assert (marked.width, marked.height) == (plain.width, plain.height)
