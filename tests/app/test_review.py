"""Review by exception through the application services: every exception listed and acknowledged (QA-03), the
batch's audit trail reviewed with a signature (AUD-09), and submission for review."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.execution_corrections import Entry
from ebr.app.scans import ScanRefused
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import Action
from ebr.domain.batch import BatchStatus, ReleaseBlocked
from ebr.domain.equipment import DeviceFault
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from ebr.domain.review import ExceptionKind
from ebr.domain.signatures import SignatureRefused
from tests.app.equipment_support import endpoint_of
from tests.app.execution_support import KIOSK, Floor, advance_to, fill, person, running_batch
from tests.app.masterdata_support import trail
from tests.app.review_support import (
    acknowledge_all,
    completed_batch,
    dead_endpoint,
    decide,
    in_review,
    relabel_batch,
    review_trail,
    reviewer,
    run_to_completion,
    submit,
)
from tests.factories import actor_of, sign
from tests.fakes import FakeClock
from tests.web.batch_support import second_batch

# The exceptions QA-03 names, and the kinds this system adds (signed departures from the procedure).
QA03_KINDS = {
    ExceptionKind.DEVIATION,
    ExceptionKind.OUT_OF_LIMIT,
    ExceptionKind.OVERRIDE,
    ExceptionKind.CORRECTION,
    ExceptionKind.LATE_ENTRY,
    ExceptionKind.REWORK,
    ExceptionKind.FAILED_SCAN,
    ExceptionKind.DEVICE_ERROR,
    ExceptionKind.SIGNATURE_INVALIDATED,
}


def _weigh_with_every_mishap(floor: Floor) -> None:
    """A refused capture, a typed-over value outside its limits, corrected before signing."""
    with pytest.raises(DeviceFault):
        floor.capture("qc_weigh", "qc_mass")
    typed = Entry("qc_mass", "1.050", "kg", True, None, "balance unreachable")
    floor.enter("qc_weigh", qc_mass=typed)
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", True, None, "balance unreachable", "re-weighed"))
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")


def _label_twice_and_correct(floor: Floor) -> None:
    """The label is not applied on the first pass (rework), and its container number is corrected once signed."""
    floor.enter("qc_label", qc_label_applied="no", qc_container="CN-1")
    floor.sign_step("qc_label")
    first = next(s for s in floor.rt.services.execution.batch(floor.batch_id).steps if s.record.step_id == "qc_label")
    parameters = {"field": "qc_container", "value": "CN-7"}
    floor.act(
        "correct",
        floor.operator,
        "corrected",
        "container number misread",
        step_pk=first.record.id,
        parameters=parameters,
    )
    floor.enter("qc_label", qc_label_applied="yes", qc_container="CN-2")
    floor.sign_step("qc_label")


def batch_with_every_exception(runtime: Runtime, clock: FakeClock) -> Floor:
    """One batch with one exception of each kind QA-03 names, each made the way the floor makes it."""
    floor = relabel_batch(runtime, dead_endpoint())
    clock.advance(minutes=31)  # past the late-entry window of the first step
    floor.relogin()
    with pytest.raises(ScanRefused):
        floor.enter("qc_identify", qc_lot="C-NOT-A-CONTAINER")
    floor.enter("qc_identify", qc_lot="C-MCC-101", qc_balance_id="EQ-BALANCE")
    floor.sign_step("qc_identify")
    _weigh_with_every_mishap(floor)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "label printer jammed", "labels by hand", KIOSK
    )
    floor.act("hold", floor.supervisor, "held", "label printer jammed")
    floor.act("resume", floor.supervisor, "resumed", "printer repaired")
    _label_twice_and_correct(floor)
    floor.enter("qc_confirm", qc_returned="yes")
    floor.sign_step("qc_confirm")
    submit(floor)
    return floor


@pytest.mark.req("QA-03")
@pytest.mark.slow
def test_every_kind_of_exception_is_listed_first_and_each_acknowledgement_is_recorded(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = batch_with_every_exception(runtime, clock)
    view = runtime.services.review.review(floor.batch_id)
    kinds = {line.exception.kind for line in view.exceptions}
    assert kinds >= QA03_KINDS, QA03_KINDS - kinds
    assert ExceptionKind.BATCH_ACTION in kinds
    assert view.exceptions[0].exception.kind is ExceptionKind.DEVIATION  # the page leads with the most urgent
    assert all(line.mark is None for line in view.exceptions)
    corrections = [line for line in view.exceptions if line.exception.kind is ExceptionKind.CORRECTION]
    assert len(corrections) == 2  # before signing on the weighing, after signing on the first label
    for line in corrections:  # each with its audit entries: the new value and the one it replaced
        assert {e.draft.object_type for e in line.entries} == {"step_value"} and len(line.entries) >= 2

    qa = reviewer(runtime)
    marks = acknowledge_all(floor, qa, "reviewed with the shift log")

    after = runtime.services.review.review(floor.batch_id)
    assert [m.key for m in marks] == [line.exception.key for line in view.exceptions]
    assert all(line.mark is not None and line.mark.marked_by == qa.user.id for line in after.exceptions)
    assert all(line.mark and line.mark.comment == "reviewed with the shift log" for line in after.exceptions)
    recorded = [e for e in trail(runtime, "review_mark") if e.draft.action is Action.CREATE]
    assert sorted(int(e.draft.object_id) for e in recorded) == sorted(m.id for m in marks)
    assert all(e.draft.username == qa.user.username for e in recorded)
    assert not any("is not acknowledged" in b for b in after.blockers)


def test_an_acknowledgement_needs_a_comment_an_existing_exception_and_qa(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "spill cleaned", "", KIOSK
    )
    key = runtime.services.review.review(floor.batch_id).exceptions[0].exception.key
    qa = reviewer(runtime)
    review = runtime.services.review
    with pytest.raises(InvalidInput, match="comment"):
        review.acknowledge(actor_of(qa.user), floor.batch_id, key, "   ")
    with pytest.raises(InvalidInput, match="no exception 'value:999:late'"):
        review.acknowledge(actor_of(qa.user), floor.batch_id, "value:999:late", "looked")
    with pytest.raises(PermissionDenied):
        review.acknowledge(actor_of(floor.supervisor.user), floor.batch_id, key, "looked")
    assert review.marks(floor.batch_id, key) == []


def test_acknowledging_twice_keeps_both_marks_and_the_latest_counts(
    runtime: Runtime, plant: SimulatedPlant, clock: FakeClock
) -> None:
    floor = in_review(runtime, plant)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "spill cleaned", "", KIOSK
    )
    key = runtime.services.review.review(floor.batch_id).exceptions[0].exception.key
    first, second = reviewer(runtime), reviewer(runtime)
    runtime.services.review.acknowledge(actor_of(first.user), floor.batch_id, key, "first look")
    clock.advance(minutes=1)
    runtime.services.review.acknowledge(actor_of(second.user), floor.batch_id, key, "second look")
    [line] = runtime.services.review.review(floor.batch_id).exceptions
    assert [m.comment for m in line.marks] == ["first look", "second look"]
    assert line.mark is not None and (line.mark.marked_by, line.mark.marked_at) == (second.user.id, clock.now())


def test_a_completed_batch_is_submitted_for_review_by_a_supervisor_with_its_reason(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    with pytest.raises(PermissionDenied):
        runtime.services.review.submit_for_review(actor_of(floor.operator.user), floor.batch_id, "done")
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.review.submit_for_review(actor_of(floor.supervisor.user), floor.batch_id, " ")
    submit(floor)
    queue = runtime.services.review.queue()
    assert [b.batch.id for b in queue.in_review.items] == [floor.batch_id] and queue.completed.items == []
    stored = runtime.services.batches.get(floor.batch_id)
    entry = [e for e in trail(runtime, "batch", str(stored.id)) if e.draft.field == "status"][-1]
    assert (entry.draft.old_value, entry.draft.new_value) == ("completed", "in_review")
    assert (entry.draft.username, entry.draft.reason) == (
        floor.supervisor.user.username,
        "batch completed, record checked",
    )
    with pytest.raises(InvalidTransition, match="in_review"):
        submit(floor)


def test_nothing_is_acknowledged_once_the_batch_is_decided(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "spill", "", KIOSK
    )
    key = runtime.services.review.review(floor.batch_id).exceptions[0].exception.key
    qa = reviewer(runtime)
    decide(floor, qa, "reject", "spill contaminated the sample")
    with pytest.raises(InvalidTransition, match="rejected"):
        runtime.services.review.acknowledge(actor_of(qa.user), floor.batch_id, key, "late look")
    assert runtime.services.review.marks(floor.batch_id, key) == []


@pytest.mark.req("AUD-09")
def test_the_review_includes_the_batch_audit_entries_and_a_new_entry_makes_the_signed_review_stale(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    stored = runtime.services.batches.get(floor.batch_id)
    view = runtime.services.review.review(floor.batch_id)
    types = {e.draft.object_type for e in view.trail}
    assert {"batch", "step_record", "step_value", "batch_step", "equipment_use", "identity_check"} <= types
    assert all(e.draft.object_type != "user" for e in view.trail)  # only the batch's own critical data
    assert any(e.draft.action is Action.SIGN and e.draft.object_type == "batch_step" for e in view.trail)
    assert "the audit trail has no 'audit trail reviewed' signature" in view.blockers

    qa = reviewer(runtime)
    opened, signature = review_trail(floor, qa)
    assert (opened.head_seq, opened.head_hash) == (view.trail[-1].seq, view.trail[-1].hash)
    assert (signature.meaning, signature.meaning_text, signature.signer_id) == ("reviewed", "Reviewed by", qa.user.id)
    reviewed = runtime.services.review.review(floor.batch_id)
    assert [r.current for r in reviewed.trail_reviews] == [True]
    assert not any("audit trail" in b for b in reviewed.blockers)

    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "found a spill", "", KIOSK
    )
    stale = runtime.services.review.review(floor.batch_id)
    assert [r.current for r in stale.trail_reviews] == [False]
    assert f"the audit trail changed since it was reviewed (entries after #{opened.head_seq})" in stale.blockers
    assert stored.id == stale.batch.id


def test_a_trail_opened_for_review_that_changes_before_signing_is_refused(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    qa = reviewer(runtime)
    opened = runtime.services.review.open_trail_review(actor_of(qa.user), floor.batch_id)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "found a spill", "", KIOSK
    )
    with pytest.raises(Conflict, match="changed after it was opened"):
        sign(runtime, qa.user, qa.token, "batch_review", str(opened.id), "reviewed")
    assert runtime.services.signing.signatures_on("batch_review", str(opened.id)) == []


def test_whoever_verified_a_step_cannot_sign_the_audit_trail_review(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = running_batch(runtime, endpoint=endpoint_of(plant))
    floor.plant = plant
    floor.supervisor = person(runtime, Role.SUPERVISOR, Role.QA)  # verifies the weighing, and holds QA too
    run_to_completion(floor)
    submit(floor)
    both = floor.supervisor
    opened = runtime.services.review.open_trail_review(actor_of(both.user), floor.batch_id)
    with pytest.raises(SignatureRefused, match="different person from the 'verified' signer"):
        sign(runtime, both.user, both.token, "batch_review", str(opened.id), "reviewed")
    assert runtime.services.signing.signatures_on("batch_review", str(opened.id)) == []


def test_by_default_release_waits_for_a_rendered_release_candidate(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    qa = reviewer(runtime)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    assert runtime.services.review.review(floor.batch_id).blockers == ["no release candidate PDF has been rendered yet"]
    with pytest.raises(ReleaseBlocked, match="no release candidate PDF has been rendered"):
        decide(floor, qa)
    assert runtime.services.batches.get(floor.batch_id).batch.status is BatchStatus.IN_REVIEW


def test_the_trail_qa_reviews_is_the_trail_the_record_prints(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    floor.rt.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "label smudged", "", KIOSK
    )
    reviewed = [e.seq for e in runtime.services.review.review(floor.batch_id).trail]
    printed = [e["seq"] for e in runtime.services.records.record(floor.batch_id)["audit_trail"]]  # type: ignore[index]
    assert reviewed == printed and len(printed) > 10


def _in_order(words: list[str], wanted: list[str]) -> bool:
    """The wanted words appear in this order, within a short stretch (other table columns may sit between them)."""
    for start in (i for i, word in enumerate(words) if word == wanted[0]):
        window = iter(words[start : start + 8 * len(wanted)])
        if all(any(w == want for w in window) for want in wanted):  # each found after the one before
            return True
    return False


@pytest.mark.req("DEV-03")
def test_typing_over_a_device_value_needs_a_reason_and_shows_as_an_override_in_the_review_and_the_pdf(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = running_batch(runtime, endpoint=endpoint_of(plant))
    floor.plant = plant
    now = runtime.services.clock.now()
    advance_to(floor, now, "qc_weigh")
    fill(floor, "qc_weigh", now)  # the balance supplies qc_mass
    view = runtime.services.execution.step(floor.batch_id, floor.step("qc_weigh").record.id)
    [captured] = [v for f in view.fields if f.field.id == "qc_mass" for v in f.history]
    assert captured.source == "device"
    with pytest.raises(InvalidInput, match="needs a reason"):
        floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.002", "kg"))
    why = "balance display drifting; value read from the reference balance"
    typed = floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.002", "kg", override_reason=why))
    floor.sign_step("qc_weigh", "performed")
    run_to_completion(floor)
    submit(floor)
    [line] = [x for x in runtime.services.review.review(floor.batch_id).exceptions if x.exception.kind == "override"]
    assert line.exception.summary.endswith(f"Net mass = 1.002 kg typed over its device reading: {why}")
    pdf = runtime.services.documents.draft(floor.batch_id, actor_of(reviewer(runtime).user))
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode().split()
    )
    assert _in_order(text.split(), f"(manual override: {why})".split())  # a table cell wraps between columns
    # The device value stays, beside the override that superseded it.
    assert _in_order(text.split(), f"entry {captured.id} SUPERSEDED by entry {typed[0].id}".split())


def test_the_review_queue_pages_its_lists_oldest_first_and_a_page_past_the_end_is_the_first(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    later = dataclasses.replace(floor, batch_id=second_batch(runtime, floor, "9002"))
    run_to_completion(later)
    queue = runtime.services.review
    first, second = queue.queue(completed=1, size=1).completed, queue.queue(completed=2, size=1).completed
    assert [b.batch.id for b in first.items] == [floor.batch_id]
    assert (first.number, first.total, first.pages) == (1, 2, 2)
    assert [b.batch.id for b in second.items] == [later.batch_id] and second.number == 2
    past = queue.queue(completed=7, size=1).completed
    assert [b.batch.id for b in past.items] == [floor.batch_id] and past.number == 1
    submit(later)
    both = queue.queue(size=1)
    assert [b.batch.id for b in both.completed.items] == [floor.batch_id] and both.completed.total == 1
    assert [b.batch.id for b in both.in_review.items] == [later.batch_id] and both.in_review.total == 1
