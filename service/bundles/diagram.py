"""The diagram of a process version, drawn from its BPMN diagram interchange (DI).

Shapes, lanes and arrows become SVG; every label becomes a positioned box that the document
lays out as HTML, because WeasyPrint's SVG text does not shape Thai (marks fall off as dotted
circles) while its HTML text does, with libthai's word breaks. Positions stay those of the DI,
except that the pool's and lanes' title bands are widened so that Thai lane names fit, and labels
outside their shapes are made tall enough for their text and moved off anything they would cover.
The plan and audit pages show this drawing; the printed plan has its own chart (bundles/flowchart.py).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from lxml import etree  # type: ignore[import-untyped]

from service.engine import safexml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

#: Width of a title band in the DI (bpmn.io's convention) and the widths drawn instead.
DI_BAND = 30.0
POOL_BAND = 50.0
LANE_BAND = 230.0
STROKE = "#222"
#: Label sizes in diagram units: the audit page and the plan page scale them with the drawing, and
#: the boxes of the labels drawn outside their shapes are made tall enough for them.
LABEL_UNITS = {"pool": 30, "lane": 34, "task": 27, "subprocess": 28, "event": 26, "gateway": 26, "flow": 26}
LINE_HEIGHT = 1.25
#: Advance of a Thai base letter in Laksaman, in em: labels measured from its hmtx average 0.53-0.58
#: (bold 0.55-0.60); the highest, so that an estimate is never short.
EM_PER_LETTER = 0.62
#: A wrapped line is filled to about this much: libthai breaks between words, not letters.
LINE_FILL = 0.8
_OUTER = ("event", "gateway", "flow")

_TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
          "businessRuleTask", "callActivity"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}


@dataclass(frozen=True)
class Label:
    """A text box in diagram units; ``kind`` says how the document styles it, ``element`` is the
    BPMN id of what it names (so a page can style it with its shape)."""

    kind: str  # pool | lane | task | subprocess | event | gateway | flow
    text: str
    x: float
    y: float
    width: float
    height: float
    element: str = ""


@dataclass
class Diagram:
    width: float
    height: float
    svg: str
    labels: list[Label] = field(default_factory=list)

    def task_names(self) -> list[str]:
        return [label.text for label in self.labels if label.kind == "task"]


class NoDiagram(ValueError):
    """The BPMN has no diagram interchange to draw."""


@dataclass
class _Bounds:
    x: float
    y: float
    width: float
    height: float


class _Stretch:
    """Widens the DI's title bands along x: a piecewise-linear map of the x axis."""

    def __init__(self, bands: list[tuple[float, float]]):
        # (start x in the DI, width drawn instead of DI_BAND); lanes side by side share one band
        self.bands = sorted(dict(bands).items())

    def x(self, value: float) -> float:
        shift = 0.0
        for start, width in self.bands:
            if value >= start + DI_BAND:
                shift += width - DI_BAND
            elif value > start:
                return start + shift + (value - start) * width / DI_BAND
        return value + shift

    def bounds(self, b: _Bounds) -> _Bounds:
        left, right = self.x(b.x), self.x(b.x + b.width)
        return _Bounds(left, b.y, right - left, b.height)


