"""The printed flowchart of a process version, in the style of the plans LAOs publish: its steps from
top to bottom, who does each beside it, the send-backs on the side and the posting at the end.

It is generated from the BPMN itself (the lanes and the main path from the start event), not from the
modeler's drawing, so that any modeler's file gives the same readable chart. Every text box is laid
out here, in millimetres, with room for its wrapped lines; the document only places them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from lxml import etree  # type: ignore[import-untyped]

from service.bundles import diagram
from service.bundles.diagram import BPMN, STROKE, Diagram, Label, NoDiagram
from service.engine import safexml

#: Font sizes (pt) of each kind of text box; the document prints them at these sizes.
FONT_PT = {"role": 14.0, "step": 14.0, "wait": 13.0, "note": 12.0}
LINE_HEIGHT = 1.2  # the document's line-height for the labels
MM_PER_PT = 25.4 / 72
#: Columns, in millimetres, of a chart 160 mm wide (an A4 portrait page between the official margins).
WIDTH = 160.0
ROLE = (0.0, 44.0)
STEP = (51.0, 124.0)
TRACK_START, TRACK_GAP = 127.0, 4.5
PAD = 2.0  # inside every box, around its text
GAP = 9.0  # between two steps: room for the arrow
MAX_STEPS = 40

_STEPS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
          "businessRuleTask", "callActivity", "subProcess", "intermediateCatchEvent", "intermediateThrowEvent"}
_TASKS = _STEPS - {"intermediateCatchEvent", "intermediateThrowEvent", "subProcess"}


@dataclass
class Step:
    id: str
    name: str
    role: str
    kind: str  # step | wait


@dataclass
class SendBack:
    source: int  # index of the step that decides
    target: int  # index of the step the plan goes back to
    name: str


@dataclass
class Path:
    steps: list[Step] = field(default_factory=list)
    send_backs: list[SendBack] = field(default_factory=list)


def main_path(bpmn_files: dict[str, str]) -> Path:
    """The steps of the executable process from its start event, following at each gateway the
    default flow (else the first flow to a step not yet reached) and entering sub-processes; a flow
    back to a step already reached is a send-back. Boundary events (reminders, late postings) are
    not on the main path. :raise NoDiagram: no process with a start event."""
    for filename, text in sorted(bpmn_files.items()):
        try:
            tree = safexml.parse(text.encode("utf-8"), filename)
        except safexml.UnsafeXml:
            continue
        processes = tree.findall(f"{{{BPMN}}}process")
        process = next((p for p in processes if p.get("isExecutable") == "true"), processes[0] if processes else None)
        if process is not None and process.find(f"{{{BPMN}}}startEvent") is not None:
            return _walk(process)
    raise NoDiagram(f"{', '.join(sorted(bpmn_files))}: no process with a start event to draw")


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _walk(process: etree._Element) -> Path:
    nodes = {e.get("id"): e for e in process.iter() if isinstance(e.tag, str) and e.get("id")}
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
    roles: dict[str, str] = {}
    # nested lane sets: the innermost lane names who does the step, so it is read last
    for lane in sorted(process.iter(f"{{{BPMN}}}lane"), key=lambda e: len(list(e.iterancestors()))):
        for ref in lane.iterfind(f"{{{BPMN}}}flowNodeRef"):
            roles[(ref.text or "").strip()] = (lane.get("name") or "").strip()

    path = Path()
    index: dict[str, int] = {}  # node id -> the index of the step it is, or the next step after it
    last: list[int] = []  # the step before the node being walked

    def walk(container: etree._Element) -> None:
        start = next((e for e in container if isinstance(e.tag, str) and _local(e) == "startEvent"), None)
        node = start
        while node is not None and len(path.steps) < MAX_STEPS:
            node_id, kind = node.get("id"), _local(node)
            if node_id in index:
                break
            index[node_id] = len(path.steps)
            if kind == "subProcess" and any(_local(c) == "startEvent" for c in node if isinstance(c.tag, str)):
                walk(node)
            elif kind in _STEPS and (node.get("name") or "").strip():
                path.steps.append(Step(node_id, " ".join(node.get("name").split()), roles.get(node_id, ""),
                                       "step" if kind in _TASKS or kind == "subProcess" else "wait"))
                last[:] = [len(path.steps) - 1]
            node = _forward(node, outgoing.get(node_id, []), index, nodes, path, last)

    walk(process)
    if not path.steps:
        raise NoDiagram("the process has no named step on its main path")
    for back in path.send_backs:
        back.target = min(back.target, len(path.steps) - 1)
    return path


def _forward(node: etree._Element, flows: list[etree._Element], index: dict[str, int],
             nodes: dict[str, etree._Element], path: Path, last: list[int]) -> etree._Element | None:
    """The next node on the main path; flows back to steps already reached are noted as send-backs."""
    default = node.get("default")
    # a way out that ends the process (a declined plan) is not the main path while another goes on
    def ends(flow: etree._Element) -> bool:
        target = nodes.get(flow.get("targetRef"))
        return target is None or _local(target) == "endEvent"

    ahead = sorted((f for f in flows if f.get("targetRef") not in index), key=ends)
    chosen = next((f for f in ahead if f.get("id") == default), ahead[0] if ahead else None)
    for flow in flows:
        target = flow.get("targetRef")
        if target in index and last and index[target] <= last[0]:
            path.send_backs.append(SendBack(last[0], index[target], " ".join((flow.get("name") or "").split())))
    return nodes.get(chosen.get("targetRef")) if chosen is not None else None


# --- Layout ------------------------------------------------------------------------------------
def _height(text: str, width: float, kind: str) -> float:
    size = FONT_PT[kind] * MM_PER_PT
    return diagram.lines_of(text, width - 2 * PAD, size) * size * LINE_HEIGHT + 2 * PAD


def render(bpmn_files: dict[str, str]) -> Diagram:
    """The chart laid out in millimetres: labels (kinds role, step, wait, note) never overlap, and
    each is tall enough for its text. :raise NoDiagram:"""
    path = main_path(bpmn_files)
    steps = path.steps
    heights = [max(12.0, _height(s.name, STEP[1] - STEP[0], s.kind)) for s in steps]
    # runs of consecutive steps done by the same role share one box in the role column
    runs: list[tuple[int, int]] = []
    for i, step in enumerate(steps):
        if runs and steps[runs[-1][0]].role == step.role:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    for first, end in runs:
        role = steps[first].role
        if not role:
            continue
        need = _height(role, ROLE[1] - ROLE[0], "role")
        have = sum(heights[first:end + 1]) + GAP * (end - first)
        if need > have:  # a long role name beside one short step: the steps grow
            for i in range(first, end + 1):
                heights[i] += (need - have) / (end - first + 1)
    tops = []
    y = 0.0
    for h in heights:
        tops.append(y)
        y += h + GAP
    height = y - GAP

    svg: list[str] = []
    labels: list[Label] = []
    for first, end in runs:
        top, bottom = tops[first], tops[end] + heights[end]
        if steps[first].role:
            svg.append(_rect(ROLE[0], top, ROLE[1] - ROLE[0], bottom - top, fill="#f2f2f2"))
            labels.append(Label("role", steps[first].role, ROLE[0], top, ROLE[1] - ROLE[0], bottom - top))
        for i in range(first, end + 1):
            middle = tops[i] + heights[i] / 2
            svg.append(_line([(ROLE[1], middle), (STEP[0], middle)], dashed=True))
    for i, step in enumerate(steps):
        svg.append(_rect(STEP[0], tops[i], STEP[1] - STEP[0], heights[i], rx=3 if step.kind == "step" else 6,
                         dashed=step.kind == "wait"))
        labels.append(Label(step.kind, step.name, STEP[0], tops[i], STEP[1] - STEP[0], heights[i], step.id))
        if i:
            centre = (STEP[0] + STEP[1]) / 2
            svg.append(_line([(centre, tops[i - 1] + heights[i - 1]), (centre, tops[i])], arrow=True))
    _send_backs(path.send_backs, tops, heights, svg, labels)
    document = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:.2f}" width="100%" height="100%" '
        'preserveAspectRatio="xMinYMin meet"><defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="3" markerHeight="3" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{STROKE}"/></marker></defs>' + "".join(svg) + "</svg>"
    )
    return Diagram(WIDTH, height, document, labels)


def _send_backs(backs: list[SendBack], tops: list[float], heights: list[float], svg: list[str],
                labels: list[Label]) -> None:
    """Each send-back leaves its step on the right, runs up a track of its own (tracks are shared by
    send-backs whose spans do not meet) and enters the step it returns to; its name sits in the
    column right of every track, beside the track's middle, pushed down past the name above it."""
    tracks: list[list[tuple[float, float]]] = []
    placed: list[tuple[SendBack, int, float, float]] = []
    for back in sorted(backs, key=lambda b: (b.source - b.target, b.source)):
        leave = tops[back.source] + heights[back.source] * 0.7
        enter = tops[back.target] + heights[back.target] * 0.3
        low, high = min(enter, leave), max(enter, leave)
        track = next((n for n, spans in enumerate(tracks) if all(high < a or low > b for a, b in spans)), None)
        if track is None:
            tracks.append([])
            track = len(tracks) - 1
        tracks[track].append((low - 2, high + 2))
        placed.append((back, track, leave, enter))
    note_x = TRACK_START + TRACK_GAP * len(tracks) + 1
    floor = -math.inf
    for back, track, leave, enter in sorted(placed, key=lambda p: (p[2] + p[3]) / 2):
        x = TRACK_START + TRACK_GAP * (track + 1) - TRACK_GAP / 2
        svg.append(_line([(STEP[1], leave), (x, leave), (x, enter), (STEP[1], enter)], arrow=True))
        if back.name:
            h = _height(back.name, WIDTH - note_x, "note")
            top = max((leave + enter) / 2 - h / 2, floor)
            labels.append(Label("note", back.name, note_x, top, WIDTH - note_x, h))
            floor = top + h + 1


def _rect(x: float, y: float, w: float, h: float, rx: float = 0, fill: str = "#fff", dashed: bool = False) -> str:
    dash = ' stroke-dasharray="2,1.2"' if dashed else ""
    return (f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" rx="{rx:g}" fill="{fill}" '
            f'stroke="{STROKE}" stroke-width="0.4"{dash}/>')


def _line(points: list[tuple[float, float]], arrow: bool = False, dashed: bool = False) -> str:
    coords = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
    extra = (' marker-end="url(#flow-arrow)"' if arrow else "") + (' stroke-dasharray="1,1"' if dashed else "")
    return f'<polyline points="{escape(coords)}" fill="none" stroke="{STROKE}" stroke-width="0.4"{extra}/>'
