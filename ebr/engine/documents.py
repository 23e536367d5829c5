"""BPMN files of a bundle read safely into a small model: processes, their nodes in document order, and flows.

The model is ours, built without SpiffWorkflow, so the linter can name problems even in a file the engine would
refuse to load. XML is parsed without DTDs, entities or network access; a file that declares any is refused whole.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ebr.app.ports import LintProblem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_FILE_BYTES = 2_000_000
DECLARATION_REFUSED = "a DTD or entity declaration is not allowed (XML bombs, external entities)"

# Elements of a process that are neither flow nodes nor flows, and carry nothing the engine runs.
_NEUTRAL = frozenset({"laneSet", "textAnnotation", "association", "group", "documentation", "extensionElements"})
FLOW_NODE_KINDS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "complexGateway",
        "eventBasedGateway",
    }
)
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# The same declarations as UTF-16 and UTF-32 bytes, which the ASCII pattern cannot see.
_WIDE_DECLARATIONS = tuple(
    keyword.encode(codec)
    for keyword in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def _parser() -> etree.XMLParser:
    """No DTD loading, no entity expansion, no network, no huge trees; comments and PIs are dropped."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def local(tag: object) -> str:
    """The local name of an element tag ('' for comments and other non-elements)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def load(path: str, data: bytes) -> tuple[Any | None, list[LintProblem]]:
    """The root element of one BPMN file, or the reasons it is refused."""
    if len(data) > MAX_FILE_BYTES:
        return None, [LintProblem(path, f"the file is larger than {MAX_FILE_BYTES} bytes")]
    if _DECLARATION.search(data) or any(declaration in data for declaration in _WIDE_DECLARATIONS):
        return None, [LintProblem(path, DECLARATION_REFUSED)]
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return None, [LintProblem(path, f"not XML: {exc.msg}")]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [LintProblem(path, DECLARATION_REFUSED)]
    if root.tag != f"{{{BPMN_NS}}}definitions":
        return None, [LintProblem(path, f"not BPMN: the root element is <{local(root.tag)}>, not bpmn:definitions")]
    return root, []


def bpmn(element: Any, path: str) -> list[Any]:
    """Children of element matching a path of BPMN local names, e.g. 'timerEventDefinition/timeDuration'."""
    found = [element]
    for step in path.split("/"):
        found = [child for parent in found for child in parent if child.tag == f"{{{BPMN_NS}}}{step}"]
    return found


def text(element: Any, path: str) -> str | None:
    """The text of the first BPMN child at path; None when absent, '' when empty."""
    children = bpmn(element, path)
    return (children[0].text or "") if children else None


@dataclass(frozen=True)
class Node:
    """A flow node: an event, activity or gateway."""

    id: str
    kind: str
    name: str
    process_id: str
    path: str
    order: int
    element: Any = field(compare=False, repr=False)
    attached_to: str = ""
    default_flow: str = ""
    events: tuple[str, ...] = ()

    @property
    def loop(self) -> str:
        """The loop marker of an activity ('' for none)."""
        found = bpmn(self.element, "standardLoopCharacteristics") + bpmn(
            self.element, "multiInstanceLoopCharacteristics"
        )
        return local(found[0].tag) if found else ""


@dataclass(frozen=True)
class Flow:
    """A sequence flow and its condition (None when unconditional)."""

    id: str
    source: str
    target: str
    condition: str | None


@dataclass
class Process:
    """One bpmn:process: its flow nodes in document order, its flows, and its other elements."""

    id: str
    name: str
    path: str
    executable: bool
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    others: list[tuple[str, str]] = field(default_factory=list)  # (id, kind) of elements that are neither

    def outgoing(self, node_id: str) -> list[Flow]:
        """Flows leaving this node."""
        return [flow for flow in self.flows if flow.source == node_id]

    def successors(self) -> dict[str, list[str]]:
        """For each node, the nodes it can pass control to: flow targets and attached boundary events."""
        graph: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for flow in self.flows:
            if flow.source in graph and flow.target in self.nodes:
                graph[flow.source].append(flow.target)
        for node in self.nodes.values():
            if node.attached_to in graph:
                graph[node.attached_to].append(node.id)
        return graph

    def starts(self) -> list[str]:
        """The start events."""
        return [node.id for node in self.nodes.values() if node.kind == "startEvent"]


@dataclass
class Model:
    """Every process of a bundle's BPMN files, with the parsed roots kept for the engine."""

    roots: dict[str, Any]
    processes: dict[str, Process]

    def node(self, node_id: str) -> Node | None:
        """A flow node by id, in any process."""
        for process in self.processes.values():
            if node_id in process.nodes:
                return process.nodes[node_id]
        return None

    def used(self, main: str) -> list[Process]:
        """The main process and every process it calls, directly or not, in order of first call."""
        order: list[str] = []
        pending = [main]
        while pending:
            process_id = pending.pop(0)
            if process_id in order or process_id not in self.processes:
                continue
            order.append(process_id)
            pending.extend(called(self.processes[process_id]))
        return [self.processes[process_id] for process_id in order]

    def all_nodes(self, main: str) -> Iterator[Node]:
        """The nodes of the used processes."""
        for process in self.used(main):
            yield from process.nodes.values()


