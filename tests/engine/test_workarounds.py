"""The SpiffWorkflow 3.2.0 workarounds (ENGINE-NOTES §8.1) hold; the defects they cover are still there."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util import deep_merge
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from ebr.engine import workarounds
from ebr.engine.runtime import SpiffRuntime
from ebr.engine.scripting import EbrScriptEngine
from ebr.engine.workarounds import DepthExceeded, advance
from tests.engine.builders import bundle

LONG_LOOP = bundle("long_loop", "bad/long_loop.bpmn")


def _workflow(runtime: SpiffRuntime) -> Any:
    parsed = runtime.parse(LONG_LOOP)
    return BpmnWorkflow(parsed.spec, dict(parsed.subprocess_specs), script_engine=EbrScriptEngine())


def _merge_then_change_later_data() -> dict[str, Any]:
    completed: dict[str, Any] = {}
    later: dict[str, Any] = {"scale": {"reading": {"net": 1}}}
    DeepMerge.merge(completed, later)
    later["scale"]["reading"]["net"] = 2
    return completed


def test_merged_task_data_is_a_deep_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deep_merge, "copy", copy.copy)  # 3.2.0 as shipped (finding 2)
    assert _merge_then_change_later_data() == {"scale": {"reading": {"net": 2}}}
    workarounds.install()
    assert _merge_then_change_later_data() == {"scale": {"reading": {"net": 1}}}


def test_without_the_guard_spiffworkflow_calls_an_unfinished_loop_complete(runtime: SpiffRuntime) -> None:
    workflow = _workflow(runtime)
    workflow.do_engine_steps()
    assert workflow.is_completed()  # finding 1: if this fails, 3.2.0's iterator limit is gone; revisit the guard
    assert any(
        task.task_spec.bpmn_id == "count" and not task.has_state(TaskState.FINISHED_MASK)
        for task in workflow.tasks.values()
    )


def test_the_guard_stops_a_runaway_loop_at_depth_900_and_names_where(runtime: SpiffRuntime) -> None:
    workflow = _workflow(runtime)
    with pytest.raises(DepthExceeded, match=r"limit 900") as raised:
        advance(workflow)
    assert raised.value.element in {"count", "gw_again"}
    assert not workflow.is_completed()
