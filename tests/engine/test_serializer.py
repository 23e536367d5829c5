"""Saving and restoring a running procedure: the spec by reference, our task classes and exact decimals kept."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from ebr.domain.errors import Conflict
from ebr.engine.parser import ParsedBundle
from ebr.engine.runtime import SpiffRuntime
from ebr.engine.scripting import EbrScriptEngine, EbrServiceTask
from ebr.engine.serializer import StateSerializer
from tests.engine.builders import bundle

REVIEW = bundle("release_check", "boundary/procedure.bpmn", common=("boundary/qa_review.bpmn",))


def _ready(workflow: Any) -> list[str]:
    return [task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.READY, manual=True)]


def _started(parsed: ParsedBundle) -> Any:
    workflow = BpmnWorkflow(parsed.spec, dict(parsed.subprocess_specs), script_engine=EbrScriptEngine())
    workflow.do_engine_steps()
    return workflow


def test_a_procedure_saved_inside_a_called_process_continues_where_it_stopped(runtime: SpiffRuntime) -> None:
    parsed = runtime.parse(REVIEW)
    serializer = StateSerializer()
    restored = serializer.loads(serializer.dumps(_started(parsed)), parsed)
    assert _ready(restored) == ["qa_decision"]
    (task,) = restored.get_tasks(state=TaskState.READY, manual=True)
    task.set_data(decision="accept")
    task.run()
    restored = serializer.loads(serializer.dumps(restored), parsed)
    restored.do_engine_steps()
    assert restored.is_completed()


def test_the_saved_state_names_its_processes_instead_of_holding_their_specs(runtime: SpiffRuntime) -> None:
    parsed = runtime.parse(REVIEW)
    workflow = _started(parsed)
    state = json.loads(StateSerializer().dumps(workflow))
    embedded = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(dict(SPIFF_CONFIG))).serialize_json(workflow)
    assert state["spec"] == "release_check"
    assert state["subprocess_specs"] == ["qa_review"]
    assert "task_specs" not in json.dumps(state)
    assert len(json.dumps(state)) < len(embedded) / 2


def test_decimals_in_task_data_come_back_as_exact_decimals(runtime: SpiffRuntime) -> None:
    parsed = runtime.parse(bundle("linear", "linear/procedure.bpmn"))
    workflow = _started(parsed)
    (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    task.set_data(api_mass=Decimal("25.010"), api_lot="L-1", ok=True)
    restored = StateSerializer().loads(StateSerializer().dumps(workflow), parsed)
    (again,) = restored.get_tasks(state=TaskState.READY, manual=True)
    assert again.data == {"api_mass": Decimal("25.010"), "api_lot": "L-1", "ok": True}
    assert isinstance(again.data["api_mass"], Decimal)


def test_a_restored_procedure_runs_its_code_through_our_evaluator(runtime: SpiffRuntime) -> None:
    parsed = runtime.parse(REVIEW)
    restored = StateSerializer().loads(StateSerializer().dumps(_started(parsed)), parsed)
    assert isinstance(restored.script_engine, EbrScriptEngine)


def test_a_state_is_refused_on_another_procedures_specs(runtime: SpiffRuntime) -> None:
    state = StateSerializer().dumps(_started(runtime.parse(REVIEW)))
    with pytest.raises(Conflict, match="belongs to process 'release_check'"):
        StateSerializer().loads(state, runtime.parse(bundle("linear", "linear/procedure.bpmn")))


def test_stored_specs_keep_our_service_task_class(runtime: SpiffRuntime) -> None:
    serializer = StateSerializer()
    spec, subprocess_specs = serializer.load_specs(
        serializer.dump_specs(runtime.parse(bundle("service", "bad/service.bpmn")))
    )
    assert type(spec.task_specs["read_scale"]) is EbrServiceTask
    assert subprocess_specs == {}


def test_stored_specs_of_called_processes_come_back(runtime: SpiffRuntime) -> None:
    serializer = StateSerializer()
    spec, subprocess_specs = serializer.load_specs(serializer.dump_specs(runtime.parse(REVIEW)))
    assert spec.name == "release_check"
    assert list(subprocess_specs) == ["qa_review"]


def test_the_state_records_its_serializer_version(runtime: SpiffRuntime) -> None:
    serializer = StateSerializer()
    state = json.loads(serializer.dumps(_started(runtime.parse(REVIEW))))
    assert state["serializer_version"] == serializer.version == "1.5"
