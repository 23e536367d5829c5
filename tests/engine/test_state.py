"""The engine state: specs by reference, finished work pruned so its size follows open work, not work done,
and the in-process cache keyed by the state's content."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from ebr.domain.procedure import ProcedureBundle
from ebr.engine import execution as execution_module
from ebr.engine.execution import Advance, Execution, StepNotReady
from ebr.engine.parser import BundleParser
from ebr.engine.state import FORMAT, EngineState, Loaded, StateCache, StateCodec, prune
from tests.engine.builders import bundle, bundle_of

NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
CALL = bundle("granulation", "call/procedure.bpmn", common=("call/line_clearance.bpmn",))
PARALLEL = bundle("parallel", "parallel/procedure.bpmn")


def _definitions(*processes: str) -> bytes:
    return f'<bpmn:definitions {NS} id="d" targetNamespace="http://example.org/ebr">{"".join(processes)}</bpmn:definitions>'.encode()


def _flows(prefix: str, chain: list[str]) -> str:
    return "".join(
        f'<bpmn:sequenceFlow id="{prefix}{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(itertools.pairwise(chain))
    )


def loop_procedure(passes: int) -> ProcedureBundle:
    """One step repeated `passes` times: a bounded loop on a counter, as a rework loop is modelled."""
    body = (
        '<bpmn:startEvent id="start" /><bpmn:scriptTask id="init"><bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>'
        '<bpmn:userTask id="check" /><bpmn:scriptTask id="count"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:exclusiveGateway id="gw" default="f_done" /><bpmn:endEvent id="end" />'
        + _flows("f", ["start", "init", "check", "count", "gw"])
        + f'<bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="check">'
        f"<bpmn:conditionExpression>n &lt; {passes}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end" />'
    )
    return bundle_of("loop", _definitions(f'<bpmn:process id="loop" isExecutable="true">{body}</bpmn:process>'))


def units_procedure(units: int, steps: int) -> ProcedureBundle:
    """`units` call activities of `steps` user tasks in a row."""
    names = [f"u{n}" for n in range(units)]
    main = "".join(f'<bpmn:callActivity id="call_{u}" calledElement="{u}" />' for u in names)
    main += _flows("m", ["start", *(f"call_{u}" for u in names), "end"])
    main = f'<bpmn:startEvent id="start" />{main}<bpmn:endEvent id="end" />'
    processes = [f'<bpmn:process id="units" isExecutable="true">{main}</bpmn:process>']
    for unit in names:
        tasks = [f"{unit}_s{n}" for n in range(steps)]
        nodes = "".join(f'<bpmn:userTask id="{task}" />' for task in tasks)
        chain = [f"{unit}_start", *tasks, f"{unit}_end"]
        processes.append(
            f'<bpmn:process id="{unit}" isExecutable="true"><bpmn:startEvent id="{unit}_start" />{nodes}'
            f'<bpmn:endEvent id="{unit}_end" />{_flows(unit, chain)}</bpmn:process>'
        )
    return bundle_of("units", _definitions(*processes))


def _sizes(procedure: ProcedureBundle) -> tuple[list[int], Advance]:
    """Run to the end with bytes between every step and five values per step; the state size after each step."""
    run = Execution(cache_size=0)
    advance, sizes = run.start(procedure, {}), []
    while advance.ready:
        step = advance.ready[0]
        values = {f"field_{n}": Decimal(n) for n in range(5)}
        advance = run.complete(procedure, advance.state, step.key, values)
        sizes.append(len(advance.state))
    return sizes, advance


def _body(state: EngineState) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(state.value.partition(b"\n")[2])
    return body


@pytest.mark.parametrize("procedure", [loop_procedure(200), units_procedure(4, 50)], ids=["loop", "call activities"])
def test_the_state_of_a_200_step_procedure_stays_bounded(procedure: ProcedureBundle) -> None:
    sizes, done = _sizes(procedure)
    assert len(sizes) == 200
    assert done.completed
    assert sizes[189] <= 1.5 * sizes[9]


def test_without_pruning_the_same_loop_grows_with_the_work_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution_module, "prune", lambda workflow: 0)
    sizes, _ = _sizes(loop_procedure(100))
    assert sizes[89] > 5 * sizes[9]  # so the bound above is the pruning's doing


def test_a_pruned_state_holds_open_work_only() -> None:
    run = Execution(cache_size=0)
    procedure = loop_procedure(50)
    advance = run.start(procedure, {})
    for _ in range(40):
        advance = run.complete(procedure, advance.state, advance.ready[0].key, {})
    tasks = _body(advance.state)["tasks"].values()
    finished = [task for task in tasks if task["state"] & TaskState.FINISHED_MASK]
    assert len(finished) <= 3  # the root, the last task, the parent of the ready step
    assert advance.ready[0].iteration == 41


def _tree_is_whole(workflow: Any) -> None:
    for tree in (workflow, *workflow.subprocesses.values()):
        for task in tree.tasks.values():
            if task is tree.task_tree:
                assert task.parent is None
                continue
            assert task.parent is not None, task.task_spec.name
            assert task.id in task.parent._children
            assert all(child in tree.tasks for child in task._children)


@pytest.mark.parametrize("procedure", [CALL, PARALLEL], ids=["call activity", "parallel"])
def test_pruning_keeps_a_whole_tree_and_every_open_task(procedure: ProcedureBundle) -> None:
    parsed = BundleParser().parse(procedure)
    run = Execution(cache_size=0)
    advance = run.start(procedure, {})
    advance = run.complete(procedure, advance.state, advance.ready[0].key, {})
    loaded = StateCodec().loads(advance.state, parsed, procedure.content_hash)
    open_before = {task.id for task in loaded.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)}
    assert prune(loaded.workflow) == 0  # already pruned when saved
    _tree_is_whole(loaded.workflow)
    assert open_before <= {task.id for task in loaded.workflow.get_tasks()}


def test_a_finished_called_process_is_dropped_with_its_tasks() -> None:
    run = Execution(cache_size=0)
    started = run.start(CALL, {})
    assert len(_body(started.state)["subprocesses"]) == 1
    back = run.complete(CALL, started.state, started.ready[0].key, {})
    assert _body(back.state)["subprocesses"] == {}


def test_the_state_names_its_bundle_and_processes_and_embeds_no_spec() -> None:
    state = Execution(cache_size=0).start(CALL, {}).state
    header = json.loads(state.value.partition(b"\n")[0])
    assert header == {"bundle": CALL.content_hash, "format": FORMAT, "visits": {}}  # no step here can recur
    assert _body(state)["spec"] == "granulation"
    assert b"task_specs" not in state.value


def test_only_steps_that_can_recur_are_counted_in_the_state() -> None:
    run = Execution(cache_size=0)
    procedure = units_procedure(2, 3)
    advance = run.start(procedure, {})
    while advance.ready:
        assert advance.ready[0].iteration == 1
        advance = run.complete(procedure, advance.state, advance.ready[0].key, {})
    assert json.loads(advance.state.value.partition(b"\n")[0])["visits"] == {}
    looped = run.start(loop_procedure(3), {})
    looped = run.complete(loop_procedure(3), looped.state, looped.ready[0].key, {})
    assert json.loads(looped.state.value.partition(b"\n")[0])["visits"] == {"loop/check": 2}


def test_two_batches_of_one_procedure_never_share_a_state() -> None:
    run = Execution()
    first, second = run.start(CALL, {}), run.start(CALL, {})
    assert first.state.digest != second.state.digest
    with pytest.raises(StepNotReady):
        run.complete(CALL, second.state, first.ready[0].key, {})


def test_the_cache_hands_an_entry_out_once() -> None:
    cache = StateCache(2)
    loaded = Loaded(object(), {})
    cache.put(("bundle", "state"), loaded)
    assert cache.take(("bundle", "state")) is loaded
    assert cache.take(("bundle", "state")) is None


def test_the_cache_forgets_the_least_recently_saved_first() -> None:
    cache = StateCache(2)
    for name in ("a", "b", "c"):
        cache.put(("bundle", name), Loaded(object(), {}))
    assert len(cache) == 2
    assert cache.take(("bundle", "a")) is None
    assert cache.take(("bundle", "c")) is not None


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = StateCache(0)
    cache.put(("bundle", "state"), Loaded(object(), {}))
    assert len(cache) == 0


def test_a_cached_run_loads_nothing_from_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Execution()
    advance = run.start(PARALLEL, {})

    def refuse(*args: object) -> object:
        raise AssertionError("the state was decoded")

    monkeypatch.setattr(StateCodec, "loads", refuse)
    while advance.ready:
        advance = run.complete(PARALLEL, advance.state, advance.ready[0].key, {})
    assert advance.completed
