"""What the facade needs to know of a procedure: the names its code reads, which steps can recur, the order.

Task data is SpiffWorkflow's working memory, copied from task to task on every step; the record of every value is
the app's. So a value enters task data only under a name that a gateway condition, a script, a timer, a service
parameter, an error payload or an instruction template of the bundle reads: a routing variable. Every other field
would only make each later step slower (bench/README.md shows by how much).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ebr.domain.calculations import ExpressionRefused, Kind, parse
from ebr.domain.errors import InvalidInput
from ebr.engine import graph, translate
from ebr.engine.documents import Model, Process, bpmn, local
from ebr.engine.scripting import source_text


@dataclass(frozen=True)
class Routing:
    """The names the procedure reads, the steps that can be ready more than once, the document order of nodes."""

    names: frozenset[str]
    order: Mapping[str, int]
    repeatable: frozenset[str] = frozenset()  # on a loop, or in a process called twice or from a loop

    def keep(self, values: Mapping[str, object]) -> dict[str, object]:
        """The values the engine needs, as task data holds them: Decimal (ints become one), bool, text or None."""
        kept: dict[str, object] = {}
        for name, value in values.items():
            if name not in self.names:
                continue
            exact = Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value
            if not isinstance(exact, Decimal | bool | str | type(None)):
                raise InvalidInput(f"The value of '{name}' must be a decimal, a boolean or text, not {value!r}.")
            kept[name] = exact
        return kept


def _reads(source: str | None, kind: Kind = "expression") -> frozenset[str]:
    if source is None or not source.strip():
        return frozenset()
    with contextlib.suppress(ExpressionRefused):  # the linter refuses the bundle; nothing to route on here
        return parse(source_text(source), kind=kind).names
    return frozenset()


def _template_reads(template: str) -> frozenset[str]:
    if not template.strip():
        return frozenset()
    with contextlib.suppress(TemplateSyntaxError):
        return frozenset(meta.find_undeclared_variables(ImmutableSandboxedEnvironment().parse(template)))
    return frozenset()


def _sources(process: Process) -> Iterator[tuple[str | None, Kind]]:
    """Every piece of code of one process, with its kind."""
    for flow in process.flows:
        yield flow.condition, "expression"
    for node in process.nodes.values():
        for script in bpmn(node.element, "script"):
            yield script.text, "script"
        for definition in bpmn(node.element, "timerEventDefinition"):
            for child in definition:
                if local(child.tag).startswith("time"):
                    yield child.text, "expression"
        for parameter in translate.extensions(node.element).parameters.values():
            yield parameter, "expression"


def routing(model: Model, main: str) -> Routing:
    """The routing variables of the main process and every process it calls, and the document order of nodes."""
    names: set[str] = set()
    processes = model.used(main)
    for process in processes:
        for source, kind in _sources(process):
            names |= _reads(source, kind)
        for node in process.nodes.values():
            names |= _template_reads(translate.extensions(node.element).instructions)
    for root in model.roots.values():
        for error in bpmn(root, "error"):
            names |= _reads(translate.extensions(error).payload)
    order = {node.id: node.order for process in processes for node in process.nodes.values()}
    return Routing(frozenset(names), order, _repeatable(processes))


def _repeatable(processes: list[Process]) -> frozenset[str]:
    """Nodes that can run more than once per batch: those on a cycle, and all of a process called more than once,
    from a cycle, or from a process that is itself repeatable. Every other step's pass number is always 1."""
    looped = {node for process in processes for cycle in graph.cycles(process.successors()) for node in cycle}
    calls = [(process, node) for process in processes for node in process.nodes.values() if node.kind == "callActivity"]
    called = Counter(node.element.get("calledElement", "") for _, node in calls)
    again = {process_id for process_id, count in called.items() if count > 1}
    grown = True
    while grown:
        before = len(again)
        again |= {
            node.element.get("calledElement", "") for process, node in calls if node.id in looped or process.id in again
        }
        grown = len(again) > before
    return frozenset(
        looped | {node.id for process in processes if process.id in again for node in process.nodes.values()}
    )
