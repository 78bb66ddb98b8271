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


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = {"ours": BPMN, "ours, next version": FIXTURES / "operational_plan_v2" / "operational_plan.bpmn",
          "amendment": BPMN.parents[1] / "amendment" / "amendment.bpmn",
          "Camunda Modeler": FIXTURES / "other_modelers" / "camunda_leave_request.bpmn"}


@pytest.mark.parametrize("name", list(MODELS))
def test_labels_outside_their_shapes_overlap_no_other_label_or_shape_and_fit_their_text(name):
    """The plan page and the audit page place these boxes as they are: none may cover another's text."""
    drawing = diagram.render({"x.bpmn": MODELS[name].read_text(encoding="utf-8")})
    boxes = [lb for lb in drawing.labels if lb.kind not in ("pool", "lane", "subprocess")]

    def meet(a, b):
        return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height

    outer = [lb for lb in boxes if lb.kind in ("event", "gateway", "flow")]
    assert outer
    clashes = [(a.text, b.text) for a in outer for b in boxes if a is not b and meet(a, b)]
    assert clashes == []
    for label in outer:
        size = diagram.LABEL_UNITS[label.kind]
        assert label.height >= diagram.lines_of(label.text, label.width - 4, size) * size * diagram.LINE_HEIGHT


def test_the_text_estimate_is_never_short_of_laksamans_own_advances():
    """Boxes are sized from an estimate; it must not be narrower than the font really draws."""
    fonts = pytest.importorskip("fontTools.ttLib")
    path = Path("/usr/share/fonts/truetype/tlwg/Laksaman-Bold.ttf")
    if not path.exists():
        pytest.skip("fonts-thai-tlwg is not installed")
    font = fonts.TTFont(str(path))
    cmap, advances, em = font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm
    for text in ("คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น", "ผู้บริหารท้องถิ่นให้ความเห็นชอบ",
                 "ส่งกลับคณะกรรมการพัฒนาท้องถิ่น", "ครบ 30 วันนับแต่วันประกาศงบประมาณ (ข้อ 27)",
                 "สำนักปลัด (งานนโยบายและแผน)", "ปิดประกาศครบ 30 วัน"):
        real = sum(advances[cmap[ord(ch)]][0] for ch in text) / em
        assert diagram.text_width(text, 1.0) >= real, text


def test_the_printed_flowchart_follows_the_main_path_and_refuses_a_process_with_nothing_to_draw(source):
    from service.bundles import flowchart

    path = flowchart.main_path({"operational_plan.bpmn": source})
    names = [step.name for step in path.steps]
    assert names[:7] == drawn_in_the_seed()
    assert names[7:] == ["ปิดประกาศแผนการดำเนินงาน", "ปิดประกาศครบ 30 วัน", "รับรองการปิดประกาศ"]
    assert "บันทึกการขยายเวลาจัดทำแผน (ข้อ 27)" not in names  # a boundary event's branch is not the main path
    assert {(names[b.source], names[b.target]) for b in path.send_backs} == {
        ("พิจารณาร่างแผนการดำเนินงาน", "จัดทำร่างแผนการดำเนินงาน"),
        ("ผู้บริหารท้องถิ่นให้ความเห็นชอบ", "พิจารณาร่างแผนการดำเนินงาน")}
    plain = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
             '<process id="p" isExecutable="true"><task id="t"/></process></definitions>')
    with pytest.raises(diagram.NoDiagram):
        flowchart.render({"x.bpmn": plain})


def drawn_in_the_seed() -> list[str]:
    """The seed's flowchart (DOMAIN.md), step by step."""
    return ["รวบรวมโครงการ/กิจกรรม", "จัดทำร่างแผนการดำเนินงาน", "เสนอร่างแผนการดำเนินงาน", "พิจารณาร่างแผนการดำเนินงาน",
            "เสนอร่างต่อผู้บริหารท้องถิ่น", "ผู้บริหารท้องถิ่นให้ความเห็นชอบ", "ประกาศใช้แผนการดำเนินงาน"]
