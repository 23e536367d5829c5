"""The deviation lifecycle and who may disposition it, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebr.domain.accounts import Role
from ebr.domain.deviations import (
    ALLOWED,
    Authority,
    Deviation,
    DeviationKind,
    DeviationStatus,
    Disposition,
    Severity,
    check_may_disposition,
    check_transition,
    open_deviation,
)
from ebr.domain.errors import InvalidInput, InvalidTransition, PermissionDenied

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
QA, SUPERVISOR, OPERATOR = frozenset({Role.QA}), frozenset({Role.SUPERVISOR}), frozenset({Role.OPERATOR})
# The site policy's choice, passed in: supervisors may disposition minor deviations, only QA major and critical ones.
AUTHORITY: Authority = {
    Severity.MINOR: frozenset({Role.SUPERVISOR, Role.QA}),
    Severity.MAJOR: frozenset({Role.QA}),
    Severity.CRITICAL: frozenset({Role.QA}),
}


def opened(severity: Severity = Severity.MINOR) -> Deviation:
    deviation, _ = open_deviation(
        "DEV-1",
        "B-1",
        "weigh",
        DeviationKind.OUT_OF_LIMIT,
        severity,
        "Net mass 12.6 kg above the limit (≤ 12.55 kg)",
        "Material segregated",
        T0,
        7,
    )
    return deviation


def dispositioned(severity: Severity = Severity.MINOR) -> Deviation:
    deviation, _ = opened(severity).disposition(
        Disposition.CONTINUE,
        "No impact: within validated range",
        "Within PAR",
        T0 + timedelta(hours=1),
        9,
        QA,
        AUTHORITY,
    )
    return deviation


def test_opening_links_the_batch_and_step_and_starts_open() -> None:
    deviation, event = open_deviation(
        "DEV-1", "B-1", "weigh", DeviationKind.OPERATOR_REPORT, Severity.MAJOR, "Spill", "", T0, 7
    )
    assert (deviation.batch_id, deviation.step_id, deviation.status) == ("B-1", "weigh", DeviationStatus.OPEN)
    assert (event.deviation_id, event.kind, event.severity, event.by) == (
        "DEV-1",
        DeviationKind.OPERATOR_REPORT,
        Severity.MAJOR,
        7,
    )
    assert deviation.blocks_release


def test_a_deviation_needs_a_description_a_batch_and_a_zoned_time() -> None:
    with pytest.raises(InvalidInput, match="description"):
        open_deviation("D", "B-1", "s", DeviationKind.YIELD, Severity.MINOR, " ", "", T0, 7)
    with pytest.raises(InvalidInput, match="linked to its batch"):
        open_deviation("D", "", "s", DeviationKind.YIELD, Severity.MINOR, "low yield", "", T0, 7)
    with pytest.raises(InvalidInput, match="time zone"):
        open_deviation("D", "B-1", "s", DeviationKind.YIELD, Severity.MINOR, "low yield", "", datetime(2026, 1, 1), 7)


@pytest.mark.parametrize("current", list(DeviationStatus))
@pytest.mark.parametrize("target", list(DeviationStatus))
def test_every_move_is_allowed_exactly_where_the_table_says(current: DeviationStatus, target: DeviationStatus) -> None:
    expected = {
        (DeviationStatus.OPEN, DeviationStatus.DISPOSITIONED),
        (DeviationStatus.DISPOSITIONED, DeviationStatus.CLOSED),
    }
    assert (target in ALLOWED[current]) == ((current, target) in expected)
    if (current, target) in expected:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
            check_transition(current, target)


def test_a_disposition_records_who_when_why_and_the_impact() -> None:
    deviation, event = opened().disposition(
        Disposition.REWORK,
        "Re-blend restores uniformity",
        "Per SOP-12",
        T0 + timedelta(hours=1),
        8,
        SUPERVISOR,
        AUTHORITY,
    )
    assert deviation.status is DeviationStatus.DISPOSITIONED and deviation.version == 2
    assert deviation.decision == event.decision
    assert event.decision.disposition is Disposition.REWORK and event.decision.by == 8
    assert deviation.blocks_release


@pytest.mark.parametrize(
    ("severity", "roles", "allowed"),
    [
        (Severity.MINOR, SUPERVISOR, True),
        (Severity.MINOR, QA, True),
        (Severity.MINOR, OPERATOR, False),
        (Severity.MAJOR, SUPERVISOR, False),
        (Severity.MAJOR, QA, True),
        (Severity.CRITICAL, SUPERVISOR, False),
        (Severity.CRITICAL, QA, True),
        (Severity.CRITICAL, frozenset({Role.SUPERVISOR, Role.OPERATOR}), False),
    ],
)
def test_who_may_disposition_follows_the_authority_for_the_severity(
    severity: Severity, roles: frozenset[Role], allowed: bool
) -> None:
    if allowed:
        check_may_disposition(severity, roles, AUTHORITY)
    else:
        with pytest.raises(PermissionDenied, match=f"A {severity} deviation may be dispositioned only by"):
            check_may_disposition(severity, roles, AUTHORITY)


def test_a_severity_the_policy_leaves_out_may_be_dispositioned_by_nobody() -> None:
    with pytest.raises(PermissionDenied, match="only by: nobody"):
        check_may_disposition(Severity.CRITICAL, QA, {Severity.MINOR: QA})


def test_a_supervisor_cannot_disposition_a_major_deviation() -> None:
    with pytest.raises(PermissionDenied, match="only by: qa"):
        opened(Severity.MAJOR).disposition(Disposition.CONTINUE, "none", "ok", T0, 8, SUPERVISOR, AUTHORITY)


def test_a_disposition_needs_an_impact_assessment_and_a_reason() -> None:
    with pytest.raises(InvalidInput, match="impact assessment"):
        opened().disposition(Disposition.CONTINUE, " ", "ok", T0, 9, QA, AUTHORITY)
    with pytest.raises(InvalidInput, match="a reason"):
        opened().disposition(Disposition.CONTINUE, "none", "", T0, 9, QA, AUTHORITY)


def test_a_disposition_cannot_precede_detection() -> None:
    with pytest.raises(InvalidInput, match="precede the detection"):
        opened().disposition(Disposition.REJECT, "none", "ok", T0 - timedelta(seconds=1), 9, QA, AUTHORITY)


def test_a_deviation_is_dispositioned_only_once() -> None:
    with pytest.raises(InvalidTransition, match="from dispositioned to dispositioned"):
        dispositioned().disposition(Disposition.REJECT, "x", "y", T0 + timedelta(hours=2), 9, QA, AUTHORITY)


def test_closing_requires_a_disposition_first() -> None:
    with pytest.raises(InvalidTransition, match="from open to closed"):
        opened().close("done", T0 + timedelta(hours=2), 9, QA, AUTHORITY)


def test_closing_ends_the_release_block() -> None:
    closed, event = dispositioned().close("CAPA-31 raised", T0 + timedelta(hours=2), 9, QA, AUTHORITY)
    assert closed.status is DeviationStatus.CLOSED and not closed.blocks_release
    assert (closed.closed_by, closed.closed_at, closed.closure_summary) == (
        9,
        T0 + timedelta(hours=2),
        "CAPA-31 raised",
    )
    assert event.summary == "CAPA-31 raised" and closed.version == 3


def test_closing_needs_the_authority_a_summary_and_a_time_after_the_disposition() -> None:
    major = dispositioned(Severity.MAJOR)
    with pytest.raises(PermissionDenied):
        major.close("done", T0 + timedelta(hours=2), 8, SUPERVISOR, AUTHORITY)
    with pytest.raises(InvalidInput, match="closure summary"):
        major.close("", T0 + timedelta(hours=2), 9, QA, AUTHORITY)
    with pytest.raises(InvalidInput, match="before it was dispositioned"):
        major.close("done", T0, 9, QA, AUTHORITY)


def test_a_closed_deviation_allows_nothing_further() -> None:
    closed, _ = dispositioned().close("done", T0 + timedelta(hours=2), 9, QA, AUTHORITY)
    with pytest.raises(InvalidTransition):
        closed.close("again", T0 + timedelta(hours=3), 9, QA, AUTHORITY)
    with pytest.raises(InvalidTransition):
        closed.disposition(Disposition.REJECT, "x", "y", T0 + timedelta(hours=3), 9, QA, AUTHORITY)


@given(steps=st.lists(st.sampled_from(["disposition", "close"]), max_size=6))
def test_any_sequence_of_steps_follows_the_table_or_is_refused(steps: list[str]) -> None:
    deviation, at = opened(), T0
    for step in steps:
        at += timedelta(minutes=10)
        target = DeviationStatus.DISPOSITIONED if step == "disposition" else DeviationStatus.CLOSED
        if target in ALLOWED[deviation.status]:
            if step == "disposition":
                deviation, _ = deviation.disposition(Disposition.CONTINUE, "none", "ok", at, 9, QA, AUTHORITY)
            else:
                deviation, _ = deviation.close("done", at, 9, QA, AUTHORITY)
            assert deviation.status is target
        else:
            with pytest.raises(InvalidTransition):
                if step == "disposition":
                    deviation.disposition(Disposition.CONTINUE, "none", "ok", at, 9, QA, AUTHORITY)
                else:
                    deviation.close("done", at, 9, QA, AUTHORITY)
