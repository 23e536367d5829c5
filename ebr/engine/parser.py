"""A bundle's BPMN files → our document model and SpiffWorkflow specs, cached by the bundle's content hash.

Every *.bpmn file is read from the bundle's bytes (never from disk) by the safe loader in `documents`; SpiffWorkflow
receives the already parsed, DTD-free trees, so no XML of ours ever reaches its own lxml call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from ebr.app.ports import LintProblem
from ebr.domain.procedure import ProcedureBundle
from ebr.engine import documents
from ebr.engine.documents import Model
from ebr.engine.scripting import EbrServiceTask

PATH_TOO_LONG = "path too long: split into call activities"


class EbrParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser with our task classes; the class dict is copied, never updated in place."""

    OVERRIDE_PARSER_CLASSES = dict(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")] = (ServiceTaskParser, EbrServiceTask)


@dataclass(frozen=True)
class ParsedBundle:
    """A bundle as the engine sees it; spec is None when problems prevent running it."""

    model: Model | None
    spec: Any = None
    subprocess_specs: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[LintProblem, ...] = ()


def parse_bundle(bundle: ProcedureBundle) -> ParsedBundle:
    """Read, check and parse every BPMN file of the bundle; problems instead of exceptions."""
    paths = sorted(path for path in bundle.files if path.endswith(".bpmn"))
    if not paths:
        return ParsedBundle(None, problems=(LintProblem(bundle.procedure_id, "the bundle has no BPMN file"),))
    roots: dict[str, Any] = {}
    problems: list[LintProblem] = []
    for path in paths:
        root, refused = documents.load(path, bundle.files[path])
        problems.extend(refused)
        if root is not None:
            roots[path] = root
    if problems:
        return ParsedBundle(None, problems=tuple(problems))
    model, problems = documents.build(roots)
    problems.extend(_structure(model, bundle.procedure_id))
    if problems:
        return ParsedBundle(model, problems=tuple(problems))
    return _spiff(model, bundle.procedure_id)


def _structure(model: Model, main: str) -> list[LintProblem]:
    """What SpiffWorkflow would fail on without naming the element well: missing processes, dangling flows."""
    if main not in model.processes:
        found = ", ".join(sorted(model.processes)) or "none"
        return [LintProblem(main, f"no process with this id in the bundle (found: {found})")]
    problems = [problem for process in model.used(main) for problem in documents.dangling_flows(process)]
    for node in model.all_nodes(main):
        if node.kind == "callActivity" and node.element.get("calledElement", "") not in model.processes:
            called = node.element.get("calledElement", "")
            problems.append(LintProblem(node.id, f"calls process '{called}', which is not in the bundle"))
    return problems


def _spiff(model: Model, main: str) -> ParsedBundle:
    parser = EbrParser(validator=VALIDATOR)
    try:
        for path, root in model.roots.items():
            parser.add_bpmn_xml(root, filename=path)
        spec = parser.get_spec(main)
        subprocess_specs = parser.get_subprocess_specs(main)
    except ValidationException as exc:
        return ParsedBundle(model, problems=(_problem(exc, main),))
    except RecursionError:
        return ParsedBundle(model, problems=(LintProblem(main, PATH_TOO_LONG),))
    return ParsedBundle(model, spec, subprocess_specs)


def _problem(exc: ValidationException, main: str) -> LintProblem:
    message = (str(exc.args[0]) if exc.args else str(exc)).replace(f"{{{documents.BPMN_NS}}}", "bpmn:")
    if "RecursionError" in message:
        return LintProblem(exc.id or main, PATH_TOO_LONG)
    if exc.id:
        return LintProblem(exc.id, message)
    line = f" (line {exc.line_number})" if exc.line_number else ""
    return LintProblem(exc.file_name or main, f"not valid BPMN{line}: {message}")


class BundleParser:
    """Parses bundles once: results are kept by content hash, the most recently used first to stay."""

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, str], ParsedBundle] = OrderedDict()

    def parse(self, bundle: ProcedureBundle) -> ParsedBundle:
        """The parsed bundle, from the cache when this exact content was parsed before."""
        key = (bundle.content_hash, bundle.procedure_id)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        parsed = parse_bundle(bundle)
        self._cache[key] = parsed
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return parsed
