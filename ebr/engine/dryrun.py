"""A simulated run of a procedure: no batch, no records, no clock; every step filled with given or default values.

Timers waiting in an intermediate catch event are treated as already due. A timer on a boundary event is not: it
would interrupt every step it guards, and the nominal path is the step completed in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import IntermediateCatchEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ebr.app.ports import DryRunResult, LintProblem
from ebr.domain.calculations import parse
from ebr.domain.errors import DomainError
from ebr.domain.limits import Limit
from ebr.domain.steps import FieldDefinition, FormDefinition, StepDefinition
from ebr.engine.parser import ParsedBundle
from ebr.engine.scripting import EbrScriptEngine
from ebr.engine.workarounds import advance

DRY_RUN_TEXT = "DRY-RUN"
DRY_RUN_TIME = "2000-01-01T00:00:00+00:00"
_NUMERIC = frozenset({"number", "quantity", "reading"})
_MAX_TIMER_ROUNDS = 1000
RECURSION = "the engine recursed too deep: a loop without a gateway, or a path too long (see the linter)"


class StepValueError(DomainError):
    """A value given for a dry run does not fit its field, or a step cannot be filled."""

    def __init__(self, message: str, element: str = "procedure") -> None:
        super().__init__(message)
        self.element = element


def default_number(limit: Limit | None) -> Decimal:
    """A value within the limit: the target, else the middle of min and max, else the one bound, else 1."""
    if limit is None:
        return Decimal(1)
    if limit.target is not None:
        return limit.target
    low, high = limit.bounds()
    if low is not None and high is not None:
        return (low + high) / 2
    if low is not None:
        return low + 1 if limit.min_exclusive else low
    if high is not None:
        return high - 1 if limit.max_exclusive else high
    return Decimal(1)


def default_value(field: FieldDefinition) -> object:
    """What a dry run enters in a field nobody gave a value for."""
    if field.type in _NUMERIC:
        return default_number(field.limit)
    if field.type == "boolean":
        return True
    if field.type == "choice":
        return field.choices[0] if field.choices else DRY_RUN_TEXT
    if field.type == "datetime":
        return DRY_RUN_TIME
    return DRY_RUN_TEXT


def coerce(field: FieldDefinition, value: object) -> object:
    """A given value in the type task data holds for this field: Decimal for numbers, bool, or text."""
    if field.type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise StepValueError(f"field '{field.id}' needs a number, not {value!r}")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise StepValueError(f"field '{field.id}' needs a number, not {value!r}") from None
        if not number.is_finite():
            raise StepValueError(f"field '{field.id}' needs a finite number, not {value!r}")
        return number
    if field.type == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("true", "false"):
            return str(value).strip().lower() == "true"
        raise StepValueError(f"field '{field.id}' needs true or false, not {value!r}")
    return str(value)


def fill(form: FormDefinition, given: Mapping[str, object], data: Mapping[str, object]) -> dict[str, object]:
    """The values of one step: given ones coerced, defaults for the rest, calculated fields evaluated in order."""
    unknown = sorted(set(given) - {f.id for f in form.fields})
    if unknown:
        raise StepValueError(f"form '{form.id}' has no field {', '.join(repr(name) for name in unknown)}")
    values: dict[str, object] = {}
    weighed = _dispensed(form)
    for field in form.fields:
        if field.type == "calculated":
            values[field.id] = parse(field.expression).evaluate({**data, **values})
        elif field.id in given:
            values[field.id] = coerce(field, given[field.id])
        else:
            values[field.id] = weighed.get(field.id, default_value(field))
    return values


def _dispensed(form: FormDefinition) -> dict[str, object]:
    """A weighing's defaults: an empty tare and a gross at the net's target, so the nominal path dispenses it."""
    spec = form.dispense
    if spec is None:
        return {}
    net = form.field(spec.net)
    return {spec.tare: Decimal(0), spec.gross: default_number(net.limit if net else None)}


def _element(exc: BaseException) -> str:
    task = getattr(exc, "task", None)
    spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
    return (getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "procedure") if spec else "procedure"


def explain(exc: BaseException) -> LintProblem:
    """An engine or evaluator failure as a problem naming the element; the evaluator's own words kept."""
    element = getattr(exc, "element", None)
    if isinstance(exc, DomainError) and isinstance(element, str):
        return LintProblem(element, str(exc))
    inner: BaseException | None = exc
    while inner is not None and not isinstance(inner, DomainError):
        inner = inner.__cause__ or inner.__context__
    first = str(exc.args[0]) if exc.args else type(exc).__name__
    reason = f"{first}: {inner}" if inner is not None and inner is not exc and str(inner) not in first else first
    return LintProblem(_element(exc), reason)


