"""Voiding an entry of a step not yet signed: a new row superseding the entry, with its reason and audited;
the voided required field must be entered again before signing; every refusal stores nothing (REC-02, REC-04)."""

from __future__ import annotations

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter, StoredValue
from ebr.app.step_completion import StepIncomplete
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied
from tests.app.execution_support import KIOSK, Floor, Person, person, running_batch
from tests.factories import actor_of

REASON = "entered on the wrong container"


def _void(floor: Floor, value_pk: int, reason: str = REASON, who: Person | None = None) -> StoredValue:
    record = floor.step("qc_identify").record
    by = (who or floor.operator).user
    return floor.rt.services.execution.void(actor_of(by), floor.batch_id, record.id, value_pk, reason, KIOSK)


def _stored(rt: Runtime, floor: Floor) -> list[StoredValue]:
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return uow.step_values.for_batch(rt.services.batches.get(floor.batch_id).id)


def test_a_void_supersedes_the_entry_with_its_reason_and_is_audited(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    [entered] = floor.enter("qc_identify", qc_lot="LOT-1")
    voided = _void(floor, entered.id, "  " + REASON + " ")
    assert (voided.supersedes_id, voided.value, voided.void_reason, voided.voided) == (entered.id, None, REASON, True)
    assert voided.captured_by == floor.operator.user.id and voided.change_reason == REASON
    assert _stored(runtime, floor)[-2:] == [entered, voided]  # the entry stays as it was entered
    view = runtime.services.execution.step(floor.batch_id, floor.step("qc_identify").record.id)
    lot = next(f for f in view.fields if f.field.id == "qc_lot")
    assert lot.current == voided and lot.history == [entered, voided]
    [audited] = runtime.services.trail.query(AuditFilter(object_type="step_value", object_id=str(voided.id)), None)
    assert audited.draft.user_id == floor.operator.user.id and REASON in audited.draft.reason


def test_a_voided_required_value_must_be_entered_again_before_the_step_is_signed(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    lot, _ = floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    voided = _void(floor, lot.id)
    with pytest.raises(StepIncomplete, match="(?i)lot"):
        floor.sign_step("qc_identify")
    assert floor.step("qc_identify").record.status == "ready"
    [again] = floor.enter("qc_identify", qc_lot="LOT-1")
    floor.sign_step("qc_identify")
    assert again.value == "LOT-1" and again.supersedes_id == voided.id
    assert not any(line.record.step_id == "qc_identify" for line in floor.open_steps())


def test_a_supervisor_may_void_an_operators_entry(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    [entered] = floor.enter("qc_identify", qc_lot="LOT-1")
    voided = _void(floor, entered.id, who=floor.supervisor)
    assert voided.captured_by == floor.supervisor.user.id and voided.supersedes_id == entered.id


def test_every_refused_void_says_why_and_stores_nothing(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    [entered] = floor.enter("qc_identify", qc_lot="LOT-1")
    other = person(runtime, Role.OPERATOR)
    before = _stored(runtime, floor)
    with pytest.raises(InvalidInput, match="reason"):
        _void(floor, entered.id, "  ")
    with pytest.raises(InvalidInput, match="no entry 999999"):
        _void(floor, 999999)
    with pytest.raises(PermissionDenied, match="who entered the value, or a supervisor"):
        _void(floor, entered.id, who=other)
    with pytest.raises(PermissionDenied):
        _void(floor, entered.id, who=floor.qa)  # QA does not execute batches
    assert _stored(runtime, floor) == before
    voided = _void(floor, entered.id)
    for value_pk in (entered.id, voided.id):
        with pytest.raises(Conflict, match="already voided"):
            _void(floor, value_pk)
    assert _stored(runtime, floor) == [*before, voided]


def test_a_signed_steps_entry_is_not_voided_but_corrected(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    record = floor.step("qc_identify").record
    lot, _ = floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.sign_step("qc_identify")
    before = _stored(runtime, floor)
    with pytest.raises(Conflict, match="signed correction"):
        runtime.services.execution.void(actor_of(floor.operator.user), floor.batch_id, record.id, lot.id, REASON, KIOSK)
    assert _stored(runtime, floor) == before


def test_a_superseded_entry_is_not_voided(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    [first] = floor.enter("qc_identify", qc_lot="LOT-1")
    [second] = floor.enter("qc_identify", qc_lot="LOT-2")
    with pytest.raises(Conflict, match=f"superseded by entry {second.id}"):
        _void(floor, first.id)
