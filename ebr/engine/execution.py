"""Batch execution: the facade the app calls once per request, with the engine state as an opaque value.

`start` begins a batch, `complete` completes one ready step with its values, `ready` lists what is ready (firing due
timers first). Each returns an `Advance`: the new state to store in the same transaction as the step record, the
ready steps, whether the procedure is finished, and the elements the engine itself ran since the last call.

Every call loads the state (from the in-process cache when this exact state was saved here), fires due timers
before anything else (finding 6), runs engine steps through our evaluator only, guards the tree depth (finding 1),
prunes finished work and saves (`state` explains why the cost per step stays flat). A refused or failed call
returns nothing and keeps nothing: the caller's state is untouched, as it is an immutable value.

A step's `iteration` counts how often that step of that process has become ready in this batch, so each pass of a
rework loop (or each call of a shared sub-procedure) is a distinct step with a higher number. Only steps that can
recur are counted in the state; any other step is always pass 1, so the counters do not grow with the work done.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ebr.app.ports import BatchEngine, EngineCursor
from ebr.domain.errors import Conflict, DomainError, InvalidInput
from ebr.domain.procedure import ProcedureBundle
from ebr.engine import workarounds
from ebr.engine.dryrun import RECURSION, explain
from ebr.engine.exec_routing import Routing, routing
from ebr.engine.parser import BundleParser, ParsedBundle
from ebr.engine.scripting import EbrScriptEngine
from ebr.engine.state import EngineState, Loaded, StateCache, StateCodec, prune

ITERATION = "ebr_iteration"  # internal data of a ready user task: its pass number


class StepNotReady(Conflict):
    """The step named is not ready (done, cancelled, not reached, or unknown): nothing was changed."""


class ExecutionFailed(DomainError):
    """The engine could not run the procedure on (a script or condition failed): nothing was changed."""

    def __init__(self, message: str, element: str = "procedure") -> None:
        super().__init__(message)
        self.element = element


@dataclass(frozen=True)
class ReadyStep:
    """A step a person can perform now; `key` names it in `complete` and stays the same until it is done."""

    key: str
    step_id: str
    process_id: str
    iteration: int


@dataclass(frozen=True)
class Advance:
    """The outcome of one call: the state to store, what is ready, whether the batch's procedure is finished."""

    state: EngineState
    ready: tuple[ReadyStep, ...]
    completed: bool
    path: tuple[str, ...]  # gateways, scripts, events the engine ran since the last call, in order


def _recorder(path: list[str]) -> Callable[[Any], None]:
    def record(task: Any) -> None:
        spec = task.task_spec
        if spec.bpmn_id and not isinstance(spec, StartEvent | SubWorkflowTask):
            path.append(spec.bpmn_id)

    return record


