"""Critical manual data needs an accuracy check: entered twice, a mismatch refused, a match accepted (DEV-04)."""

from __future__ import annotations

import pytest

from ebr.app.execution_corrections import Entry
from ebr.app.step_completion import StepIncomplete
from ebr.bootstrap import Runtime
from ebr.domain.errors import InvalidInput
from tests.app.execution_support import advance_to, fill, running_batch
from tests.fakes import FakeClock


@pytest.mark.req("DEV-04")
def test_a_double_entry_mismatch_is_refused_and_a_match_is_accepted(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500")
    advance_to(floor, clock.now(), "confirm_batch_order")
    field = "batch_order"
    with pytest.raises(InvalidInput, match="the two entries differ"):
        floor.enter("confirm_batch_order", **{field: Entry(field, "B-9001", repeat="B-9010")})
    single = floor.enter("confirm_batch_order", **{field: Entry(field, "B-9001")})[0]
    assert single.double_checked is False
    fill(floor, "confirm_batch_order", clock.now(), **{field: "B-9001"})
    record = floor.step("confirm_batch_order").record
    view = runtime.services.execution.step(floor.batch_id, record.id)
    [checked] = [f.current for f in view.fields if f.field.id == field]
    assert checked is not None and checked.double_checked and checked.value == "B-9001"
    floor.sign_step("confirm_batch_order")
    assert floor.step("check_room_conditions")


def test_a_step_with_an_unconfirmed_double_entry_field_cannot_be_signed(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500")
    advance_to(floor, clock.now(), "confirm_batch_order")
    fill(floor, "confirm_batch_order", clock.now())
    floor.enter("confirm_batch_order", batch_order=Entry("batch_order", "B-9002"))  # changed, once only
    with pytest.raises(StepIncomplete, match="not confirmed by a second entry: "):
        floor.sign_step("confirm_batch_order")
