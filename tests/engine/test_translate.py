"""User tasks become domain steps; only translate.py knows the BPMN extension names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ebr.engine
from ebr.domain.errors import InvalidInput
from ebr.domain.steps import StepDefinition
from ebr.engine.runtime import SpiffRuntime
from tests.engine.builders import bundle


def test_a_user_task_becomes_a_step_with_every_ebr_property(runtime: SpiffRuntime) -> None:
    steps = runtime.steps(bundle("linear", "linear/procedure.bpmn"))
    assert steps["weigh_api"] == StepDefinition(
        id="weigh_api",
        name="Weigh API",
        process_id="linear",
        form_id="weigh_api",
        performer_roles=frozenset({"operator"}),
        verifier_roles=frozenset({"supervisor", "qa"}),
        equipment_class="balance",
        critical=True,
        hold_min="PT30M",
        hold_max="PT4H",
        instructions="Weigh **{{ api_mass }} kg** of API lot {{ api_lot }}.",
    )
    assert steps["record_yield"].verifier_roles == frozenset()
    assert steps["record_yield"].critical is False


def test_steps_of_a_called_process_take_the_place_of_the_call_activity(runtime: SpiffRuntime) -> None:
    steps = runtime.steps(bundle("granulation", "call/procedure.bpmn", common=("call/line_clearance.bpmn",)))
    assert list(steps) == ["clear_line", "weigh_api"]
    assert steps["clear_line"].process_id == "line_clearance"


def test_steps_come_in_document_order(runtime: SpiffRuntime) -> None:
    assert list(runtime.steps(bundle("parallel", "parallel/procedure.bpmn"))) == [
        "check_room",
        "check_scale",
        "sign_off",
    ]


def test_steps_of_a_bundle_that_cannot_be_read_are_refused_with_the_reasons(runtime: SpiffRuntime) -> None:
    with pytest.raises(InvalidInput, match="not XML"):
        runtime.steps(bundle("not_xml", "bad/not_xml.bpmn"))


def test_no_engine_module_but_translate_names_an_extension() -> None:
    package = Path(ebr.engine.__file__).parent
    named = re.compile(r"ebr:[A-Za-z]|spiffworkflow:[A-Za-z]")
    offenders = [
        path.name for path in package.glob("*.py") if path.name != "translate.py" and named.search(path.read_text())
    ]
    assert offenders == []
