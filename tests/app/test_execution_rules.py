"""The execution rules, each refused with a clear error and nothing stored: sequence, completeness, holds,
limits, double entry, late entries, corrections that keep the original, terminals and training."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.execution_context import StepNotOpen
from ebr.app.execution_corrections import Entry, OutOfLimit
from ebr.app.step_completion import StepIncomplete
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from ebr.domain.signatures import SignatureRefused
from tests.app.execution_support import KIOSK, Floor, effective_variant, person, running_batch
from tests.factories import actor_of
from tests.fakes import FakeClock

OVERRIDE = "balance offline"


def _values(floor: Floor) -> int:
    view = floor.rt.services.execution.batch(floor.batch_id)
    return sum(len(floor.rt.services.execution.step(floor.batch_id, s.record.id).fields) for s in view.steps)


def _weigh(mass: str, confirmed: bool = False) -> Entry:
    return Entry("qc_mass", mass, "kg", confirmed, None, OVERRIDE)


def _history(floor: Floor, step_id: str, field_id: str) -> list[str | None]:
    record = next(
        s.record for s in floor.rt.services.execution.batch(floor.batch_id).steps if s.record.step_id == step_id
    )
    view = floor.rt.services.execution.step(floor.batch_id, record.id)
    return [v.value for f in view.fields if f.field.id == field_id for v in f.history]


@pytest.mark.req("SEQ-01")
def test_a_value_for_a_step_that_is_not_ready_is_refused_and_nothing_is_written(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    done = next(
        s.record for s in runtime.services.execution.batch(floor.batch_id).steps if s.record.status == "completed"
    )
    before = runtime.services.execution.step(floor.batch_id, done.id).fields
    with pytest.raises(StepNotOpen, match="completed"):
        runtime.services.execution.enter(
            actor_of(floor.operator.user), floor.batch_id, done.id, Entry("qc_lot", "X"), KIOSK
        )
    assert runtime.services.execution.step(floor.batch_id, done.id).fields == before


def test_a_forged_step_id_or_a_step_of_another_batch_is_not_found(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    with pytest.raises(NotFound):
        runtime.services.execution.enter(
            actor_of(floor.operator.user), floor.batch_id, 99999, Entry("qc_lot", "X"), KIOSK
        )
    with pytest.raises(NotFound):
        runtime.services.execution.enter(actor_of(floor.operator.user), "B-NONE", 1, Entry("qc_lot", "X"), KIOSK)


def _cursor(runtime: Runtime, batch_id: str) -> str:
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        return uow.batches.state(uow.batches.get(batch_id).id)[1]


def test_wrong_type_unknown_field_and_wrong_unit_are_refused_with_the_rule_named(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    cursor = _cursor(runtime, floor.batch_id)
    with pytest.raises(InvalidInput, match="not a number"):
        floor.enter("qc_weigh", qc_mass=_weigh("heavy"))
    with pytest.raises(InvalidInput, match="no field 'nope'"):
        floor.enter("qc_weigh", nope=Entry("nope", "1"))
    with pytest.raises(InvalidInput, match="wrong unit"):
        floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "g", override_reason=OVERRIDE))
    with pytest.raises(InvalidInput, match="needs a reason"):
        floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg"))
    assert _history(floor, "qc_weigh", "qc_mass") == []
    assert _cursor(runtime, floor.batch_id) == cursor  # the engine state is untouched


@pytest.mark.req("SEQ-02")
def test_without_the_verifier_signature_the_next_step_is_not_ready(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    with pytest.raises(StepIncomplete, match="missing Net mass"):
        floor.sign_step("qc_weigh")
    floor.enter("qc_weigh", qc_mass=_weigh("1.000"))
    floor.sign_step("qc_weigh")
    assert [(s.record.step_id, s.record.status) for s in floor.open_steps()] == [("qc_weigh", "performed")]
    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        floor.sign_step("qc_weigh", "verified", floor.operator)
    floor.sign_step("qc_weigh", "verified", floor.supervisor)
    assert [s.record.step_id for s in floor.open_steps()] == ["qc_label"]


@pytest.mark.req("SEQ-08")
def test_verification_by_the_performer_or_without_the_verifier_role_is_refused(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    both = person(runtime, Role.OPERATOR, Role.SUPERVISOR)  # may perform and verify, but never both on one step
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", both, qc_mass=_weigh("1.000"))
    floor.sign_step("qc_weigh", "performed", both)
    with pytest.raises(SignatureRefused, match="different person"):
        floor.sign_step("qc_weigh", "verified", both)
    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        floor.sign_step("qc_weigh", "verified", floor.operator)
    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        floor.sign_step("qc_weigh", "verified", floor.qa)  # the step narrows verification to supervisors
    assert [s.record.status for s in floor.open_steps()] == ["performed"]


@pytest.mark.req("SEQ-04")
def test_nothing_executes_while_held_and_only_a_signed_resume_releases_the_hold(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    floor.act("hold", floor.supervisor, "held", "scale calibration overdue")
    with pytest.raises(InvalidTransition, match="on hold"):
        floor.enter("qc_identify", qc_lot="LOT-1")
    pending = runtime.services.execution.request_action(
        actor_of(floor.supervisor.user), floor.batch_id, "resume", "calibrated", KIOSK
    )
    assert str(runtime.services.execution.batch(floor.batch_id).batch.batch.status) == "held"  # unsigned: no effect
    with pytest.raises(InvalidTransition, match="on hold"):
        floor.enter("qc_identify", qc_lot="LOT-1")
    clock.advance(minutes=20)
    floor.relogin()
    from tests.factories import sign

    sign(runtime, floor.supervisor.user, floor.supervisor.token, "batch_action", str(pending.id), "resumed")
    assert str(runtime.services.execution.batch(floor.batch_id).batch.batch.status) == "in_progress"
    floor.enter("qc_identify", qc_lot="LOT-1")
    with pytest.raises(PermissionDenied, match="batch.hold"):
        floor.act("hold", floor.operator, "held", "operators cannot hold")


@pytest.mark.req("SEQ-09")
@pytest.mark.limits
def test_limits_at_the_edges_pass_and_outside_them_need_confirmation_and_open_a_deviation(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    for edge in ("0.990", "1.010"):
        assert floor.enter("qc_weigh", qc_mass=_weigh(edge))[0].within_limits is True
    for outside in ("1.011", "0.989"):
        with pytest.raises(OutOfLimit, match="outside"):
            floor.enter("qc_weigh", qc_mass=_weigh(outside))
    with pytest.raises(InvalidInput, match="wrong unit"):
        floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "g", override_reason=OVERRIDE))
    assert _history(floor, "qc_weigh", "qc_mass") == ["0.990", "1.010"]  # nothing stored silently
    confirmed = [floor.enter("qc_weigh", qc_mass=_weigh(v, confirmed=True))[0] for v in ("1.011", "0.989")]
    assert all(v.within_limits is False and v.deviation_id is not None for v in confirmed)
    deviations = {d.id: d for d in runtime.services.execution.batch(floor.batch_id).deviations}
    assert [deviations[v.deviation_id].kind for v in confirmed if v.deviation_id] == ["out_of_limit"] * 2
    assert "±" in confirmed[1].limit_text or "0.990" in confirmed[1].limit_text  # shown with its limit
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    assert [s.record.step_id for s in floor.open_steps()] == ["qc_deviation"]  # the procedure's deviation path


def test_a_change_before_signing_and_a_signed_correction_after_it_both_keep_the_original(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_identify", qc_lot=Entry("qc_lot", "LOT-2", change_reason="scanned the wrong drum"))
    floor.sign_step("qc_identify")
    record = next(
        s.record for s in runtime.services.execution.batch(floor.batch_id).steps if s.record.step_id == "qc_identify"
    )
    floor.act(
        "correct",
        floor.operator,
        "corrected",
        "lot number misread",
        step_pk=record.id,
        parameters={"field": "qc_lot", "value": "LOT-3"},
    )
    history = runtime.services.execution.step(floor.batch_id, record.id).fields[0].history
    assert [(v.value, v.after_signing, v.change_reason) for v in history] == [
        ("LOT-1", False, ""),
        ("LOT-2", False, "scanned the wrong drum"),
        ("LOT-3", True, "lot number misread"),
    ]
    assert history[2].supersedes_id == history[1].id and history[2].signature_id is not None


def test_each_entry_is_stored_at_once_and_one_after_the_window_is_flagged_late(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    first = floor.enter("qc_identify", qc_lot="LOT-1")[0]
    assert _history(floor, "qc_identify", "qc_lot") == ["LOT-1"]  # saved before the step is signed
    clock.advance(minutes=31)
    late = floor.enter("qc_identify", qc_balance_id="BAL-1")[0]
    assert (first.late, late.late) == (False, True)
    assert (first.terminal, first.captured_by) == ("kiosk-7", floor.operator.user.id)


@pytest.mark.req("DEV-05")
def test_entries_record_their_terminal_and_a_restricted_step_refuses_an_unregistered_one(runtime: Runtime) -> None:
    floor = running_batch(runtime, "quick_check", "QC-SAMPLE", "ebr:terminal=registered")
    kiosk = replace(KIOSK, terminal="Kiosk granulation", terminal_registered=True)
    record = floor.step("qc_identify").record
    with pytest.raises(PermissionDenied, match="registered terminal"):
        floor.enter("qc_identify", qc_lot="LOT-1")
    assert _history(floor, "qc_identify", "qc_lot") == []
    stored = runtime.services.execution.enter(
        actor_of(floor.operator.user), floor.batch_id, record.id, Entry("qc_lot", "LOT-1"), kiosk
    )
    assert stored.terminal == "Kiosk granulation"


@pytest.mark.req("ACC-09")
def test_a_step_requiring_training_is_refused_with_training_expired_once_it_lapses(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime, "quick_check", "QC-SAMPLE", "ebr:training=QC-101")
    with pytest.raises(PermissionDenied, match="no training record"):
        floor.enter("qc_identify", qc_lot="LOT-1")
    now = clock.now()
    runtime.services.training.record(
        actor_of(floor.supervisor.user),
        floor.operator.user.username,
        "QC-101",
        now - timedelta(days=300),
        now + timedelta(days=1),
        "annual QC training",
    )
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    clock.advance(days=2)
    floor.relogin()
    with pytest.raises(PermissionDenied, match="training expired"):
        floor.sign_step("qc_identify")
    assert [s.record.status for s in floor.open_steps()] == ["ready"]


@pytest.mark.req("VAL-09")
def test_a_batch_stays_on_its_version_when_a_new_one_becomes_effective(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pinned = runtime.services.execution.batch(floor.batch_id).batch.batch
    newer = effective_variant(runtime, "QC-SAMPLE", title="Identify the material (v2)")
    assert runtime.services.procedures.view(newer).version.content_hash != pinned.procedure_hash
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", qc_mass=_weigh("1.000"))
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    floor.perform("qc_label", qc_label_applied="yes", qc_container="C-1")
    floor.perform("qc_confirm", qc_returned="yes")
    done = runtime.services.execution.batch(floor.batch_id)
    assert str(done.batch.batch.status) == "completed"
    assert (done.batch.batch.procedure_version_id, done.batch.batch.procedure_hash) == (
        pinned.procedure_version_id,
        pinned.procedure_hash,
    )
    assert done.steps[0].name == "Identify material and balance"  # the old wording, not v2's
