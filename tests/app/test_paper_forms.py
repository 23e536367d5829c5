"""The outage fallback (OPS-02): numbered paper forms issued for a step with who and when in the audit trail; a value
transcribed from one names it, shows in the record and is an exception in review; a wrong number stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.execution_corrections import Entry
from ebr.bootstrap import Runtime
from ebr.domain.audit import Action
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.review import ExceptionKind
from tests.app.equipment_support import endpoint_of, values_of
from tests.app.execution_support import KIOSK, Floor, running_batch, scanned
from tests.app.review_support import run_to_completion, submit
from tests.factories import actor_of
from tests.fakes import FakeClock
from tests.web.batch_support import second_batch
from tests.web.support import entries


def _pk(floor: Floor, step_id: str, batch_id: str | None = None) -> int:
    lines = floor.rt.services.execution.batch(batch_id or floor.batch_id).steps
    return next(line.record.id for line in lines if line.record.step_id == step_id)


def _issue(floor: Floor, step_id: str = "qc_identify", batch_id: str | None = None) -> str:
    pk = _pk(floor, step_id, batch_id)
    return floor.rt.services.paper_forms.issue(actor_of(floor.operator.user), batch_id or floor.batch_id, pk).number


def _transcribe(floor: Floor, number: str, transcribed: bool = True) -> object:
    pk = _pk(floor, "qc_identify")
    view = floor.rt.services.execution.step(floor.batch_id, pk)
    field = view.form.field("qc_lot")
    assert field is not None
    entry = Entry("qc_lot", scanned(field, view.step.equipment_class), paper_form=number, transcribed=transcribed)
    return floor.rt.services.execution.enter(actor_of(floor.operator.user), floor.batch_id, pk, entry, KIOSK)


@pytest.mark.req("OPS-02")
def test_paper_forms_are_numbered_in_the_sites_sequence_and_their_issue_is_audited(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    issued_at = clock.now()
    first = _issue(floor)
    clock.advance(minutes=1)
    other = second_batch(runtime, floor)
    second = _issue(floor, batch_id=other)

    assert (first, second) == ("SITE-1-PF-000001", "SITE-1-PF-000002")
    issued = [e.draft for e in entries(runtime, object_type="paper_form")]
    assert [(d.action, d.username, d.at, json.loads(d.new_value or "{}")["number"]) for d in issued] == [
        (Action.CREATE, floor.operator.user.username, issued_at, first),
        (Action.CREATE, floor.operator.user.username, issued_at + timedelta(minutes=1), second),
    ]
    assert {d.reason for d in issued} == {"paper form issued for an outage"}
    sheet = runtime.services.paper_forms.sheet(floor.batch_id, _pk(floor, "qc_identify"), first)
    assert (sheet.batch.batch.id, sheet.step.id) == (floor.batch_id, "qc_identify")
    assert {f.id for f in sheet.fields} >= {"qc_lot", "qc_balance_id"}


@pytest.mark.req("OPS-02")
def test_a_transcribed_entry_carries_its_form_number_into_the_record_and_review_by_exception(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = running_batch(runtime, endpoint=endpoint_of(plant))
    floor.plant = plant
    number = _issue(floor)

    stored = _transcribe(floor, number)

    assert getattr(stored, "paper_form", None) == number
    run_to_completion(floor)
    submit(floor)
    review = runtime.services.review.review(floor.batch_id)
    [line] = [line for line in review.exceptions if line.exception.kind is ExceptionKind.TRANSCRIBED]
    assert f"transcribed from paper form {number}" in line.exception.summary
    record = json.dumps(runtime.services.records.record(floor.batch_id))
    assert f'"paper_form": "{number}"' in record


@pytest.mark.req("OPS-02")
@pytest.mark.parametrize("wrong", ["SITE-1-PF-424242", "", "other-batch"])
def test_a_transcription_naming_no_form_issued_for_this_step_is_refused_and_nothing_is_stored(
    runtime: Runtime, wrong: str
) -> None:
    floor = running_batch(runtime)
    _issue(floor)  # a form exists for the step, but not the one named
    number = _issue(floor, batch_id=second_batch(runtime, floor)) if wrong == "other-batch" else wrong

    with pytest.raises(InvalidInput, match="(?i)paper form"):
        _transcribe(floor, number)

    assert values_of(floor, "qc_identify") == []


def test_a_number_given_without_ticking_transcribed_is_no_flag(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    stored = _transcribe(floor, "SITE-1-PF-424242", transcribed=False)
    assert getattr(stored, "paper_form", None) == ""


def test_a_signed_step_gets_no_paper_form(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = _pk(floor, "qc_identify")
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    with pytest.raises(Conflict, match="paper forms are issued for a ready step"):
        runtime.services.paper_forms.issue(actor_of(floor.operator.user), floor.batch_id, pk)
