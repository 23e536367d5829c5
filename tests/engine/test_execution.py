"""Batch execution through the facade: ready steps, routing, joins, called processes, rework passes, refusals,
and the same path whether the state stays in memory or goes through bytes between every step."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from SpiffWorkflow.bpmn.script_engine import python_environment

from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.steps import FormDefinition, StepDefinition
from ebr.engine.dryrun import fill
from ebr.engine.execution import Advance, Execution, ExecutionFailed, StepNotReady
from ebr.engine.parser import BundleParser
from ebr.engine.runtime import SpiffRuntime
from ebr.engine.state import EngineState
from ebr.engine.workarounds import DepthExceeded
from ebr.library.loader import FolderLibrary
from tests.engine.builders import DATA, FORMS, bundle, bundle_of

LINEAR = bundle("linear", "linear/procedure.bpmn")
GATEWAY = bundle("gateway", "gateway/procedure.bpmn")
PARALLEL = bundle("parallel", "parallel/procedure.bpmn")
CALL = bundle("granulation", "call/procedure.bpmn", common=("call/line_clearance.bpmn",))
REWORK = bundle("drying", "rework/procedure.bpmn")
REVIEW = bundle("release_check", "boundary/procedure.bpmn", common=("boundary/qa_review.bpmn",))
TIMER = bundle("settling", "timer/procedure.bpmn")
LIBRARY = FolderLibrary(Path(__file__).resolve().parents[2])
Given = Mapping[str, Mapping[str, object]]


@pytest.fixture(params=["cold", "cached"])
def execution(request: pytest.FixtureRequest) -> Execution:
    """Cold: every call restores the state from its bytes. Cached: the loaded workflow is kept between calls."""
    return Execution(cache_size=0 if request.param == "cold" else 8)


def _run(
    execution: Execution,
    procedure: ProcedureBundle,
    steps: Mapping[str, StepDefinition],
    forms: Mapping[str, FormDefinition],
    given: Given,
) -> tuple[list[str], Advance]:
    """Complete the first ready step until none is left, as the dry run does; the path and the last advance."""
    advance = execution.start(procedure, {})
    path, data = list(advance.path), dict[str, object]()
    while advance.ready:
        step = advance.ready[0]
        values = fill(forms[steps[step.step_id].form_id], given.get(step.step_id, {}), data)
        data.update(values)
        advance = execution.complete(procedure, advance.state, step.key, values)
        path += [step.step_id, *advance.path]
    return path, advance


def _ids(advance: Advance) -> list[tuple[str, int]]:
    return [(step.step_id, step.iteration) for step in advance.ready]


def test_a_linear_procedure_offers_one_step_after_the_other(execution: Execution) -> None:
    started = execution.start(LINEAR, {})
    assert _ids(started) == [("weigh_api", 1)]
    assert started.ready[0].process_id == "linear"
    assert not started.completed
    second = execution.complete(LINEAR, started.state, started.ready[0].key, {"api_mass": Decimal("25.01")})
    assert _ids(second) == [("record_yield", 1)]
    done = execution.complete(LINEAR, second.state, second.ready[0].key, {"yield_ok": True})
    assert done.ready == ()
    assert done.completed
    assert done.path == ("end",)


@pytest.mark.parametrize(("mass", "route"), [("25.01", "blend"), ("25.051", "record_deviation")])
def test_an_exclusive_gateway_routes_on_the_values_of_the_step(execution: Execution, mass: str, route: str) -> None:
    started = execution.start(GATEWAY, {})
    advance = execution.complete(GATEWAY, started.state, started.ready[0].key, {"api_mass": Decimal(mass)})
    assert advance.path == ("gw_mass_ok",)
    assert _ids(advance) == [(route, 1)]


def test_parallel_branches_are_both_ready_and_the_join_waits_for_both(execution: Execution) -> None:
    started = execution.start(PARALLEL, {})
    assert started.path == ("split",)
    assert _ids(started) == [("check_room", 1), ("check_scale", 1)]
    scale = next(step for step in started.ready if step.step_id == "check_scale")
    waiting = execution.complete(PARALLEL, started.state, scale.key, {"scale_checked": True})
    assert _ids(waiting) == [("check_room", 1)]
    assert waiting.ready[0].key == started.ready[0].key  # a step keeps its key until it is done
    joined = execution.complete(PARALLEL, waiting.state, waiting.ready[0].key, {"room_clean": True})
    assert joined.path == ("join",)
    assert _ids(joined) == [("sign_off", 1)]


def test_the_steps_of_a_called_process_are_offered_in_that_process(execution: Execution) -> None:
    started = execution.start(CALL, {})
    assert [(step.step_id, step.process_id) for step in started.ready] == [("clear_line", "line_clearance")]
    back = execution.complete(CALL, started.state, started.ready[0].key, {"line_clear": True})
    assert back.path == ("lc_end",)
    assert [(step.step_id, step.process_id) for step in back.ready] == [("weigh_api", "granulation")]
    assert json.loads(back.state.value.partition(b"\n")[2])["subprocesses"] == {}  # done, so not kept


def test_an_error_end_in_a_called_process_is_caught_by_the_boundary_event(execution: Execution) -> None:
    started = execution.start(REVIEW, {})
    advance = execution.complete(REVIEW, started.state, started.ready[0].key, {"decision": "reject"})
    assert _ids(advance) == [("record_rejection", 1)]
    assert "qa_end_rejected" in advance.path


def test_each_pass_of_a_rework_loop_is_a_new_step_with_the_next_iteration(execution: Execution) -> None:
    advance = execution.start(REWORK, {})
    offered: list[tuple[str, int]] = []
    keys: set[str] = set()
    while advance.ready:
        step = advance.ready[0]
        offered.append((step.step_id, step.iteration))
        keys.add(step.key)
        values = {"moisture": Decimal(7)} if step.step_id == "measure" else {"redry_minutes": Decimal(30)}
        advance = execution.complete(REWORK, advance.state, step.key, values)
    assert offered == [
        ("measure", 1),
        ("redry", 1),
        ("measure", 2),
        ("redry", 2),
        ("measure", 3),
        ("record_deviation", 1),
    ]
    assert len(keys) == len(offered)
    assert advance.completed


def test_a_sub_procedure_called_twice_offers_its_steps_again_as_second_passes(execution: Execution) -> None:
    twice = bundle_of(
        "twice",
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'
        b'<bpmn:process id="twice" isExecutable="true"><bpmn:startEvent id="start" />'
        b'<bpmn:callActivity id="before" calledElement="line_clearance" />'
        b'<bpmn:callActivity id="after" calledElement="line_clearance" /><bpmn:endEvent id="end" />'
        b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="before" />'
        b'<bpmn:sequenceFlow id="f2" sourceRef="before" targetRef="after" />'
        b'<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" /></bpmn:process></bpmn:definitions>',
        (DATA / "call/line_clearance.bpmn").read_bytes(),
    )
    first = execution.start(twice, {})
    second = execution.complete(twice, first.state, first.ready[0].key, {})
    assert _ids(first) == [("clear_line", 1)]
    assert _ids(second) == [("clear_line", 2)]
    assert first.ready[0].key != second.ready[0].key


def test_completing_a_step_that_is_not_ready_is_refused_and_changes_nothing(execution: Execution) -> None:
    started = execution.start(LINEAR, {})
    before = started.state.value
    second = execution.complete(LINEAR, started.state, started.ready[0].key, {})
    for key in (started.ready[0].key, "0b5e4ae4-3c1f-4d6b-9a1e-2f7f1c0de000", "not a key", ""):
        with pytest.raises(StepNotReady, match="is not ready"):
            execution.complete(LINEAR, second.state, key, {})
    assert started.state.value == before
    again = execution.complete(LINEAR, second.state, second.ready[0].key, {"yield_ok": True})
    assert again.completed


def test_a_refused_step_leaves_the_state_usable_as_it_was(execution: Execution) -> None:
    started = execution.start(PARALLEL, {})
    before = EngineState(bytes(started.state.value))
    with pytest.raises(StepNotReady):
        execution.complete(PARALLEL, started.state, "0b5e4ae4-3c1f-4d6b-9a1e-2f7f1c0de000", {})
    assert started.state == before
    assert _ids(execution.ready(PARALLEL, started.state)) == _ids(started)
    assert execution.ready(PARALLEL, started.state).state.digest != ""  # still loads after the refusal


def test_a_finished_procedure_offers_nothing_and_refuses_every_step(execution: Execution) -> None:
    started = execution.start(LINEAR, {})
    second = execution.complete(LINEAR, started.state, started.ready[0].key, {})
    done = execution.complete(LINEAR, second.state, second.ready[0].key, {})
    assert done.completed
    assert execution.ready(LINEAR, done.state).ready == ()
    for step in (*started.ready, *second.ready):
        with pytest.raises(StepNotReady):
            execution.complete(LINEAR, done.state, step.key, {})


def test_only_the_values_the_procedure_reads_reach_the_engine(execution: Execution) -> None:
    started = execution.start(GATEWAY, {"batch_size": Decimal(120)})
    values = {"api_lot": "LOT-SECRET-1", "api_mass": Decimal("25.01"), "yield_pct": Decimal("100.04")}
    advance = execution.complete(GATEWAY, started.state, started.ready[0].key, values)
    assert b"LOT-SECRET-1" not in advance.state.value
    assert b"yield_pct" not in advance.state.value
    assert b"batch_size" not in advance.state.value
    assert b"api_mass" in advance.state.value


def test_initial_values_the_procedure_reads_route_like_step_values(execution: Execution) -> None:
    started = execution.start(GATEWAY, {"api_mass": Decimal("25.051")})
    advance = execution.complete(GATEWAY, started.state, started.ready[0].key, {})
    assert _ids(advance) == [("record_deviation", 1)]


@pytest.mark.parametrize("procedure", [PARALLEL, CALL, TIMER], ids=["parallel", "call", "timer"])
def test_asking_what_is_ready_changes_nothing_when_nothing_is_due(
    execution: Execution, procedure: ProcedureBundle
) -> None:
    started = execution.start(procedure, {})
    again = execution.ready(procedure, started.state)
    assert again.state == started.state
    assert again.ready == started.ready
    assert again.path == ()


def test_a_float_value_is_refused_before_anything_runs(execution: Execution) -> None:
    started = execution.start(GATEWAY, {})
    with pytest.raises(InvalidInput, match="'api_mass' must be a decimal"):
        execution.complete(GATEWAY, started.state, started.ready[0].key, {"api_mass": 25.01})


def test_a_condition_that_cannot_be_evaluated_fails_naming_the_gateway(execution: Execution) -> None:
    started = execution.start(GATEWAY, {})
    with pytest.raises(ExecutionFailed, match="unknown name 'api_mass'") as failed:
        execution.complete(GATEWAY, started.state, started.ready[0].key, {})
    assert failed.value.element == "gw_mass_ok"
    assert _ids(execution.ready(GATEWAY, started.state)) == [("weigh_api", 1)]


def test_a_state_is_refused_for_another_procedure_version(execution: Execution) -> None:
    state = execution.start(LINEAR, {}).state
    with pytest.raises(Conflict, match="another procedure version"):
        execution.ready(GATEWAY, state)
    with pytest.raises(Conflict, match="not in a format"):
        execution.ready(LINEAR, EngineState(b"{}"))


def test_a_due_boundary_timer_fires_on_load_before_the_step_it_guards(execution: Execution) -> None:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        started = execution.start(TIMER, {})
    with time_machine.travel(start + timedelta(hours=9), tick=False):
        with pytest.raises(StepNotReady, match="cancelled"):
            execution.complete(TIMER, started.state, started.ready[0].key, {"api_mass": Decimal(25)})
        overdue = execution.ready(TIMER, started.state)
    assert overdue.path == ("weigh_overdue", "end_overdue")
    assert overdue.completed
    assert overdue.state != started.state


def test_a_waiting_timer_releases_the_next_step_once_due(execution: Execution) -> None:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        started = execution.start(TIMER, {})
        waiting = execution.complete(TIMER, started.state, started.ready[0].key, {"api_mass": Decimal(25)})
    assert waiting.ready == ()
    assert not waiting.completed
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert execution.ready(TIMER, waiting.state).ready == ()
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        due = execution.ready(TIMER, waiting.state)
    assert due.path == ("settle",)
    assert _ids(due) == [("verify_mass", 1)]


def test_the_depth_guard_stops_a_runaway_loop() -> None:
    with pytest.raises(DepthExceeded, match="limit 900"):
        Execution(cache_size=0).start(bundle("long_loop", "bad/long_loop.bpmn"), {})


FIXTURE_RUNS: list[tuple[ProcedureBundle, dict[str, dict[str, object]]]] = [
    (GATEWAY, {"weigh_api": {"api_mass": "25.051"}}),
    (PARALLEL, {}),
    (CALL, {}),
    (REWORK, {"measure": {"moisture": "7"}}),
    (REVIEW, {"qa_decision": {"decision": "reject"}}),
    (REVIEW, {"qa_decision": {"decision": "accept"}}),
]
RUN_IDS = ["deviation", "parallel", "call", "rework", "rejected", "accepted"]


@pytest.mark.parametrize(("procedure", "given"), FIXTURE_RUNS, ids=RUN_IDS)
def test_bytes_between_every_step_give_the_path_of_an_in_memory_run(
    runtime: SpiffRuntime, procedure: ProcedureBundle, given: Given
) -> None:
    steps = runtime.steps(procedure)
    cold, cold_end = _run(Execution(cache_size=0), procedure, steps, FORMS, given)
    cached, _ = _run(Execution(), procedure, steps, FORMS, given)
    dry = runtime.dry_run(procedure, FORMS, given)
    assert cold == cached == list(dry.path)
    assert cold_end.completed and dry.completed


@pytest.mark.parametrize("given", [{}, {"sample_lod": {"lod_pct": "2.5"}}], ids=["nominal", "rework"])
def test_the_granulation_procedure_runs_as_its_dry_run_does(runtime: SpiffRuntime, given: Given) -> None:
    procedure = LIBRARY.bundle("granulation")
    forms, steps = LIBRARY.forms(procedure), runtime.steps(procedure)
    cold, done = _run(Execution(cache_size=0), procedure, steps, forms, given)
    cached, _ = _run(Execution(), procedure, steps, forms, given)
    assert cold == cached == list(runtime.dry_run(procedure, forms, given).path)
    assert done.completed


def _refuse(name: str) -> Callable[..., object]:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"{name} was reached")

    return refuse


def test_spiffworkflows_eval_and_exec_are_never_reached(runtime: SpiffRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = BundleParser()
    for procedure, _ in FIXTURE_RUNS:
        parser.parse(procedure)  # parsing happens before the patch: lxml and the schema are not under test
    monkeypatch.setattr(python_environment, "eval", _refuse("eval"), raising=False)
    monkeypatch.setattr(python_environment, "exec", _refuse("exec"), raising=False)
    monkeypatch.setattr(builtins, "eval", _refuse("eval"))
    monkeypatch.setattr(builtins, "exec", _refuse("exec"))
    for procedure, given in FIXTURE_RUNS:
        _, done = _run(Execution(parser, cache_size=0), procedure, runtime.steps(procedure), FORMS, given)
        assert done.completed