class Simulation:
    """One dry run of a parsed bundle."""

    def __init__(
        self,
        parsed: ParsedBundle,
        steps: Mapping[str, StepDefinition],
        forms: Mapping[str, FormDefinition],
        values: Mapping[str, Mapping[str, object]],
    ) -> None:
        self.parsed = parsed
        self.steps = steps
        self.forms = forms
        self.values = values
        model = parsed.model
        self.order = (
            {node.id: node.order for p in model.processes.values() for node in p.nodes.values()} if model else {}
        )
        self.path: list[str] = []
        self.problems: list[LintProblem] = []

    def run(self, max_steps: int) -> DryRunResult:
        """Complete ready steps (max_steps at most) in document order until the end, a wait or an error."""
        self.problems.extend(
            LintProblem(step_id, "values were given for a step the procedure does not have")
            for step_id in self.values
            if step_id not in self.steps
        )
        workflow = None
        waiting: tuple[str, ...] = ()
        failed = True
        try:
            workflow = BpmnWorkflow(
                self.parsed.spec, dict(self.parsed.subprocess_specs), script_engine=EbrScriptEngine()
            )
            waiting = self._steps(workflow, max_steps)
            failed = False
        except (SpiffWorkflowException, DomainError) as exc:
            self.problems.append(explain(exc))
        except RecursionError:  # SpiffWorkflow predicts paths recursively: a loop with no gateway never ends
            self.problems.append(LintProblem("procedure", RECURSION))
        uncaught = self._uncaught(workflow) if workflow is not None else []
        self.problems.extend(uncaught)
        completed = workflow is not None and workflow.is_completed() and not failed and not uncaught
        return DryRunResult(tuple(self.path), completed, waiting, tuple(str(p) for p in self.problems))

    def _steps(self, workflow: Any, max_steps: int) -> tuple[str, ...]:
        """Run until done; what the run waits for when it stops early."""
        self._advance(workflow)
        done = 0
        while not workflow.is_completed():
            ready = self._ready(workflow)
            if not ready:
                return self._waiting(workflow)
            if done >= max_steps:
                self.problems.append(LintProblem("procedure", f"stopped after {max_steps} steps"))
                return tuple(task.task_spec.bpmn_id for task in ready)
            self._complete(ready[0])
            done += 1
            self._advance(workflow)
        return ()

    def _record(self, task: Any) -> None:
        spec = task.task_spec
        if spec.bpmn_id and not isinstance(spec, StartEvent | SubWorkflowTask):
            self.path.append(spec.bpmn_id)

    def _advance(self, workflow: Any) -> None:
        for _ in range(_MAX_TIMER_ROUNDS):
            advance(workflow, did_complete_task=self._record)
            if not self._fire_timers(workflow):
                return
        raise StepValueError(f"timers kept firing after {_MAX_TIMER_ROUNDS} rounds")

    @staticmethod
    def _fire_timers(workflow: Any) -> bool:
        """Mark waiting intermediate timers as due; the next refresh_timers() fires them."""
        fired = False
        for task in workflow.get_tasks(state=TaskState.WAITING):
            spec = task.task_spec
            timer = isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)
            if isinstance(spec, IntermediateCatchEvent) and timer and not task._get_internal_data("event_fired"):
                task._set_internal_data(event_fired=True)
                fired = True
        return fired

    def _ready(self, workflow: Any) -> list[Any]:
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        return sorted(ready, key=lambda task: self.order.get(task.task_spec.bpmn_id, len(self.order)))

    def _complete(self, task: Any) -> None:
        step = self.steps.get(task.task_spec.bpmn_id)
        form = self.forms.get(step.form_id) if step else None
        if step is not None and form is None:
            reason = f"form '{step.form_id}' is not among the given forms" if step.form_id else "the step names no form"
            raise StepValueError(reason, step.id)
        if step is not None and form is not None:
            try:
                task.set_data(**fill(form, self.values.get(step.id, {}), task.data))
            except DomainError as exc:
                raise StepValueError(str(exc), step.id) from exc
        task.run()
        self.path.append(task.task_spec.bpmn_id)

    @staticmethod
    def _waiting(workflow: Any) -> tuple[str, ...]:
        waiting = workflow.get_tasks(state=TaskState.WAITING | TaskState.STARTED)
        return tuple(
            task.task_spec.bpmn_id
            for task in waiting
            if task.task_spec.bpmn_id and not isinstance(task.task_spec, SubWorkflowTask)
        )

    @staticmethod
    def _uncaught(workflow: Any) -> list[LintProblem]:
        return [
            LintProblem("procedure", f"the event '{event.event_definition.name}' was thrown and nothing caught it")
            for event in workflow.get_events()
        ]
