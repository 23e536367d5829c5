"""A signed correction invalidates the step's signatures, which stay as history, and the step needs re-signing with
the same meanings over its content as it is now; release waits for it, naming the step (SIG-03)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.execution_corrections import Entry
from ebr.app.execution_resign import ResignState
from ebr.app.ports import StoredSignature
from ebr.bootstrap import Runtime
from ebr.domain.batch import ReleaseBlocked
from ebr.domain.errors import Conflict
from ebr.domain.signatures import SignatureRefused
from tests.app.execution_support import Floor, Person, running_batch
from tests.app.review_support import completed_batch, request, reviewer, submit
from tests.fakes import FakeClock
from tests.integration.db.tampering import as_owner


def _pk(floor: Floor, step_id: str) -> int:
    return next(
        s.record.id for s in floor.rt.services.execution.batch(floor.batch_id).steps if s.record.step_id == step_id
    )


def _state(floor: Floor, step_id: str) -> ResignState:
    return floor.rt.services.execution.step(floor.batch_id, _pk(floor, step_id)).resign


def _correct(floor: Floor, step_id: str, field: str, value: str) -> None:
    parameters = {"field": field, "value": value}
    floor.act("correct", floor.operator, "corrected", "misread", step_pk=_pk(floor, step_id), parameters=parameters)


def _resign(floor: Floor, step_id: str, meaning: str, by: Person, through: int | None = None) -> object:
    state = _state(floor, step_id)
    parameters = {"through": str(through if through is not None else state.through)}
    return floor.act(f"resign_{meaning}", by, meaning, "re-signed", step_pk=_pk(floor, step_id), parameters=parameters)


def _weighed_and_verified(runtime: Runtime) -> Floor:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", override_reason="balance offline"))
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    return floor


@pytest.mark.req("SIG-03")
def test_a_correction_marks_both_step_signatures_invalidated_at_its_time_and_the_step_needs_re_signing(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = _weighed_and_verified(runtime)
    signed = runtime.services.signing.signatures_on("batch_step", str(_pk(floor, "qc_weigh")))
    corrected_at = clock.advance(minutes=5)

    _correct(floor, "qc_weigh", "qc_mass", "1.002")

    state = _state(floor, "qc_weigh")
    assert [(i.signature.id, i.changed_at, i.field_id) for i in state.invalidated] == [
        (s.id, corrected_at, "qc_mass") for s in signed
    ]
    assert state.awaiting == ["performed", "verified"]
    assert _state(floor, "qc_identify").awaiting == []  # only the corrected step


@pytest.mark.req("SIG-03")
def test_re_signing_covers_the_corrected_content_keeps_the_invalidation_as_history_and_verifies(
    runtime: Runtime,
) -> None:
    floor = _weighed_and_verified(runtime)
    _correct(floor, "qc_weigh", "qc_mass", "1.002")

    performed = _resign(floor, "qc_weigh", "performed", floor.supervisor)
    with pytest.raises(SignatureRefused, match="needs one of the roles qa, supervisor"):
        _resign(floor, "qc_weigh", "verified", floor.operator)  # the site policy's rule for 'verified' on a step
    with pytest.raises(SignatureRefused, match="different person"):
        _resign(floor, "qc_weigh", "verified", floor.supervisor)
    verified = _resign(floor, "qc_weigh", "verified", floor.qa)

    state = _state(floor, "qc_weigh")
    assert state.awaiting == [] and len(state.invalidated) == 2  # history stays
    assert [(s.meaning, s.signer_id) for s in state.resignatures] == [
        ("performed", floor.supervisor.user.id),
        ("verified", floor.qa.user.id),
    ]
    assert isinstance(performed, StoredSignature) and isinstance(verified, StoredSignature)
    assert runtime.services.signing.verify() == []


@pytest.mark.req("SIG-03")
def test_the_re_signature_covers_the_corrected_value_a_raw_change_of_it_fails_verification(
    runtime: Runtime, owner_url: str
) -> None:
    floor = _weighed_and_verified(runtime)
    _correct(floor, "qc_weigh", "qc_mass", "1.002")
    _resign(floor, "qc_weigh", "performed", floor.operator)
    [action] = _state(floor, "qc_weigh").resigned
    with as_owner(owner_url, ("step_value_no_update",)) as conn:
        conn.execute(text("UPDATE step_value SET value = '1.009' WHERE field_id = 'qc_mass' AND after_signing"))

    findings = runtime.services.signing.verify()

    assert ("batch_action", str(action.id)) in {(f.object_type, f.object_id) for f in findings}


@pytest.mark.req("SIG-03")
def test_a_further_correction_asks_for_re_signing_again_and_a_stale_re_signature_is_refused(runtime: Runtime) -> None:
    floor = _weighed_and_verified(runtime)
    _correct(floor, "qc_weigh", "qc_mass", "1.002")
    stale = _state(floor, "qc_weigh").through
    _resign(floor, "qc_weigh", "performed", floor.operator)
    _resign(floor, "qc_weigh", "verified", floor.qa)

    _correct(floor, "qc_weigh", "qc_mass", "1.003")

    assert _state(floor, "qc_weigh").awaiting == ["performed", "verified"]
    with pytest.raises(Conflict, match="corrected again"):
        _resign(floor, "qc_weigh", "performed", floor.operator, through=stale)
    assert _state(floor, "qc_weigh").awaiting == ["performed", "verified"]


@pytest.mark.req("SIG-03")
def test_release_waits_for_the_re_signature_naming_the_step_then_no_longer(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    _correct(floor, "qc_identify", "qc_lot", "LOT-7")
    submit(floor)
    name = runtime.services.execution.step(floor.batch_id, _pk(floor, "qc_identify")).step.name

    owed = f"step {name} (pass 1) awaits re-signing (performed) after a correction"
    assert owed in runtime.services.review.review(floor.batch_id).blockers
    with pytest.raises(ReleaseBlocked) as refused:
        request(floor, reviewer(runtime))  # the release decision itself is refused, naming the step
    assert owed in refused.value.blockers

    [invalidated] = _state(floor, "qc_identify").invalidated
    key = f"signature:{invalidated.signature.id}"
    assert f"exception {key} is not acknowledged by the reviewer" in refused.value.blockers

    _resign(floor, "qc_identify", "performed", floor.operator)

    review = runtime.services.review.review(floor.batch_id)
    assert not [b for b in review.blockers if "re-signing" in b or key in b]  # the exception no longer blocks
    assert key in {line.exception.key for line in review.exceptions}  # but stays listed as history
    assert len(_state(floor, "qc_identify").invalidated) == 1
