"""The batch state machine, holds, the release gate and yield arithmetic, as pure rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebr.domain.batch import (
    ACTIONS,
    ALLOWED,
    FINAL,
    Batch,
    BatchAction,
    BatchCancelled,
    BatchEvent,
    BatchReleased,
    BatchResumed,
    BatchStarted,
    BatchStatus,
    ReleaseBlocked,
    check_action,
    check_can_execute,
    check_transition,
    reconcile,
    release_blockers,
    yield_percent,
)
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
S = BatchStatus
Action = Callable[[Batch, datetime], tuple[Batch, BatchEvent]]

A = BatchAction
RUN: dict[BatchAction, Action] = {
    A.START: lambda b, at: b.start(at, 7),
    A.HOLD: lambda b, at: b.hold(at, 7, "scale out of calibration"),
    A.RESUME: lambda b, at: b.resume(at, 7, "scale replaced"),
    A.COMPLETE: lambda b, at: b.complete(at, 7),
    A.SUBMIT_FOR_REVIEW: lambda b, at: b.submit_for_review(at, 7),
    A.RELEASE: lambda b, at: b.release(at, 9, []),
    A.REJECT: lambda b, at: b.reject(at, 9, "contaminated"),
    A.CANCEL: lambda b, at: b.cancel(at, 7, "order withdrawn"),
}
# The table written out by hand from SEQ-05, so that a change to ACTIONS shows up here.
EXPECTED = {
    (A.START, S.CREATED): S.IN_PROGRESS,
    (A.HOLD, S.IN_PROGRESS): S.HELD,
    (A.RESUME, S.HELD): S.IN_PROGRESS,
    (A.COMPLETE, S.IN_PROGRESS): S.COMPLETED,
    (A.SUBMIT_FOR_REVIEW, S.COMPLETED): S.IN_REVIEW,
    (A.RELEASE, S.IN_REVIEW): S.RELEASED,
    (A.REJECT, S.IN_REVIEW): S.REJECTED,
    (A.CANCEL, S.CREATED): S.CANCELLED,
    (A.CANCEL, S.IN_PROGRESS): S.CANCELLED,
    (A.CANCEL, S.HELD): S.CANCELLED,
}


def batch(status: BatchStatus = S.CREATED, held_since: datetime | None = None) -> Batch:
    return Batch("B-1", "PO-100", "PARA-500", 3, "ab" * 32, status, 1, held_since)


def at_status(status: BatchStatus) -> Batch:
    return batch(status, T0 if status is S.HELD else None)


def test_the_states_run_from_created_to_released_or_rejected_plus_cancelled() -> None:
    assert [s.value for s in BatchStatus] == [
        "created",
        "in_progress",
        "held",
        "completed",
        "in_review",
        "released",
        "rejected",
        "cancelled",
    ]
    assert {(action, source): target for action, (sources, target) in ACTIONS.items() for source in sources} == EXPECTED


def test_allowed_moves_are_exactly_those_some_action_makes() -> None:
    for current in BatchStatus:
        assert ALLOWED[current] == {target for (_, source), target in EXPECTED.items() if source is current}


@pytest.mark.parametrize("current", list(BatchStatus))
@pytest.mark.parametrize("action", list(BatchAction))
def test_every_action_is_allowed_exactly_where_the_table_says(current: BatchStatus, action: BatchAction) -> None:
    before = at_status(current)
    expected = EXPECTED.get((action, current))
    if expected is not None:
        after, event = RUN[action](before, T0 + timedelta(hours=1))
        assert after.status is expected is check_action(current, action)
        assert after.version == before.version + 1
        assert event.batch_id == "B-1" and event.at == T0 + timedelta(hours=1)
    else:
        with pytest.raises(InvalidTransition, match=f"Cannot {action} a batch that is {current}"):
            RUN[action](before, T0 + timedelta(hours=1))


@pytest.mark.parametrize("current", list(BatchStatus))
@pytest.mark.parametrize("target", list(BatchStatus))
def test_check_transition_follows_allowed(current: BatchStatus, target: BatchStatus) -> None:
    if target in ALLOWED[current]:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
            check_transition(current, target)


def test_released_rejected_and_cancelled_batches_allow_nothing_further() -> None:
    for status in FINAL:
        assert ALLOWED[status] == frozenset()
        for target in BatchStatus:
            with pytest.raises(InvalidTransition):
                check_transition(status, target)


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(st.sampled_from(list(BatchAction)), max_size=12))
def test_any_sequence_of_actions_follows_the_table_or_is_refused(actions: list[BatchAction]) -> None:
    current, at = batch(), T0
    for action in actions:
        at += timedelta(minutes=5)
        if (action, current.status) in EXPECTED:
            moved, _ = RUN[action](current, at)
            assert moved.status in ALLOWED[current.status]
            assert moved.version == current.version + 1
            current = moved
        else:
            with pytest.raises(InvalidTransition):
                RUN[action](current, at)


def test_starting_pins_the_procedure_version_and_its_hash() -> None:
    started, event = batch().start(T0, 7)
    assert isinstance(event, BatchStarted)
    assert (event.procedure_version_id, event.procedure_hash) == (3, "ab" * 32)
    assert (started.procedure_version_id, started.procedure_hash) == (3, "ab" * 32)


def test_a_batch_without_its_procedure_hash_is_refused() -> None:
    with pytest.raises(InvalidInput, match="procedure hash"):
        Batch("B-1", "PO-100", "PARA-500", 3, " ")


def test_hold_resume_cancel_and_reject_need_a_reason() -> None:
    running, held, in_review = at_status(S.IN_PROGRESS), at_status(S.HELD), at_status(S.IN_REVIEW)
    with pytest.raises(InvalidInput, match="reason is required to hold"):
        running.hold(T0, 7, "  ")
    with pytest.raises(InvalidInput, match="reason is required to resume"):
        held.resume(T0, 7, "")
    with pytest.raises(InvalidInput, match="reason is required to cancel"):
        running.cancel(T0, 7, "")
    with pytest.raises(InvalidInput, match="reason is required to reject"):
        in_review.reject(T0, 9, "")


def test_resuming_records_how_long_the_batch_was_held() -> None:
    held, _ = at_status(S.IN_PROGRESS).hold(T0, 7, "power cut")
    assert held.held_since == T0
    resumed, event = held.resume(T0 + timedelta(minutes=95), 8, "power back")
    assert isinstance(event, BatchResumed)
    assert event.held_for == timedelta(minutes=95)
    assert resumed.held_since is None


def test_a_hold_cannot_end_before_it_began() -> None:
    with pytest.raises(InvalidInput, match="before it began"):
        at_status(S.HELD).resume(T0 - timedelta(seconds=1), 7, "clock")


def test_cancelling_names_the_state_it_left() -> None:
    _, event = at_status(S.HELD).cancel(T0, 7, "order withdrawn")
    assert isinstance(event, BatchCancelled)
    assert event.previous_status is S.HELD


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        batch().start(datetime(2026, 11, 25, 9, 0), 7)


def test_nothing_executes_while_the_batch_is_held() -> None:
    with pytest.raises(InvalidTransition, match="on hold"):
        check_can_execute(at_status(S.HELD))


@pytest.mark.parametrize("status", [s for s in BatchStatus if s not in {S.IN_PROGRESS, S.HELD}])
def test_nothing_executes_outside_in_progress(status: BatchStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        check_can_execute(at_status(status))


def test_a_batch_in_progress_may_execute() -> None:
    check_can_execute(at_status(S.IN_PROGRESS))


def test_a_stale_version_is_a_conflict() -> None:
    moved, _ = batch().start(T0, 7)
    moved.check_version(2)
    with pytest.raises(Conflict, match="version 2, not 1"):
        moved.check_version(1)


def test_a_clean_batch_in_review_has_no_release_blockers() -> None:
    assert release_blockers(at_status(S.IN_REVIEW), [], [], audit_reviewed=True) == []


def test_every_release_blocker_is_named() -> None:
    blockers = release_blockers(
        at_status(S.COMPLETED),
        ["DEV-7", "DEV-9"],
        ["weigh-api"],
        audit_reviewed=False,
        incomplete_steps=["blend"],
        unacknowledged_exceptions=["late entry on granulate"],
    )
    assert blockers == [
        "the batch is completed, not in review",
        "deviation DEV-7 is not closed",
        "deviation DEV-9 is not closed",
        "step weigh-api lacks a required signature",
        "step blend is not complete",
        "exception late entry on granulate is not acknowledged by the reviewer",
        "the audit trail has no 'audit trail reviewed' signature",
    ]


def test_release_without_the_audit_trail_review_is_refused_with_that_blocker_named() -> None:
    in_review = at_status(S.IN_REVIEW)
    blockers = release_blockers(in_review, [], [], audit_reviewed=False)
    with pytest.raises(ReleaseBlocked, match="audit trail reviewed") as refused:
        in_review.release(T0, 9, blockers)
    assert refused.value.blockers == tuple(blockers)
    assert isinstance(refused.value, Conflict)


def test_release_with_no_blockers_releases() -> None:
    released, event = at_status(S.IN_REVIEW).release(T0, 9, [])
    assert released.status is S.RELEASED and isinstance(event, BatchReleased)


@pytest.mark.req("SEQ-10")
@pytest.mark.parametrize(
    ("produced", "theoretical", "percent"),
    [
        ("98.5", "100", "98.50"),
        ("100", "100", "100.00"),
        ("0", "250", "0.00"),
        ("2", "3", "66.67"),
        ("1", "3", "33.33"),
        ("0.00005", "1", "0.01"),  # 0.005 % rounds half-up
        ("0.000049", "1", "0.00"),
        ("101.5", "100", "101.50"),
        ("487.25", "500", "97.45"),
    ],
)
def test_yield_percent_matches_hand_calculated_values(produced: str, theoretical: str, percent: str) -> None:
    assert yield_percent(Decimal(produced), Decimal(theoretical)) == Decimal(percent)


@pytest.mark.parametrize("theoretical", ["0", "-1", "0.000"])
def test_a_zero_or_negative_theoretical_yield_is_refused(theoretical: str) -> None:
    with pytest.raises(InvalidInput, match="theoretical"):
        yield_percent(Decimal(1), Decimal(theoretical))


@pytest.mark.parametrize("produced", ["-0.1", "NaN", "Infinity"])
def test_a_negative_or_non_finite_produced_quantity_is_refused(produced: str) -> None:
    with pytest.raises(InvalidInput, match="produced"):
        yield_percent(Decimal(produced), Decimal(100))


AMOUNTS = st.decimals(min_value=0, max_value=Decimal("1e9"), places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(produced=AMOUNTS, theoretical=AMOUNTS.filter(lambda d: d > 0))
def test_yield_percent_is_within_half_a_hundredth_of_the_exact_ratio(produced: Decimal, theoretical: Decimal) -> None:
    result = yield_percent(produced, theoretical)
    exact = Fraction(produced) * 100 / Fraction(theoretical)
    assert result == result.quantize(Decimal("0.01"))
    assert abs(Fraction(result) - exact) <= Fraction(1, 200)


@settings(max_examples=300, deadline=None)
@given(issued=AMOUNTS, used=AMOUNTS, returned=AMOUNTS, waste=AMOUNTS)
def test_reconciliation_balances_exactly(issued: Decimal, used: Decimal, returned: Decimal, waste: Decimal) -> None:
    result = reconcile(issued, used, returned, waste)
    assert result.discrepancy + used + returned + waste == issued


def test_a_reconciliation_reports_the_discrepancy_and_its_share_of_issued() -> None:
    result = reconcile(Decimal("10.000"), Decimal("9.500"), Decimal("0.300"), Decimal("0.150"))
    assert result.discrepancy == Decimal("0.050")
    assert result.discrepancy_percent == Decimal("0.50")
    assert result.exceeds(Decimal("0.049"))
    assert not result.exceeds(Decimal("0.050"))


def test_nothing_issued_has_no_discrepancy_percentage() -> None:
    assert reconcile(Decimal(0), Decimal(0), Decimal(0), Decimal(0)).discrepancy_percent is None


def test_a_negative_reconciliation_quantity_is_refused() -> None:
    with pytest.raises(InvalidInput, match="waste quantity cannot be negative"):
        reconcile(Decimal(1), Decimal(0), Decimal(0), Decimal("-0.1"))
