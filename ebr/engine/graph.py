"""Graph algorithms over a process's flow graph, all iterative: no procedure is deep enough to exhaust the stack."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping


def reachable(graph: Mapping[str, list[str]], starts: Iterable[str]) -> set[str]:
    """Every node reachable from the starts, the starts included."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for successor in graph.get(queue.popleft(), ()):
            if successor not in seen:
                seen.add(successor)
                queue.append(successor)
    return seen


class _Tarjan:
    """Tarjan's strongly connected components with an explicit stack instead of recursion."""

    def __init__(self, graph: Mapping[str, list[str]]) -> None:
        self.graph = graph
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()
        self.found: list[list[str]] = []
        self.order = {node: position for position, node in enumerate(graph)}

    def visit(self, root: str) -> None:
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                self.index[node] = self.low[node] = len(self.index)
                self.stack.append(node)
                self.on_stack.add(node)
            successors = self.graph.get(node, [])
            if child < len(successors):
                work.append((node, child + 1))
                successor = successors[child]
                if successor not in self.index:
                    work.append((successor, 0))
                elif successor in self.on_stack:
                    self.low[node] = min(self.low[node], self.index[successor])
                continue
            self.finish(node)
            if work:
                parent = work[-1][0]
                self.low[parent] = min(self.low[parent], self.low[node])

    def finish(self, node: str) -> None:
        if self.low[node] != self.index[node]:
            return
        component = []
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.append(member)
            if member == node:
                break
        self.found.append(sorted(component, key=self.order.__getitem__))


def components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components, each in the graph's node order."""
    tarjan = _Tarjan(graph)
    for root in graph:
        if root not in tarjan.index:
            tarjan.visit(root)
    return tarjan.found


def cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """The components that contain a cycle: more than one node, or a node that flows to itself."""
    return [c for c in components(graph) if len(c) > 1 or c[0] in graph.get(c[0], [])]


def longest_path(graph: Mapping[str, list[str]]) -> tuple[int, list[str]]:
    """The number of nodes on the longest path, a loop counted once with all its nodes, and where that path ends."""
    comps = components(graph)
    owner = {node: number for number, comp in enumerate(comps) for node in comp}
    edges: dict[int, set[int]] = {number: set() for number in range(len(comps))}
    for node, successors in graph.items():
        edges[owner[node]].update(owner[s] for s in successors if s in owner and owner[s] != owner[node])
    incoming = {number: 0 for number in edges}
    for targets in edges.values():
        for target in targets:
            incoming[target] += 1
    length = {number: len(comps[number]) for number in edges}
    queue = deque(number for number, count in incoming.items() if count == 0)
    while queue:
        number = queue.popleft()
        for target in edges[number]:
            length[target] = max(length[target], length[number] + len(comps[target]))
            incoming[target] -= 1
            if incoming[target] == 0:
                queue.append(target)
    if not length:
        return 0, []
    best = max(length, key=length.__getitem__)
    return length[best], comps[best]
