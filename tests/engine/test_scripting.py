"""SpiffWorkflow's script hooks run through the one evaluator; its own eval/exec are never reached."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn.script_engine import python_environment

from ebr.domain.calculations import ExpressionRefused
from ebr.engine.runtime import SpiffRuntime
from ebr.engine.scripting import EbrEnvironment, ServiceRefused
from tests.engine.builders import FORMS, bundle

RUNS = [
    ("gateway", ("gateway/procedure.bpmn",), (), {"weigh_api": {"api_mass": "26"}}, "record_deviation"),
    ("drying", ("rework/procedure.bpmn",), (), {"measure": {"moisture": "7"}}, "record_deviation"),
    (
        "release_check",
        ("boundary/procedure.bpmn",),
        ("boundary/qa_review.bpmn",),
        {"qa_decision": {"decision": "reject"}},
        "record_rejection",
    ),
    ("settling", ("timer/procedure.bpmn",), (), {}, "settle"),
]


def _refuse(name: str) -> Callable[..., object]:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"SpiffWorkflow's {name} was reached")

    return refuse


def test_conditions_are_evaluated_over_exact_decimals() -> None:
    assert EbrEnvironment().evaluate("a + 0.1 == 0.3", {"a": Decimal("0.2")}) is True


def test_the_external_context_gives_way_to_task_data() -> None:
    assert EbrEnvironment().evaluate("a", {"a": Decimal(1)}, {"a": Decimal(2)}) == Decimal(1)


def test_a_script_puts_only_what_it_changes_into_the_task_data() -> None:
    data: dict[str, object] = {"count": Decimal(1), "lot": "L-1"}
    EbrEnvironment().execute("count = count + 1\nlot = lot", data)
    assert data == {"count": Decimal(2), "lot": "L-1"}


def test_a_script_indented_by_the_surrounding_xml_runs() -> None:
    data: dict[str, object] = {}
    EbrEnvironment().execute("\n        a = 1\n        b = a + 1\n      ", data)
    assert data == {"a": Decimal(1), "b": Decimal(2)}


@pytest.mark.parametrize(
    "source", ["().__class__.__base__.__subclasses__()", "__import__('os').system('id')", "open('/etc/passwd')"]
)
def test_an_escape_attempt_is_refused_and_never_runs(source: str) -> None:
    with pytest.raises(ExpressionRefused):
        EbrEnvironment().evaluate(source, {})


def test_every_service_operation_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ServiceRefused, match="'modbus/ReadHoldingRegisters' is not on the whitelist"):
        EbrEnvironment().call_service({}, operation_name="modbus/ReadHoldingRegisters", operation_params={})


def test_a_service_task_in_a_dry_run_is_a_problem_naming_the_task(runtime: SpiffRuntime) -> None:
    result = runtime.dry_run(bundle("service", "bad/service.bpmn"), FORMS, {})
    assert not result.completed
    assert result.problems == (
        "read_scale: the service operation 'modbus/ReadHoldingRegisters' is not on the whitelist (none are yet)",
    )


@pytest.mark.parametrize(("procedure_id", "files", "common", "values", "reached"), RUNS, ids=[r[0] for r in RUNS])
def test_spiffworkflows_own_eval_and_exec_are_never_reached(
    runtime: SpiffRuntime,
    monkeypatch: pytest.MonkeyPatch,
    procedure_id: str,
    files: tuple[str, ...],
    common: tuple[str, ...],
    values: dict[str, dict[str, object]],
    reached: str,
) -> None:
    monkeypatch.setattr(python_environment, "eval", _refuse("eval"), raising=False)
    monkeypatch.setattr(python_environment, "exec", _refuse("exec"), raising=False)
    with pytest.raises(AssertionError, match="eval was reached"):  # the patch bites where SpiffWorkflow calls eval
        python_environment.TaskDataEnvironment().evaluate("1", {})
    result = runtime.dry_run(bundle(procedure_id, *files, common=common), FORMS, values)
    assert result.problems == ()
    assert result.completed
    assert reached in result.path


def test_nothing_in_a_dry_run_calls_eval_or_exec_at_all(runtime: SpiffRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    procedures = [bundle(name, *files, common=common) for name, files, common, _, _ in RUNS]
    for procedure in procedures:
        runtime.parse(procedure)  # parsing happens before the patch: lxml and the schema are not under test
    monkeypatch.setattr(builtins, "eval", _refuse("eval"))
    monkeypatch.setattr(builtins, "exec", _refuse("exec"))
    results = [runtime.dry_run(procedure, FORMS, run[3]) for procedure, run in zip(procedures, RUNS, strict=True)]
    assert [result.completed for result in results] == [True] * len(RUNS)