def called(process: Process) -> list[str]:
    """Process ids named by the process's call activities, in document order."""
    return [node.element.get("calledElement", "") for node in process.nodes.values() if node.kind == "callActivity"]


def build(roots: Mapping[str, Any]) -> tuple[Model, list[LintProblem]]:
    """The model of these files (path → root element), and duplicate or missing ids."""
    problems: list[LintProblem] = []
    processes: dict[str, Process] = {}
    counter = itertools.count()
    for path, root in roots.items():
        problems.extend(_unique_in_file(path, root))
        for element in bpmn(root, "process"):
            process = _process(path, element, counter)
            if process.id in processes:
                problems.append(LintProblem(process.id, f"the process id is used in two files ({path})"))
                continue
            processes[process.id] = process
    problems.extend(_unique_across(processes))
    return Model(dict(roots), processes), problems


def dangling_flows(process: Process) -> list[LintProblem]:
    """Flows whose source or target is not a flow node of the process."""
    return [
        LintProblem(flow.id, f"the flow connects '{end}', which is not an event, activity or gateway of this process")
        for flow in process.flows
        for end in dict.fromkeys((flow.source, flow.target))
        if end not in process.nodes
    ]


def _unique_in_file(path: str, root: Any) -> list[LintProblem]:
    seen: set[str] = set()
    problems = []
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id is None:
            continue
        if element_id in seen:
            problems.append(LintProblem(element_id, f"the id is used twice in {path}"))
        seen.add(element_id)
    return problems


def _unique_across(processes: Mapping[str, Process]) -> list[LintProblem]:
    owner: dict[str, str] = {}
    problems = []
    for process in processes.values():
        ids = [process.id, *process.nodes, *(flow.id for flow in process.flows)]
        for element_id in ids:
            if owner.get(element_id, process.id) != process.id:
                problems.append(
                    LintProblem(element_id, f"the id is used in processes '{owner[element_id]}' and '{process.id}'")
                )
            owner.setdefault(element_id, process.id)
    return problems


def _process(path: str, element: Any, counter: Iterator[int]) -> Process:
    process = Process(
        element.get("id", ""), element.get("name", ""), path, element.get("isExecutable", "true") != "false"
    )
    for child in element:
        kind = local(child.tag)
        if kind in FLOW_NODE_KINDS:
            node = _node(process, path, child, kind, next(counter))
            process.nodes.setdefault(node.id, node)
        elif kind == "sequenceFlow":
            condition = text(child, "conditionExpression")
            process.flows.append(
                Flow(child.get("id", ""), child.get("sourceRef", ""), child.get("targetRef", ""), condition)
            )
        elif kind and kind not in _NEUTRAL:
            process.others.append((child.get("id", "") or kind, kind))
    return process


def _node(process: Process, path: str, element: Any, kind: str, order: int) -> Node:
    events = tuple(local(child.tag) for child in element if local(child.tag).endswith("EventDefinition"))
    return Node(
        id=element.get("id", ""),
        kind=kind,
        name=element.get("name", "") or "",
        process_id=process.id,
        path=path,
        order=order,
        element=element,
        attached_to=element.get("attachedToRef", "") if kind == "boundaryEvent" else "",
        default_flow=element.get("default", "") or "",
        events=events,
    )
