"""Skip, reassign and cancel exist only as signed, reasoned, audited actions; an unsigned request changes nothing."""

from __future__ import annotations

import pytest

from ebr.app.execution_context import StepNotOpen
from ebr.app.execution_corrections import Entry
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from ebr.domain.signatures import SignatureRefused
from tests.app.execution_support import KIOSK, person, running_batch
from tests.app.masterdata_support import trail
from tests.factories import actor_of, sign


def test_a_skipped_step_is_recorded_as_skipped_with_its_signed_reason_and_the_procedure_moves_on(
    runtime: Runtime,
) -> None:
    floor = running_batch(runtime)
    identify = floor.step("qc_identify").record
    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        floor.act("skip", floor.qa, "skipped", "not needed", step_pk=identify.id)
    floor.act("skip", floor.supervisor, "skipped", "material identified on the dispensing ticket", step_pk=identify.id)
    steps = runtime.services.execution.batch(floor.batch_id).steps
    assert [(s.record.step_id, s.record.status) for s in steps] == [("qc_identify", "skipped"), ("qc_weigh", "ready")]
    [action] = runtime.services.execution.batch(floor.batch_id).actions[-1:]
    assert (action.kind, action.status, action.signature_id is not None) == ("skip", "applied", True)
    assert any(e.draft.reason == "material identified on the dispensing ticket" for e in trail(runtime, "step_record"))


def test_a_step_whose_values_a_gateway_needs_cannot_be_skipped_and_nothing_changes(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    weigh = floor.step("qc_weigh").record
    with pytest.raises(Exception, match="qc_mass|gw_qc_mass"):
        floor.act("skip", floor.supervisor, "skipped", "balance broken", step_pk=weigh.id)
    assert [(s.record.step_id, s.record.status) for s in floor.open_steps()] == [("qc_weigh", "ready")]
    assert runtime.services.execution.batch(floor.batch_id).actions[-1].status == "pending"


def test_a_reassigned_step_can_be_performed_only_by_its_assignee(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    other = person(runtime, Role.OPERATOR)
    identify = floor.step("qc_identify").record
    with pytest.raises(PermissionDenied, match="batch.hold"):
        runtime.services.execution.request_action(
            actor_of(floor.operator.user), floor.batch_id, "reassign", "swap", KIOSK, step_pk=identify.id
        )
    floor.act(
        "reassign",
        floor.supervisor,
        "reassigned",
        "shift change",
        step_pk=identify.id,
        parameters={"assignee": str(other.user.id)},
    )
    with pytest.raises(PermissionDenied, match="assigned to someone else"):
        floor.enter("qc_identify", qc_lot="LOT-1")
    floor.enter("qc_identify", other, qc_lot="LOT-1")


def test_a_cancelled_batch_cancels_its_open_steps_and_its_order_and_accepts_nothing_more(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    identify = floor.step("qc_identify").record
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.execution.request_action(actor_of(floor.supervisor.user), floor.batch_id, "cancel", "", KIOSK)
    floor.act("cancel", floor.supervisor, "cancelled", "contaminated room: batch abandoned")
    view = runtime.services.execution.batch(floor.batch_id)
    assert str(view.batch.batch.status) == "cancelled"
    assert [s.record.status for s in view.steps] == ["cancelled"]
    assert str(runtime.services.orders.get(view.batch.order_id).order.status) == "cancelled"
    with pytest.raises(InvalidTransition, match="cancelled"):
        runtime.services.execution.enter(
            actor_of(floor.operator.user), floor.batch_id, identify.id, Entry("qc_lot", "LOT-1"), KIOSK
        )


def test_an_unknown_action_or_one_missing_its_step_is_refused_and_nothing_is_stored(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    execution = runtime.services.execution
    with pytest.raises(InvalidInput, match="Unknown batch action"):
        execution.request_action(actor_of(floor.supervisor.user), floor.batch_id, "delete", "tidy up", KIOSK)
    with pytest.raises(InvalidInput, match="needs step"):
        execution.request_action(actor_of(floor.supervisor.user), floor.batch_id, "skip", "not needed", KIOSK)
    with pytest.raises(InvalidInput, match="needs deviation"):
        execution.request_action(actor_of(floor.qa.user), floor.batch_id, "close", "done", KIOSK)
    assert execution.batch(floor.batch_id).actions == []
    identify = floor.step("qc_identify").record
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    with pytest.raises(StepNotOpen, match="completed"):  # a second signature of a completed step
        sign(runtime, floor.operator.user, floor.operator.token, "batch_step", str(identify.id), "performed")
