"""Release and rejection through the application services: every blocker named in the refusal (QA-02, AUD-09), only
QA decides and the decision names them, one of two concurrent releases wins, and after the decision the record is
closed but for a separately signed addendum (SEQ-05)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.app.execution_corrections import Entry
from ebr.app.ports import StoredBatch, UnitOfWork
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.accounts import Role
from ebr.domain.audit import Action
from ebr.domain.batch import BatchStatus, ReleaseBlocked
from ebr.domain.errors import DomainError, InvalidTransition, PermissionDenied
from ebr.domain.signatures import SignatureRefused
from ebr.web.errors import status_of
from tests.app.equipment_support import endpoint_of
from tests.app.execution_support import KIOSK, Floor, Person, person, running_batch
from tests.app.masterdata_support import trail
from tests.app.review_support import (
    acknowledge_all,
    decide,
    in_review,
    ready_for_release,
    ready_runtime,
    request,
    review_trail,
    reviewer,
    run_to_completion,
    submit,
)
from tests.factories import PASSWORD, actor_of, sign
from tests.fakes import FakeClock, RecordingNotifier


@pytest.fixture
def runtime(
    settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """The application with a release candidate that always matches: these tests are about the other blockers."""
    yield from ready_runtime(settings, clock, alerts, notifier)


def settle(floor: Floor, qa: Person) -> None:
    """QA acknowledges whatever is new and signs the trail again, so only the blocker under test remains."""
    acknowledge_all(floor, qa)
    review_trail(floor, qa)


def refused(floor: Floor, qa: Person) -> list[str]:
    """The blockers a release request is refused with, as a 409."""
    with pytest.raises(ReleaseBlocked) as blocked:
        request(floor, qa)
    assert status_of(blocked.value) == 409
    assert runtime_status(floor) is BatchStatus.IN_REVIEW
    return list(blocked.value.blockers)


def runtime_status(floor: Floor) -> BatchStatus:
    return floor.rt.services.batches.get(floor.batch_id).batch.status


@dataclass(frozen=True)
class Pass:
    """An engine step as the repository records it: a second pass of a step already done."""

    key: str
    step_id: str
    process_id: str
    iteration: int


def set_up(floor: Floor, change: Callable[[UnitOfWork, StoredBatch], object]) -> None:
    """Arrange a record the floor cannot produce through the application (test set-up, audited as such)."""
    rt = floor.rt
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now(), "test set-up")) as uow:
        change(uow, rt.services.batches.get(floor.batch_id))
        uow.commit()


def _confirm_step(floor: Floor) -> int:
    view = floor.rt.services.execution.batch(floor.batch_id)
    return next(line.record.id for line in view.steps if line.record.step_id == "qc_confirm")


@pytest.mark.req("QA-02")
def test_release_refused_with_open_deviation(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    deviation = runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "label smudged", "", KIOSK
    )
    settle(floor, qa)
    assert refused(floor, qa) == [f"deviation {deviation.number} is not closed"]


@pytest.mark.req("QA-02")
@pytest.mark.parametrize(("status", "named"), [("ready", "is not complete"), ("performed", "is awaiting verification")])
def test_release_refused_with_a_step_incomplete_or_awaiting_verification(
    runtime: Runtime, plant: SimulatedPlant, status: str, named: str
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    pk = _confirm_step(floor)
    set_up(floor, lambda uow, _: uow.batches.update_step(pk, uow.batches.step(pk).version, status=status))
    settle(floor, qa)
    assert refused(floor, qa) == [f"step Confirm and close (pass 1) {named}"]


@pytest.mark.req("QA-02")
def test_release_refused_with_a_required_signature_missing(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    now = runtime.services.clock.now()

    def unsigned_pass(uow: UnitOfWork, batch: StoredBatch) -> None:
        added = uow.batches.add_step(batch.id, Pass("k2", "qc_confirm", "quick_check", 2), now)
        uow.batches.update_step(added.id, added.version, status="completed")

    set_up(floor, unsigned_pass)
    settle(floor, qa)  # the second pass is rework: acknowledged, so only the missing signature remains
    assert refused(floor, qa) == ["step Confirm and close (pass 2) lacks a required signature"]


@pytest.mark.req("QA-02")
def test_release_refused_with_an_unacknowledged_exception(
    runtime: Runtime, plant: SimulatedPlant, clock: FakeClock
) -> None:
    floor = running_batch(runtime, endpoint=endpoint_of(plant))
    floor.plant = plant
    clock.advance(minutes=31)  # the identification is entered late: two exceptions
    floor.relogin()
    run_to_completion(floor)
    submit(floor)
    qa = reviewer(runtime)
    review_trail(floor, qa)
    late = [line.exception.key for line in runtime.services.review.review(floor.batch_id).exceptions]
    assert len(late) == 2 and all(key.endswith(":late") for key in late)
    assert refused(floor, qa) == [f"exception {key} is not acknowledged by the reviewer" for key in late]


@pytest.mark.req("QA-02")
@pytest.mark.req("AUD-09")
def test_release_refused_without_the_audit_trail_review_signature(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    qa = reviewer(runtime)
    acknowledge_all(floor, qa)
    assert refused(floor, qa) == ["the audit trail has no 'audit trail reviewed' signature"]


@pytest.mark.req("QA-02")
@pytest.mark.req("AUD-09")
def test_release_refused_when_the_trail_changed_after_its_review(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    [signed] = runtime.services.review.review(floor.batch_id).trail_reviews
    pk = _confirm_step(floor)
    set_up(floor, lambda uow, _: uow.batches.update_step(pk, uow.batches.step(pk).version, assigned_to=qa.user.id))
    assert refused(floor, qa) == [
        f"the audit trail changed since it was reviewed (entries after #{signed.review.head_seq})"
    ]


@pytest.mark.req("QA-02")
def test_a_blocker_arising_between_request_and_signature_refuses_the_release_with_it_named(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    pending = request(floor, qa)
    deviation = runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "major", "sample container cracked", "", KIOSK
    )
    with pytest.raises(ReleaseBlocked) as blocked:
        sign(runtime, qa.user, qa.token, "batch_release", str(pending.id), "released")
    assert f"deviation {deviation.number} is not closed" in blocked.value.blockers
    assert status_of(blocked.value) == 409
    assert runtime.services.signing.signatures_on("batch_release", str(pending.id)) == []  # nothing half-written
    assert runtime_status(floor) is BatchStatus.IN_REVIEW


@pytest.mark.req("QA-02")
def test_with_no_blocker_release_succeeds_and_names_who_released(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    assert runtime.services.review.review(floor.batch_id).blockers == []
    signature = decide(floor, qa, "release", "record complete and reviewed")
    assert runtime_status(floor) is BatchStatus.RELEASED
    [line] = runtime.services.review.review(floor.batch_id).decisions
    [stored] = line.signatures
    assert (stored.meaning, stored.signer_name, stored.signer_username) == (
        "released",
        qa.user.full_name,
        qa.user.username,
    )
    assert getattr(signature, "meaning_text", "") == "Released by"
    stored_batch = runtime.services.batches.get(floor.batch_id)
    [entry] = [e for e in trail(runtime, "batch", str(stored_batch.id)) if e.draft.field == "decision"]
    assert qa.user.username in (entry.draft.new_value or "") and entry.draft.username == qa.user.username
    assert runtime.services.signing.verify() == []


def test_reject_needs_no_candidate_and_is_not_blocked(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "critical", "foreign particle found", "", KIOSK
    )
    qa = reviewer(runtime)
    decide(floor, qa, "reject", "foreign particle in the sample")
    assert runtime_status(floor) is BatchStatus.REJECTED


@pytest.mark.req("QA-04")
def test_only_qa_requests_or_signs_a_release(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    with pytest.raises(PermissionDenied) as denied:
        request(floor, floor.supervisor)
    assert status_of(denied.value) == 403
    pending = request(floor, qa)
    other = person(runtime, Role.SUPERVISOR)
    with pytest.raises(SignatureRefused, match="needs one of the roles qa") as refused_signature:
        sign(runtime, other.user, other.token, "batch_release", str(pending.id), "released")
    assert status_of(refused_signature.value) == 403
    assert runtime_status(floor) is BatchStatus.IN_REVIEW


def test_a_release_is_applied_only_by_a_released_signature(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    pending = request(floor, qa)
    with pytest.raises(DomainError, match="applied by a 'released' signature"):
        sign(runtime, qa.user, qa.token, "batch_release", str(pending.id), "rejected")
    assert runtime_status(floor) is BatchStatus.IN_REVIEW


def test_two_concurrent_releases_leave_exactly_one(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    second = reviewer(runtime)
    signing = runtime.services.signing
    requests = [
        (who, signing.request(actor_of(who.user), who.token, "batch_release", str(request(floor, who).id), "released"))
        for who in (qa, second)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def release(index: int) -> None:
        who, opened = requests[index]
        barrier.wait()
        try:
            outcomes.append(
                signing.sign(
                    actor_of(who.user),
                    who.token,
                    opened.challenge.id,
                    opened.challenge.content_hash,
                    Credentials(PASSWORD, who.user.username, True),
                )
            )
        except DomainError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=release, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    failures = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(outcomes) == 2 and len(failures) == 1, outcomes
    assert status_of(failures[0]) == 409, failures
    assert runtime_status(floor) is BatchStatus.RELEASED
    decisions = runtime.services.review.review(floor.batch_id).decisions
    assert sorted(len(line.signatures) for line in decisions) == [0, 1]
    stored_batch = runtime.services.batches.get(floor.batch_id)
    assert len([e for e in trail(runtime, "batch", str(stored_batch.id)) if e.draft.field == "decision"]) == 1


def _released(runtime: Runtime, plant: SimulatedPlant) -> tuple[Floor, Person]:
    floor, qa = ready_for_release(runtime, plant)
    decide(floor, qa)
    assert runtime_status(floor) is BatchStatus.RELEASED
    return floor, qa


def _first_step(floor: Floor) -> int:
    return floor.rt.services.execution.batch(floor.batch_id).steps[0].record.id


WRITES: dict[str, Callable[[Floor, Person], object]] = {
    "enter a value": lambda f, _: f.rt.services.execution.enter(
        actor_of(f.operator.user), f.batch_id, _first_step(f), Entry("qc_lot", "C-MCC-101"), KIOSK
    ),
    "capture from a device": lambda f, _: f.rt.services.capture.capture(
        actor_of(f.operator.user), f.batch_id, _first_step(f) + 1, "qc_mass", KIOSK
    ),
    "scan equipment": lambda f, _: f.rt.services.capture.check_in(
        actor_of(f.operator.user), f.batch_id, _first_step(f) + 1, "EQ-BALANCE", KIOSK
    ),
    "sign a step": lambda f, _: sign(
        f.rt, f.operator.user, f.operator.token, "batch_step", str(_first_step(f)), "performed"
    ),
    "submit for review": lambda f, _: submit(f),
    "acknowledge an exception": lambda f, qa: f.rt.services.review.acknowledge(
        actor_of(qa.user), f.batch_id, "deviation:1", "late look"
    ),
    "review the audit trail": lambda f, qa: f.rt.services.review.open_trail_review(actor_of(qa.user), f.batch_id),
    "release again": request,
    "reject": lambda f, qa: request(f, qa, "reject", "changed my mind"),
}
# Write use cases that check the batch only when a request is made: each refuses like the others.
OPEN_WRITES: dict[str, Callable[[Floor, Person], object]] = {
    "request a hold": lambda f, qa: f.rt.services.execution.request_action(
        actor_of(f.supervisor.user), f.batch_id, "hold", "late hold", KIOSK
    ),
    "request a correction": lambda f, qa: f.rt.services.execution.request_action(
        actor_of(f.operator.user),
        f.batch_id,
        "correct",
        "late correction",
        KIOSK,
        step_pk=_first_step(f),
        parameters={"field": "qc_lot", "value": "C-MCC-101"},
    ),
    "report a deviation": lambda f, qa: f.rt.services.execution.report_deviation(
        actor_of(f.operator.user), f.batch_id, None, "minor", "found later", "", KIOSK
    ),
}
CASES = [pytest.param(name, id=name) for name in {**WRITES, **OPEN_WRITES}]


@pytest.mark.req("SEQ-05")
@pytest.mark.parametrize("write", CASES)
def test_every_write_on_a_released_batch_is_refused_with_409(
    runtime: Runtime, plant: SimulatedPlant, write: str
) -> None:
    floor, qa = _released(runtime, plant)
    before = runtime.services.review.review(floor.batch_id)
    with pytest.raises(DomainError) as refusal:
        {**WRITES, **OPEN_WRITES}[write](floor, qa)
    assert status_of(refusal.value) == 409, refusal.value
    after = runtime.services.review.review(floor.batch_id)
    assert (after.batch, after.trail, after.decisions) == (before.batch, before.trail, before.decisions)


@pytest.mark.req("SEQ-05")
def test_an_addendum_is_its_own_signed_entity_and_leaves_the_released_record_unchanged(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = _released(runtime, plant)
    before = runtime.services.review.review(floor.batch_id)
    addendum = runtime.services.release.add_addendum(
        actor_of(qa.user), floor.batch_id, "Retained sample tested: conforms (LIMS 4711).", "late lab result"
    )
    signature = sign(runtime, qa.user, qa.token, "batch_addendum", str(addendum.id), "approved")
    after = runtime.services.review.review(floor.batch_id)
    [line] = after.addenda
    assert line.signed and line.signatures[0].signer_id == qa.user.id
    assert getattr(signature, "object_type", "") == "batch_addendum"
    assert (after.batch, after.trail, after.decisions) == (before.batch, before.trail, before.decisions)
    entries = trail(runtime, "batch_addendum", str(addendum.id))
    assert [e.draft.action for e in entries] == [Action.CREATE, Action.SIGN]
    assert entries[0].draft.reason == "late lab result"
    assert runtime.services.signing.verify() == []


def test_an_addendum_needs_a_decided_batch_qa_and_its_own_signature_once(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    qa = reviewer(runtime)
    release = runtime.services.release
    with pytest.raises(InvalidTransition, match="an addendum follows a release or a rejection"):
        release.add_addendum(actor_of(qa.user), floor.batch_id, "early note", "too early")
    decide(floor, qa, "reject", "sample lost")
    with pytest.raises(PermissionDenied):
        release.add_addendum(actor_of(floor.supervisor.user), floor.batch_id, "note", "supervisor note")
    addendum = release.add_addendum(actor_of(qa.user), floor.batch_id, "Sample found later.", "for the record")
    sign(runtime, qa.user, qa.token, "batch_addendum", str(addendum.id), "approved")
    with pytest.raises(DomainError, match="approved already"):
        sign(runtime, qa.user, qa.token, "batch_addendum", str(addendum.id), "approved")
