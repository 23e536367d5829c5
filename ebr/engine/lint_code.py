"""Lint rules on the code of a procedure: conditions, scripts, timers, service parameters, error payloads, form
expressions (calculated fields, yield, reconciliation) and instruction templates; and the ISO 8601 durations of
timers and hold times."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ebr.app.ports import LintProblem
from ebr.domain.calculations import ExpressionRefused, parse
from ebr.domain.errors import DomainError
from ebr.domain.steps import FormDefinition, StepDefinition
from ebr.engine import translate
from ebr.engine.documents import Model, Node, Process, bpmn, local, text
from ebr.engine.scripting import source_text

_DURATION = re.compile(
    r"P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?"
)
_SECONDS = {"Y": 365 * 86400, "M": 30 * 86400, "W": 7 * 86400, "D": 86400, "h": 3600, "m": 60, "s": 1}


def duration_seconds(value: str) -> Decimal | None:
    """Approximate seconds of an ISO 8601 duration (a year 365 days, a month 30), or None if it is not one."""
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        return None
    parts = {key: found for key, found in match.groupdict().items() if found is not None}
    time_part = value.strip().partition("T")[2]
    if not parts or ("T" in value and not time_part) or ("W" in parts and len(parts) > 1):
        return None
    return sum((Decimal(number.replace(",", ".")) * _SECONDS[key] for key, number in parts.items()), Decimal(0))


def known_variables(model: Model, processes: Iterable[Process], forms: Mapping[str, FormDefinition]) -> set[str]:
    """Names an expression may read: every field of the given forms, names scripts assign, error payload targets."""
    known = {f.id for form in forms.values() for f in form.fields}
    for process in processes:
        for node in process.nodes.values():
            source = text(node.element, "script") if node.kind == "scriptTask" else None
            with contextlib.suppress(ExpressionRefused):
                known |= set(parse(source_text(source), kind="script").assigns) if source else set()
            variable = translate.extensions(node.element).variable
            known |= {variable.strip()} if variable else set()
    for root in model.roots.values():
        for error in bpmn(root, "error"):
            variable = translate.extensions(error).variable
            known |= {variable.strip()} if variable else set()
    return known


def expression_problem(source: str | None, kind: str, known: set[str]) -> str | None:
    """Why this code cannot be accepted: refused by the evaluator, or naming an unknown variable."""
    if source is None or not source.strip():
        return "there is no code"
    try:
        parsed = parse(source_text(source), kind="script" if kind == "script" else "expression")
    except ExpressionRefused as exc:
        return f"refused: {exc}"
    unknown = sorted(parsed.names - known)
    if unknown:
        return "names unknown variable " + ", ".join(f"'{name}'" for name in unknown)
    return None


class CodeLinter:
    """Checks every piece of code of the used processes against the known variables."""

    def __init__(self, model: Model, processes: list[Process], forms: Mapping[str, FormDefinition]) -> None:
        self.model = model
        self.processes = processes
        self.forms = forms
        self.known = known_variables(model, processes, forms)
        self.templates = ImmutableSandboxedEnvironment(autoescape=True)

    def check(self, steps: Mapping[str, StepDefinition]) -> list[LintProblem]:
        """Every code problem, in document order per kind."""
        return [*self._conditions(), *self._nodes(), *self._payloads(), *self._forms(steps), *self._templates(steps)]

    def _code(self, element_id: str, what: str, source: str | None, kind: str = "expression") -> Iterator[LintProblem]:
        problem = expression_problem(source, kind, self.known)
        if problem:
            yield LintProblem(element_id, f"{what} {problem}")

    def _conditions(self) -> Iterator[LintProblem]:
        for process in self.processes:
            for flow in process.flows:
                if flow.condition is not None and flow.condition.strip():
                    yield from self._code(flow.id, "the condition", flow.condition)

    def _nodes(self) -> Iterator[LintProblem]:
        for process in self.processes:
            for node in process.nodes.values():
                if node.kind == "scriptTask":
                    yield from self._code(node.id, "the script", text(node.element, "script"), "script")
                if "timerEventDefinition" in node.events:
                    yield from self._timer(node)
                for name, source in translate.extensions(node.element).parameters.items():
                    yield from self._code(node.id, f"service parameter '{name}'", source)

    def _timer(self, node: Node) -> Iterator[LintProblem]:
        definition = bpmn(node.element, "timerEventDefinition")[0]
        kinds = [local(child.tag) for child in definition if local(child.tag).startswith("time")]
        if kinds != ["timeDuration"]:
            yield LintProblem(node.id, "a timer needs exactly one timeDuration (dates and cycles are not supported)")
            return
        source = text(definition, "timeDuration") or ""
        if duration_seconds(source) is not None:
            yield LintProblem(node.id, f'write the timer duration in quotes: "{source.strip()}"')
            return
        problem = expression_problem(source, "expression", self.known)
        if problem:
            yield LintProblem(node.id, f"the timer duration {problem}")
            return
        expression = parse(source_text(source))
        if not expression.names:
            try:
                value = expression.evaluate({})
            except DomainError as exc:
                value = exc
            if not isinstance(value, str) or duration_seconds(value) is None:
                yield LintProblem(node.id, f'the timer duration {value!s} is not an ISO 8601 duration such as "PT30M"')

    def _payloads(self) -> Iterator[LintProblem]:
        for root in self.model.roots.values():
            for error in bpmn(root, "error"):
                payload = translate.extensions(error).payload
                if payload is not None:
                    yield from self._code(error.get("id", ""), "the error payload", payload)

    def _forms(self, steps: Mapping[str, StepDefinition]) -> Iterator[LintProblem]:
        seen: set[str] = set()
        for step in steps.values():
            form = self.forms.get(step.form_id)
            if form is None or form.id in seen:
                continue
            seen.add(form.id)
            for what, source in form_code(form):
                yield from self._code(step.id, f"{what} of form '{form.id}':", source)

    def _templates(self, steps: Mapping[str, StepDefinition]) -> Iterator[LintProblem]:
        for step in steps.values():
            if not step.instructions.strip():
                continue
            try:
                tree = self.templates.parse(step.instructions)
            except TemplateSyntaxError as exc:
                yield LintProblem(step.id, f"the instructions are not a valid template (line {exc.lineno}): {exc}")
                continue
            unknown = sorted(meta.find_undeclared_variables(tree) - self.known)
            if unknown:
                names = ", ".join(f"'{name}'" for name in unknown)
                yield LintProblem(step.id, f"the instructions name unknown variable {names}")


def form_code(form: FormDefinition) -> Iterator[tuple[str, str]]:
    """Every expression a form carries, with what it is: calculated fields, yield and reconciliation amounts."""
    for field in form.fields:
        if field.type == "calculated":
            yield f"calculated field '{field.id}'", field.expression
    spec = form.yield_spec
    if spec is not None:
        yield "yield produced", spec.produced
        yield "yield theoretical", spec.theoretical
        yield "yield scrap", spec.scrap
        yield "yield samples", spec.samples
    for line in form.reconciliation:
        amounts = {"issued": line.issued, "used": line.used, "returned": line.returned, "waste": line.waste}
        for name, source in amounts.items():
            yield f"reconciliation of '{line.material}' {name}", source


def hold_problems(step: StepDefinition) -> Iterator[LintProblem]:
    """The minimum and maximum hold times must be ISO 8601 durations, the minimum no longer than the maximum."""
    seconds = {}
    for name, value in ((translate.HOLD_MIN, step.hold_min), (translate.HOLD_MAX, step.hold_max)):
        if value:
            seconds[name] = duration_seconds(value)
            if seconds[name] is None:
                yield LintProblem(step.id, f'{name} {value!r} is not an ISO 8601 duration such as "PT30M"')
    low, high = seconds.get(translate.HOLD_MIN), seconds.get(translate.HOLD_MAX)
    if low is not None and high is not None and low > high:
        yield LintProblem(
            step.id, f"{translate.HOLD_MIN} {step.hold_min} is longer than {translate.HOLD_MAX} {step.hold_max}"
        )
