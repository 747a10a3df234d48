"""The bundled diagrams are readable: no label sits over a shape, no shapes overlap, every task name fits its box.

Only the diagram interchange (BPMN DI) is checked here; the process itself is checked by test_validation.py.
Each test lists every problem it finds, so one run shows all that needs moving.

How a name is judged to fit (an estimate of how bpmn-js draws it, calibrated against the diagram page):
bpmn-js writes a task's name in 12 px Arial, centred in the box with 7 px padding each side, on lines 14.4 px
apart. An average character of a name in 12 px Arial is about 6 px wide; we allow 7 px so that names with many
wide letters (capitals, "m", "w") still fit. The task-type icon takes the top-left corner (about 20 px high),
so the wrapped lines must fit in the box height less 20 px. An expanded subprocess's name is written the same way,
centred along its top edge, and nothing drawn inside may cover it.

Where a label beside an event, gateway or flow is judged to lie: bpmn-js ignores the width stored for it and wraps
the text at 90 px (about 15 characters of its 11 px font, lines about 13 px apart), centred on the stored bounds;
we take the union of the stored bounds and that estimate, and ask for 3 px of clear space around it. Such a label
may not cover any shape (its own included), another label, a flow, or the edge of a lane or subprocess.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path

import pytest

from rapidreview.config import PROJECT_ROOT

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"

BUNDLED = sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn"))

PIXELS_PER_CHARACTER = 7
LABEL_PADDING = 7  # each side, as bpmn-js pads a name inside its box
LINE_HEIGHT = 14
ICON_ALLOWANCE = 20  # the task-type icon in the top-left corner
EXTERNAL_WIDTH = 90  # bpmn-js wraps the label beside an event, gateway or flow at this width
EXTERNAL_CHARACTERS_PER_LINE = 15
EXTERNAL_LINE_HEIGHT = 13
# A label needs this much space around it, or it seems to touch the line or shape beside it.
LABEL_CLEARANCE = 3

ACTIVITIES = {
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction",
}  # fmt: skip
CONTAINERS = {"participant", "lane"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def overlaps(self, other: Box) -> bool:
        """True when the two boxes share some area (touching edges do not count)."""
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def widened(self, margin: float) -> Box:
        return Box(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)

    def __str__(self) -> str:
        return f"({self.x:g},{self.y:g} {self.width:g}x{self.height:g})"


@dataclass(frozen=True)
class Shape:
    element: str
    kind: str  # the BPMN element's tag, e.g. "userTask"
    name: str
    box: Box
    label: Box | None
    expanded: bool
    parent: str | None  # the subprocess it is drawn inside, if any
    lane: str | None
    attached_to: str | None  # the host of a boundary event

    @property
    def is_container(self) -> bool:
        """Pools, lanes and expanded subprocesses hold other shapes; the rest must stand apart."""
        return self.kind in CONTAINERS or self.expanded


@dataclass(frozen=True)
class Diagram:
    path: Path
    shapes: dict[str, Shape]
    edge_labels: dict[str, Box]
    edges: dict[str, list[tuple[float, float]]]  # each sequence flow's waypoints
    parents: dict[str, str | None]  # the subprocess each element (shape or flow) belongs to
    names: dict[str, str]
    ends: dict[str, tuple[str, str]]  # each sequence flow's source and target

    def inside(self, element: str, container: str) -> bool:
        """Whether element is drawn within the subprocess container, directly or further down."""
        parent = self.parents.get(element)
        while parent is not None:
            if parent == container:
                return True
            parent = self.parents.get(parent)
        return False


def bounds(node: ET.Element | None) -> Box | None:
    if node is None:
        return None
    return Box(*(float(node.get(key, "0")) for key in ("x", "y", "width", "height")))


def read_diagram(path: Path) -> Diagram:
    root = ET.parse(path).getroot()
    kinds: dict[str, str] = {}
    names: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    lanes: dict[str, str] = {}
    attached: dict[str, str] = {}
    ends: dict[str, tuple[str, str]] = {}

    def walk(node: ET.Element, subprocess: str | None) -> None:
        for child in node:
            if not child.tag.startswith(BPMN) or child.get("id") is None:
                continue
            element = child.get("id", "")
            kind = child.tag.removeprefix(BPMN)
            kinds[element], names[element], parents[element] = kind, child.get("name", ""), subprocess
            if child.get("attachedToRef"):
                attached[element] = child.get("attachedToRef", "")
            if kind == "sequenceFlow":
                ends[element] = (child.get("sourceRef", ""), child.get("targetRef", ""))
            if kind == "lane":
                for ref in child.iter(f"{BPMN}flowNodeRef"):
                    lanes[(ref.text or "").strip()] = element
            walk(child, element if kind in {"subProcess", "transaction"} else subprocess)

    walk(root, None)
    shapes: dict[str, Shape] = {}
    for node in root.iter(f"{BPMNDI}BPMNShape"):
        element = node.get("bpmnElement", "")
        box = bounds(node.find(f"{DC}Bounds"))
        assert box is not None, f"{path.name}: {element} has no bounds"
        shapes[element] = Shape(
            element=element,
            kind=kinds.get(element, "?"),
            name=names.get(element, ""),
            box=box,
            label=bounds(node.find(f"{BPMNDI}BPMNLabel/{DC}Bounds")),
            expanded=node.get("isExpanded") == "true",
            parent=parents.get(element),
            lane=lanes.get(element),
            attached_to=attached.get(element),
        )
    edge_labels: dict[str, Box] = {}
    edges: dict[str, list[tuple[float, float]]] = {}
    for node in root.iter(f"{BPMNDI}BPMNEdge"):
        element = node.get("bpmnElement", "")
        edges[element] = [
            (float(point.get("x", "0")), float(point.get("y", "0"))) for point in node.iter(f"{DI}waypoint")
        ]
        label = bounds(node.find(f"{BPMNDI}BPMNLabel/{DC}Bounds"))
        if label is not None and names.get(element):
            edge_labels[element] = label
    return Diagram(path, shapes, edge_labels, edges, parents, names, ends)


def drawn_label(name: str, bounds: Box) -> Box:
    """Where a label ends up: its bounds as stored, widened to how bpmn-js writes it, centred on those bounds and
    wrapped at 90 px (about 15 characters of its 11 px font) on lines about 13 px apart."""
    lines = wrapped_lines(name, EXTERNAL_CHARACTERS_PER_LINE)
    width = EXTERNAL_WIDTH if lines > 1 else len(name) * EXTERNAL_WIDTH / EXTERNAL_CHARACTERS_PER_LINE
    centre = bounds.x + bounds.width / 2
    x, right = min(bounds.x, centre - width / 2), max(bounds.right, centre + width / 2)
    return Box(x, bounds.y, right - x, max(bounds.height, lines * EXTERNAL_LINE_HEIGHT))


def drawn_labels(diagram: Diagram) -> dict[str, Box]:
    """The external labels bpmn-js draws: those of named events, gateways and sequence flows."""
    labels = {element: shape.label for element, shape in diagram.shapes.items() if shape.label and shape.name}
    labels |= diagram.edge_labels
    return {element: drawn_label(diagram.names[element], label) for element, label in labels.items()}


def crosses(waypoints: list[tuple[float, float]], box: Box) -> bool:
    """Whether the line through the waypoints passes through the box (grazing its edge does not count)."""
    inner = Box(box.x + 1, box.y + 1, box.width - 2, box.height - 2)
    for (x1, y1), (x2, y2) in pairwise(waypoints):
        start, end = 0.0, 1.0  # Liang-Barsky clipping of the segment against the box
        for step, distance in (
            (x1 - x2, x1 - inner.x), (x2 - x1, inner.right - x1), (y1 - y2, y1 - inner.y), (y2 - y1, inner.bottom - y1),
        ):  # fmt: skip
            if step == 0:
                if distance < 0:
                    break
                continue
            ratio = distance / step
            if step < 0:
                start = max(start, ratio)
            else:
                end = min(end, ratio)
        else:
            if start <= end:
                return True
    return False


def label_problems(diagram: Diagram) -> list[str]:
    problems = []
    labels = drawn_labels(diagram)
    for element, label in labels.items():
        room = label.widened(LABEL_CLEARANCE)
        for shape in diagram.shapes.values():
            if not room.overlaps(shape.box):
                continue
            if shape.kind in CONTAINERS and shape.box.contains(room):
                continue  # a label lies within its pool and lane
            if shape.expanded and shape.box.contains(room) and diagram.inside(element, shape.element):
                continue  # the label of a shape or flow drawn inside the subprocess
            problems.append(f"the label of {element} {label} lies over {shape.element} {shape.box}")
        for flow, waypoints in diagram.edges.items():
            if crosses(waypoints, label):
                problems.append(f"the label of {element} {label} is crossed by the flow {flow}")
    for (first, one), (second, other) in combinations(labels.items(), 2):
        if one.widened(LABEL_CLEARANCE).overlaps(other):
            problems.append(f"the labels of {first} {one} and {second} {other} overlap")
    return problems


def shape_problems(diagram: Diagram) -> list[str]:
    problems = []
    shapes = [shape for shape in diagram.shapes.values() if shape.kind not in CONTAINERS]
    for one, other in combinations(shapes, 2):
        if not one.box.overlaps(other.box):
            continue
        if one.attached_to == other.element or other.attached_to == one.element:
            continue  # a boundary event sits on its host's edge
        if other.expanded and diagram.inside(one.element, other.element):
            continue
        if one.expanded and diagram.inside(other.element, one.element):
            continue
        problems.append(f"{one.element} {one.box} and {other.element} {other.box} overlap")
    for shape in shapes:
        if shape.parent and shape.attached_to is None:
            host = diagram.shapes[shape.parent]
            if host.expanded and not host.box.contains(shape.box):
                problems.append(
                    f"{shape.element} {shape.box} sticks out of its subprocess {host.element} {host.box}"
                )
        # A boundary event is drawn on its host's edge, in whichever lane the host lies; the rest keep to their lane.
        if shape.lane and shape.lane in diagram.shapes and shape.parent is None and shape.attached_to is None:
            lane = diagram.shapes[shape.lane]
            if not lane.box.contains(shape.box):
                problems.append(
                    f"{shape.element} {shape.box} sticks out of its lane {lane.element} {lane.box}"
                )
    return problems


def flow_problems(diagram: Diagram) -> list[str]:
    """A sequence flow runs from its source to its target without passing through any other shape."""
    problems = []
    for flow, waypoints in diagram.edges.items():
        source, target = diagram.ends.get(flow, ("", ""))
        ends = {source, target} | {
            diagram.shapes[end].attached_to for end in (source, target) if end in diagram.shapes
        }
        for shape in diagram.shapes.values():
            if shape.element not in ends and not shape.is_container and crosses(waypoints, shape.box):
                problems.append(f"the flow {flow} passes through {shape.element} {shape.box}")
    return problems


def wrapped_lines(name: str, characters_per_line: int) -> int:
    """How many lines the name takes when wrapped at word boundaries, a too-long word broken across lines."""
    lines, current = 0, 0
    for word in name.split():
        if current and current + 1 + len(word) <= characters_per_line:
            current += 1 + len(word)
            continue
        lines += 1 if current else 0
        whole, current = divmod(len(word), characters_per_line)
        lines += whole if current else whole - 1
        current = current or characters_per_line
    return lines + (1 if current else 0)


def name_problems(diagram: Diagram) -> list[str]:
    problems = []
    for shape in diagram.shapes.values():
        if shape.kind not in ACTIVITIES or shape.expanded or not shape.name:
            continue
        characters = int((shape.box.width - 2 * LABEL_PADDING) // PIXELS_PER_CHARACTER)
        lines = wrapped_lines(shape.name, characters)
        if lines * LINE_HEIGHT > shape.box.height - ICON_ALLOWANCE:
            problems.append(
                f"{shape.element} {shape.box}: {shape.name!r} takes {lines} lines of {characters} characters"
            )
    return problems


def subprocess_title_problems(diagram: Diagram) -> list[str]:
    """An expanded subprocess's name is written centred across its top; what is drawn inside must leave it clear."""
    problems = []
    for shape in diagram.shapes.values():
        if not shape.expanded or not shape.name:
            continue
        characters = int((shape.box.width - 2 * LABEL_PADDING) // PIXELS_PER_CHARACTER)
        lines = wrapped_lines(shape.name, characters)
        width = min(len(shape.name), characters) * PIXELS_PER_CHARACTER
        title = Box(
            shape.box.x + (shape.box.width - width) / 2,
            shape.box.y + LABEL_PADDING,
            width,
            lines * LINE_HEIGHT,
        )
        for other in diagram.shapes.values():
            if not diagram.inside(other.element, shape.element):
                continue
            for part, box in (("", other.box), (" label", other.label if other.name else None)):
                if box is not None and box.overlaps(title):
                    problems.append(
                        f"{other.element}{part} {box} covers the title of {shape.element} {title}"
                    )
        for flow, waypoints in diagram.edges.items():
            if diagram.inside(flow, shape.element) and crosses(waypoints, title):
                problems.append(f"the flow {flow} crosses the title of {shape.element} {title}")
    return problems


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_no_label_lies_over_a_shape_or_another_label(path: Path) -> None:
    problems = label_problems(read_diagram(path))
    assert not problems, f"{len(problems)} label problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_no_two_shapes_overlap(path: Path) -> None:
    problems = shape_problems(read_diagram(path))
    assert not problems, f"{len(problems)} shape problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_no_flow_passes_through_a_shape(path: Path) -> None:
    problems = flow_problems(read_diagram(path))
    assert not problems, f"{len(problems)} flow problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_every_task_name_fits_its_box(path: Path) -> None:
    problems = name_problems(read_diagram(path)) + subprocess_title_problems(read_diagram(path))
    assert not problems, f"{len(problems)} names do not fit:\n" + "\n".join(problems)


def test_there_are_bundled_diagrams_to_check() -> None:
    assert {path.name for path in BUNDLED} >= {"rapid_review.bpmn", "information_sharing.bpmn"}


@pytest.mark.parametrize(
    ("name", "characters", "lines"),
    [
        ("Send the reminder", 12, 2),
        ("Quality assure", 14, 1),
        ("Abcdefghijklmnopqrstuvwxyz", 12, 3),
        ("", 12, 0),
    ],
)
def test_names_wrap_at_word_boundaries(name: str, characters: int, lines: int) -> None:
    assert wrapped_lines(name, characters) == lines


def test_the_checks_find_a_label_over_a_task() -> None:
    task = Shape("task", "userTask", "Do", Box(0, 0, 100, 80), None, False, None, None, None)
    event = Shape(
        "event", "endEvent", "Done", Box(200, 22, 36, 36), Box(50, 60, 100, 14), False, None, None, None
    )
    diagram = Diagram(
        Path("made-up.bpmn"), {"task": task, "event": event}, {}, {}, {}, {"task": "Do", "event": "Done"}, {}
    )
    assert label_problems(diagram) == ["the label of event (50,60 100x14) lies over task (0,0 100x80)"]
