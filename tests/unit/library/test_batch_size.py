"""The nominal batch size a master declares on its process (ebr:batchSize) and limits marked to scale with it (BR-02):
read exactly, refused with the reason when malformed or misplaced."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ebr.domain.errors import InvalidInput
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.scaling import NominalBatch, scale_factor, scaled_form
from ebr.library import batch_size, forms

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">'
)


def bundle(process_size: str | None, task_size: str | None = None) -> ProcedureBundle:
    def props(value: str | None) -> str:
        if value is None:
            return ""
        prop = f'<spiffworkflow:property name="ebr:batchSize" value="{value}" />'
        properties = f"<spiffworkflow:properties>{prop}</spiffworkflow:properties>"
        return f"<bpmn:extensionElements>{properties}</bpmn:extensionElements>"

    text = (
        f'{HEAD}<bpmn:process id="mix" isExecutable="true">{props(process_size)}'
        f'<bpmn:userTask id="weigh">{props(task_size)}</bpmn:userTask></bpmn:process></bpmn:definitions>'
    )
    return ProcedureBundle.of("mix", "Mix", {"workflows/mix/procedure.bpmn": text.encode()})


def test_the_nominal_batch_size_is_read_exactly_from_the_process() -> None:
    found = bundle("120.5 kg")
    assert batch_size.nominal_batch(found) == NominalBatch(Decimal("120.5"), "kg")
    assert batch_size.problems(found) == []
    assert batch_size.nominal_batch(bundle(None)) is None


@pytest.mark.parametrize(
    ("process_size", "task_size", "reason"),
    [
        ("120", None, "is not a quantity and unit"),
        ("0 kg", None, "is not a positive quantity"),
        ("5 tonnes", None, "unit 'tonnes' is not one of"),
        (None, "5 kg", "belongs on the process"),
    ],
)
def test_a_malformed_or_misplaced_batch_size_is_a_lint_problem_and_scales_nothing(
    process_size: str | None, task_size: str | None, reason: str
) -> None:
    found = bundle(process_size, task_size)
    assert any(reason in problem.reason for problem in batch_size.problems(found))
    assert batch_size.nominal_batch(found) is None


NET = {"id": "net", "label": "Net", "type": "quantity", "unit": "kg", "limits": {"min": "1", "max": "30"}}


def form_bytes(limits: dict[str, object]) -> bytes:
    return json.dumps({"id": "weigh", "title": "Weigh", "fields": [{**NET, "limits": limits}]}).encode()


def test_scale_needs_a_target_and_scales_only_target_and_tolerance_exactly() -> None:
    refused = forms.problems("forms/weigh.json", form_bytes({"min": "1", "scale": True}))
    assert any("'scale' scales a 'target'" in str(problem) for problem in refused)
    limits = {"target": "12.345", "tolerance": "0.010", "min": "1", "scale": True}
    form = forms.read("forms/weigh.json", form_bytes(limits))
    limit = scaled_form(form, Decimal("2.5")).fields[0].limit
    assert limit is not None
    assert (limit.target, limit.tolerance, limit.minimum) == (Decimal("30.8625"), Decimal("0.0250"), Decimal(1))
    unscaled = forms.read("forms/weigh.json", form_bytes({"target": "12.345", "tolerance": "0.010"}))
    assert scaled_form(unscaled, Decimal(2)) is unscaled


def test_the_scale_factor_is_planned_over_nominal_and_refused_across_units() -> None:
    nominal = NominalBatch(Decimal(120), "kg")
    assert scale_factor(nominal, Decimal(240), "kg") == Decimal(2)
    assert scale_factor(None, Decimal(240), "kg") == 1
    with pytest.raises(InvalidInput, match="planned in 'g'"):
        scale_factor(nominal, Decimal(120000), "g")