def render(bpmn_files: dict[str, str], marks: Mapping[str, str] | None = None) -> Diagram:
    """The first diagram found among a process version's BPMN files. :raise NoDiagram:

    With ``marks`` (BPMN id of a shape or sequence flow -> CSS classes), every shape and arrow is
    drawn inside ``<g data-bpmn-id="...">``, with the classes of the marked ones, so that a page
    can show the path taken and where a plan stands; the documents pass none and stay flat.
    """
    for filename, text in sorted(bpmn_files.items()):
        try:
            tree = safexml.parse(text.encode("utf-8"), filename)
        except safexml.UnsafeXml:
            continue  # published files always parse; a file that does not has nothing to draw
        plane = tree.find(".//bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
        if plane is not None and len(plane):
            return _draw(tree, plane, marks)
    raise NoDiagram(f"{', '.join(sorted(bpmn_files))}: no BPMNDiagram with shapes to draw")


def _draw(tree: etree._ElementTree, plane: etree._Element, marks: Mapping[str, str] | None) -> Diagram:
    elements = {e.get("id"): e for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
    found = [(s, elements.get(s.get("bpmnElement")), _bounds(s.find("dc:Bounds", NS)))
             for s in plane.findall("bpmndi:BPMNShape", NS)]
    shapes = [(s, e, b) for s, e, b in found if e is not None and b is not None]
    edges = [(s, elements.get(s.get("bpmnElement"))) for s in plane.findall("bpmndi:BPMNEdge", NS)]

    stretch = _Stretch([(b.x, POOL_BAND if _kind(e) == "participant" else LANE_BAND)
                        for _, e, b in shapes if _kind(e) in ("participant", "lane")])
    svg: list[str] = []
    labels: list[Label] = []
    boxes = []

    def group(element: etree._Element | None, drawn: str) -> str:
        if marks is None or element is None:
            return drawn
        bpmn_id = element.get("id")
        css = f' class="{escape(marks[bpmn_id])}"' if marks.get(bpmn_id) else ""
        return f'<g data-bpmn-id="{escape(bpmn_id)}"{css}>{drawn}</g>'
    # pools and lanes first, so that everything else is drawn over them
    for shape, element, raw in sorted(shapes, key=lambda t: _kind(t[1]) not in ("participant", "lane")):
        bounds = stretch.bounds(raw)
        boxes.append(bounds)
        kind = _kind(element)
        name = (element.get("name") or "").strip()
        bpmn_id = element.get("id")
        label_bounds = _bounds(shape.find("bpmndi:BPMNLabel/dc:Bounds", NS))
        if kind in ("participant", "lane"):
            band = POOL_BAND if kind == "participant" else LANE_BAND
            svg.append(_rect(bounds, fill="#fff" if kind == "participant" else "none"))
            svg.append(_line(bounds.x + band, bounds.y, bounds.x + band, bounds.y + bounds.height))
            if name:
                labels.append(Label("pool" if kind == "participant" else "lane", name,
                                    bounds.x, bounds.y, band, bounds.height, bpmn_id))
        elif kind in _TASKS:
            svg.append(group(element, _rect(bounds, rx=10, width=2)))
            if name:
                labels.append(Label("task", name, bounds.x, bounds.y, bounds.width, bounds.height, bpmn_id))
        elif kind == "subProcess":
            svg.append(group(element, _rect(bounds, rx=10, width=1.5)))
            if name:
                labels.append(Label("subprocess", name, bounds.x + 10, bounds.y + 4, bounds.width - 20, 40, bpmn_id))
        elif kind in _GATEWAYS:
            svg.append(group(element, _gateway(bounds, kind, shape.get("isMarkerVisible") == "true")))
            if name:
                labels.append(_outer_label("gateway", name, bounds, label_bounds, stretch, bpmn_id))
        elif kind in _EVENTS:
            svg.append(group(element, _event(bounds, kind, element)))
            if name:
                labels.append(_outer_label("event", name, bounds, label_bounds, stretch, bpmn_id))
    for edge, element in edges:
        points = [(stretch.x(float(p.get("x"))), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        if len(points) < 2:
            continue
        svg.append(group(element, _arrow(points)))
        name = (element.get("name") or "").strip() if element is not None else ""
        if name:
            assert element is not None  # a name is only read from an element
            label_bounds = _bounds(edge.find("bpmndi:BPMNLabel/dc:Bounds", NS))
            if label_bounds is not None:  # a modeler's narrow box, widened about its centre for Thai
                b = stretch.bounds(label_bounds)
                width = max(b.width, 160.0)
                labels.append(Label("flow", name, b.x + b.width / 2 - width / 2, b.y, width, b.height,
                                    element.get("id")))
            else:
                (x1, y1), (x2, y2) = points[len(points) // 2 - 1], points[len(points) // 2]
                labels.append(Label("flow", name, (x1 + x2) / 2 - 80, (y1 + y2) / 2 - 20, 160, 18, element.get("id")))

    if not boxes:
        raise NoDiagram("the diagram has no shapes")
    labels = _unclutter(labels, [stretch.bounds(b) for _, e, b in shapes
                                 if _kind(e) in _TASKS | _GATEWAYS | _EVENTS])
    min_x = min(min(b.x for b in boxes), *(lb.x for lb in labels)) - 5
    min_y = min(min(b.y for b in boxes), *(lb.y for lb in labels)) - 5
    max_x = max(max(b.x + b.width for b in boxes), *(lb.x + lb.width for lb in labels)) + 5
    max_y = max(max(b.y + b.height for b in boxes), *(lb.y + lb.height for lb in labels)) + 5
    width, height = max_x - min_x, max_y - min_y
    labels = [Label(lb.kind, lb.text, lb.x - min_x, lb.y - min_y, lb.width, lb.height, lb.element) for lb in labels]
    document = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{min_x:g} {min_y:g} {width:g} {height:g}" '
        f'width="100%" height="100%" preserveAspectRatio="xMinYMin meet">'
        '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="14" markerHeight="14" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{STROKE}"/></marker></defs>'
        + "".join(svg) + "</svg>"
    )
    return Diagram(width, height, document, labels)


def text_width(text: str, size: float) -> float:
    """An estimate of the text's width at that font size: Thai marks above and below take no room."""
    letters = sum(0 if unicodedata.combining(ch) or ch in "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e47" else
                  0.5 if ch in " .,()/-:" else 1 for ch in text)
    return letters * EM_PER_LETTER * size


def lines_of(text: str, width: float, size: float) -> int:
    """How many lines the text takes in a box that wide (words longer than a line included)."""
    needed = text_width(text, size)
    return 1 if needed <= width else math.ceil(needed / (max(width, 1.0) * LINE_FILL))


def _unclutter(labels: list[Label], shapes: list[_Bounds]) -> list[Label]:
    """Labels outside their shapes (events, gateways, flows) made as tall as their wrapped text and
    moved up or down, the least distance, off every shape and every label placed before them."""
    taken = [_Bounds(*_xywh(b)) for b in shapes] + [_Bounds(lb.x, lb.y, lb.width, lb.height)
                                                     for lb in labels if lb.kind not in _OUTER]
    placed = []
    for label in labels:
        if label.kind not in _OUTER:
            placed.append(label)
            continue
        size = LABEL_UNITS[label.kind]
        height = lines_of(label.text, label.width - 4, size) * size * LINE_HEIGHT + 4
        for dy in (0, *(sign * step for step in range(6, 200, 6) for sign in (1, -1))):
            box = _Bounds(label.x, label.y + dy, label.width, height)
            if not any(_overlap(box, other) for other in taken):
                break
        else:
            box = _Bounds(label.x, label.y, label.width, height)  # nowhere free nearby: where the DI says
        taken.append(box)
        placed.append(Label(label.kind, label.text, box.x, box.y, box.width, box.height, label.element))
    return placed


def _overlap(a: _Bounds, b: _Bounds) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def _kind(element: etree._Element | None) -> str:
    return etree.QName(element).localname if element is not None else ""


def _bounds(node: etree._Element | None) -> _Bounds | None:
    if node is None:
        return None
    return _Bounds(*(float(node.get(k, 0)) for k in ("x", "y", "width", "height")))


def _xywh(b: _Bounds) -> tuple[float, float, float, float]:
    return b.x, b.y, b.width, b.height


def _outer_label(kind: str, name: str, shape: _Bounds, label: _Bounds | None, stretch: _Stretch,
                 element: str) -> Label:
    """Events and gateways carry their label outside the shape: where the DI says, else below."""
    if label is not None:
        label = stretch.bounds(label)
        width = max(label.width, 180.0)
        return Label(kind, name, label.x + label.width / 2 - width / 2, label.y, width, max(label.height, 18.0),
                     element)
    return Label(kind, name, shape.x + shape.width / 2 - 90, shape.y + shape.height + 4, 180, 18, element)


def _rect(b: _Bounds, rx: float = 0, width: float = 1.5, fill: str = "none") -> str:
    return (f'<rect x="{b.x:g}" y="{b.y:g}" width="{b.width:g}" height="{b.height:g}" rx="{rx:g}" '
            f'fill="{fill}" stroke="{STROKE}" stroke-width="{width:g}"/>')


def _line(x1: float, y1: float, x2: float, y2: float, width: float = 1.5) -> str:
    return f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{STROKE}" stroke-width="{width:g}"/>'


def _arrow(points: list[tuple[float, float]]) -> str:
    coords = " ".join(f"{x:g},{y:g}" for x, y in points)
    return (f'<polyline points="{coords}" fill="none" stroke="{STROKE}" stroke-width="2" '
            'stroke-linejoin="round" marker-end="url(#arrowhead)"/>')


def _gateway(b: _Bounds, kind: str, marker: bool) -> str:
    cx, cy = b.x + b.width / 2, b.y + b.height / 2
    parts = [f'<polygon points="{cx:g},{b.y:g} {b.x + b.width:g},{cy:g} {cx:g},{b.y + b.height:g} {b.x:g},{cy:g}" '
             f'fill="#fff" stroke="{STROKE}" stroke-width="2"/>']
    d = b.width / 5
    if kind == "exclusiveGateway" and marker:
        parts.append(_line(cx - d, cy - d, cx + d, cy + d, 4) + _line(cx - d, cy + d, cx + d, cy - d, 4))
    elif kind == "parallelGateway":
        parts.append(_line(cx, cy - d * 1.3, cx, cy + d * 1.3, 4) + _line(cx - d * 1.3, cy, cx + d * 1.3, cy, 4))
    elif kind == "inclusiveGateway":
        parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{d * 1.2:g}" fill="none" stroke="{STROKE}"'
                     ' stroke-width="3"/>')
    return "".join(parts)


def _event(b: _Bounds, kind: str, element: etree._Element) -> str:
    cx, cy, r = b.x + b.width / 2, b.y + b.height / 2, b.width / 2
    dash = ' stroke-dasharray="5,3"' if element.get("cancelActivity") == "false" else ""
    width = 4 if kind == "endEvent" else 1.5
    parts = [f'<circle cx="{cx:g}" cy="{cy:g}" r="{r:g}" fill="#fff" stroke="{STROKE}" stroke-width="{width}"{dash}/>']
    if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{r - 4:g}" fill="none" stroke="{STROKE}" '
                     f'stroke-width="1.5"{dash}/>')
    if element.find("bpmn:timerEventDefinition", NS) is not None:
        face = r - 9
        parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{face:g}" fill="none" stroke="{STROKE}" stroke-width="1.5"/>')
        parts.append(_line(cx, cy, cx, cy - face * 0.8) + _line(cx, cy, cx + face * 0.6, cy))
    return "".join(parts)


def sequence_flows(bpmn_files: dict[str, str], steps: set[tuple[str, str]]) -> list[str]:
    """The ids of the sequence flows that join the (source, target) pairs given: the arrows of the
    steps an instance has taken (engine.Instance.transitions)."""
    found = []
    for filename, text in sorted(bpmn_files.items()):
        tree = safexml.parse(text.encode("utf-8"), filename)
        found += [flow.get("id") for flow in tree.iter(f"{{{BPMN}}}sequenceFlow")
                  if (flow.get("sourceRef"), flow.get("targetRef")) in steps]
    return found
