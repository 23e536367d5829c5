"""Lint rules on the shape of each process: start events, flows, gateways, reachability, loops and path length."""

from __future__ import annotations

from collections.abc import Iterator

from ebr.app.ports import LintProblem
from ebr.domain.calculations import ExpressionRefused, parse
from ebr.engine import graph
from ebr.engine.documents import Node, Process, text
from ebr.engine.scripting import source_text

MAX_PATH = 400  # SpiffWorkflow's parser recurses along flows and fails near 489 (ENGINE-NOTES finding 5)
_SHOWN = 6  # loop members named in a message


def check(process: Process) -> list[LintProblem]:
    """Every shape problem of one process."""
    return [
        *_starts(process),
        *_flows(process),
        *_gateways(process),
        *_unreachable(process),
        *_loops(process),
        *_path_length(process),
    ]


def _starts(process: Process) -> Iterator[LintProblem]:
    count = len(process.starts())
    if count != 1:
        what = "no start event" if count == 0 else f"{count} start events"
        yield LintProblem(process.id, f"the process has {what}: it needs exactly one")


def _flows(process: Process) -> Iterator[LintProblem]:
    for flow in process.flows:
        source = process.nodes.get(flow.source)
        if flow.condition is not None and source is not None and source.kind != "exclusiveGateway":
            yield LintProblem(flow.id, "a condition is only evaluated on a flow out of an exclusive gateway")
    for node in process.nodes.values():
        if not node.kind.endswith("Gateway") and len(process.outgoing(node.id)) > 1:
            yield LintProblem(node.id, "more than one outgoing flow: branch with a gateway")
        if node.kind == "boundaryEvent" and node.attached_to not in process.nodes:
            yield LintProblem(node.id, f"the boundary event is attached to '{node.attached_to}', not an activity here")


def _gateways(process: Process) -> Iterator[LintProblem]:
    for node in process.nodes.values():
        if node.kind == "exclusiveGateway":
            yield from _exclusive(process, node)


def _exclusive(process: Process, node: Node) -> Iterator[LintProblem]:
    outgoing = process.outgoing(node.id)
    ids = [flow.id for flow in outgoing]
    if not node.default_flow:
        if len(outgoing) > 1 or any(flow.condition is not None for flow in outgoing):
            yield LintProblem(node.id, "an exclusive gateway needs a default flow (the deviation or 'otherwise' route)")
    elif node.default_flow not in ids:
        yield LintProblem(node.id, f"the default flow '{node.default_flow}' does not leave this gateway")
    for flow in outgoing:
        if flow.id == node.default_flow and flow.condition is not None:
            yield LintProblem(flow.id, "the default flow's condition is never evaluated: remove it")
        elif flow.id != node.default_flow and not (flow.condition or "").strip():
            yield LintProblem(
                flow.id, f"a flow out of exclusive gateway '{node.id}' needs a condition or must be its default"
            )


def _unreachable(process: Process) -> Iterator[LintProblem]:
    seen = graph.reachable(process.successors(), process.starts())
    for node_id in process.nodes:
        if node_id not in seen:
            yield LintProblem(node_id, "not reachable from the start event")


def _counters(process: Process, members: list[str]) -> set[str]:
    """Names a script task in the loop assigns from their own previous value, e.g. rework_count = rework_count + 1."""
    found: set[str] = set()
    for node_id in members:
        node = process.nodes[node_id]
        source = text(node.element, "script") if node.kind == "scriptTask" else None
        if not source:
            continue
        try:
            script = parse(source_text(source), kind="script")
        except ExpressionRefused:
            continue
        found |= set(script.assigns) & script.names
    return found


def _tests_counter(process: Process, members: list[str], counters: set[str]) -> bool:
    for node_id in members:
        node = process.nodes[node_id]
        if node.kind != "exclusiveGateway":
            continue
        for flow in process.outgoing(node_id):
            if flow.id == node.default_flow or not flow.condition:
                continue
            try:
                names = parse(source_text(flow.condition)).names
            except ExpressionRefused:
                continue
            if names & counters:
                return True
    return False


def _loops(process: Process) -> Iterator[LintProblem]:
    for members in graph.cycles(process.successors()):
        if _tests_counter(process, members, _counters(process, members)):
            continue
        gateways = [m for m in members if process.nodes[m].kind == "exclusiveGateway"]
        shown = ", ".join(members[:_SHOWN]) + (", …" if len(members) > _SHOWN else "")
        yield LintProblem(
            (gateways or members)[0],
            f"unbounded loop through {shown}: a gateway in the loop must test a counter that a script task in the "
            "loop increments (e.g. rework_count = rework_count + 1, then rework_count >= 3)",
        )


def _path_length(process: Process) -> Iterator[LintProblem]:
    length, _ = graph.longest_path(process.successors())
    if length > MAX_PATH:
        yield LintProblem(
            process.id,
            f"path too long: split into call activities ({length} elements in a row; the limit is {MAX_PATH})",
        )