class Execution:
    """Runs batches on SpiffWorkflow 3.2.0; parsed bundles and loaded states are cached, nothing else is kept."""

    def __init__(self, parser: BundleParser | None = None, cache_size: int = 64) -> None:
        workarounds.install()
        self._parser = parser or BundleParser()
        self._codec = StateCodec()
        self._cache = StateCache(cache_size)
        self._routing: OrderedDict[str, Routing] = OrderedDict()

    def start(self, bundle: ProcedureBundle, initial: Mapping[str, object]) -> Advance:
        """Begin the procedure with the batch's initial values (those the procedure reads are kept)."""
        parsed, routed = self._prepare(bundle)
        kept = routed.keep(initial)
        workflow = BpmnWorkflow(parsed.spec, dict(parsed.subprocess_specs), script_engine=EbrScriptEngine())
        workflow.task_tree.set_data(**kept)  # the root task: the start event inherits its data
        return self._run(bundle, routed, Loaded(workflow, {}), lambda loaded: None)

    def complete(
        self, bundle: ProcedureBundle, state: EngineCursor, step_key: str, values: Mapping[str, object]
    ) -> Advance:
        """Complete the ready step `step_key` with its values; StepNotReady if it is not ready after due timers."""
        parsed, routed = self._prepare(bundle)
        kept = routed.keep(values)

        def perform(loaded: Loaded) -> None:
            task = _ready_task(loaded.workflow, step_key)
            task.set_data(**kept)
            task.run()

        return self._run(bundle, routed, self._load(bundle, parsed, state), perform)

    def ready(self, bundle: ProcedureBundle, state: EngineCursor) -> Advance:
        """What is ready now; when a due timer fired, `state` in the result differs and should be stored."""
        parsed, routed = self._prepare(bundle)
        return self._run(bundle, routed, self._load(bundle, parsed, state), lambda loaded: None)

    def _prepare(self, bundle: ProcedureBundle) -> tuple[ParsedBundle, Routing]:
        """The parsed bundle and its routing variables, both cached by content hash."""
        parsed = self._parser.parse(bundle)
        if parsed.spec is None or parsed.model is None:
            problems = "; ".join(str(problem) for problem in parsed.problems)
            raise InvalidInput(f"The procedure {bundle.procedure_id!r} cannot be run: {problems}.")
        routed = self._routing.get(bundle.content_hash)
        if routed is None:
            routed = routing(parsed.model, bundle.procedure_id)
            self._routing[bundle.content_hash] = routed
            while len(self._routing) > self._parser.capacity:
                self._routing.popitem(last=False)
        return parsed, routed

    def _load(self, bundle: ProcedureBundle, parsed: ParsedBundle, state: EngineCursor) -> Loaded:
        cached = self._cache.take((bundle.content_hash, state.digest))
        if cached is not None:
            return cached
        return self._codec.loads(EngineState(state.value), parsed, bundle.content_hash)

    def _run(
        self, bundle: ProcedureBundle, routed: Routing, loaded: Loaded, action: Callable[[Loaded], None]
    ) -> Advance:
        """Due timers and engine steps, the action, engine steps again; then prune, number, save and cache."""
        path: list[str] = []
        record = _recorder(path)
        try:
            workarounds.advance(loaded.workflow, did_complete_task=record)
            action(loaded)
            workarounds.advance(loaded.workflow, did_complete_task=record)
        except SpiffWorkflowException as exc:
            problem = explain(exc)
            raise ExecutionFailed(problem.reason, problem.element_id) from exc
        except RecursionError as exc:
            raise ExecutionFailed(RECURSION) from exc
        prune(loaded.workflow)
        ready = self._number(loaded, routed)
        state = self._codec.dumps(loaded, bundle.content_hash)
        self._cache.put((bundle.content_hash, state.digest), loaded)
        return Advance(state, ready, bool(loaded.workflow.is_completed()), tuple(path))

    @staticmethod
    def _number(loaded: Loaded, routed: Routing) -> tuple[ReadyStep, ...]:
        """The ready user tasks in document order; each gets its pass number the first time it is seen ready."""
        steps = []
        for task in loaded.workflow.get_tasks(state=TaskState.READY, manual=True):
            process_id, step_id = task.workflow.spec.name, task.task_spec.bpmn_id
            iteration = task.internal_data.get(ITERATION, 1 if step_id not in routed.repeatable else None)
            if iteration is None:
                counter = f"{process_id}/{step_id}"
                iteration = loaded.visits.get(counter, 0) + 1
                loaded.visits[counter] = iteration
                task.internal_data[ITERATION] = iteration
            steps.append(ReadyStep(str(task.id), step_id, process_id, iteration))
        steps.sort(key=lambda step: (routed.order.get(step.step_id, len(routed.order)), step.iteration, step.key))
        return tuple(steps)


def _ready_task(workflow: Any, step_key: str) -> Any:
    """The ready user task with this key; StepNotReady for anything else."""
    try:
        task = workflow.get_task_from_id(UUID(step_key))
    except (ValueError, SpiffWorkflowException):
        task = None
    if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
        state = "unknown" if task is None else TaskState.get_name(task.state).lower()
        raise StepNotReady(f"The step {step_key!r} is not ready ({state}): reload the batch to see what is.")
    return task


if TYPE_CHECKING:
    _conforms: BatchEngine = Execution()  # mypy checks the port's signatures here
