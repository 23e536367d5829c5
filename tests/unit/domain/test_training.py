"""ACC-09 rules: a course needs a current record; an expired or missing one blocks with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ebr.domain.accounts import ROLE_PERMISSIONS, Permission, Role
from ebr.domain.errors import InvalidInput, PermissionDenied
from ebr.domain.training import TrainingRecord, check_new_record, check_trained, in_force

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def record(
    course: str = "GMP-101", days_left: float = 30, record_id: int = 1, recorded_days_ago: float = 10
) -> TrainingRecord:
    return TrainingRecord(
        id=record_id,
        user_id=7,
        course=course,
        trained_at=NOW - timedelta(days=365),
        valid_until=NOW + timedelta(days=days_left),
        recorded_by=3,
        recorded_at=NOW - timedelta(days=recorded_days_ago),
    )


def test_a_current_record_of_the_course_is_returned() -> None:
    current = record()
    assert check_trained([record(course="OTHER", record_id=2), current], "GMP-101", NOW) == current


def test_an_expired_record_blocks_with_training_expired_and_the_expiry_time() -> None:
    with pytest.raises(PermissionDenied, match="training expired") as refused:
        check_trained([record(days_left=-1)], "GMP-101", NOW)
    assert "2026-11-24T09:00:00" in str(refused.value)
    assert "GMP-101" in str(refused.value)


def test_the_expiry_instant_itself_is_already_expired() -> None:
    at_expiry = record(days_left=0)
    with pytest.raises(PermissionDenied, match="training expired"):
        check_trained([at_expiry], "GMP-101", NOW)
    assert check_trained([at_expiry], "GMP-101", NOW - timedelta(microseconds=1)) == at_expiry


def test_no_record_of_the_course_blocks_with_no_training_record() -> None:
    with pytest.raises(PermissionDenied, match="no training record for course 'GMP-101'"):
        check_trained([record(course="GMP-102")], "GMP-101", NOW)
    with pytest.raises(PermissionDenied, match="no training record"):
        check_trained([], "GMP-101", NOW)


def test_the_latest_recorded_record_is_in_force_so_a_correction_can_shorten_validity() -> None:
    mistaken = record(days_left=300, record_id=1, recorded_days_ago=5)
    corrected = record(days_left=-1, record_id=2, recorded_days_ago=1)
    assert in_force([corrected, mistaken], "GMP-101") == corrected
    with pytest.raises(PermissionDenied, match="training expired"):
        check_trained([mistaken, corrected], "GMP-101", NOW)


@pytest.mark.parametrize(
    ("course", "trained_at", "valid_until", "problem"),
    [
        ("  ", NOW - timedelta(days=1), NOW + timedelta(days=1), "course id is required"),
        ("C" * 65, NOW - timedelta(days=1), NOW + timedelta(days=1), "at most 64"),
        ("GMP\n101", NOW - timedelta(days=1), NOW + timedelta(days=1), "printable"),
        ("GMP-101", NOW - timedelta(days=1), NOW - timedelta(days=2), "after the training date"),
        ("GMP-101", NOW - timedelta(days=1), NOW - timedelta(days=1), "after the training date"),
        ("GMP-101", NOW + timedelta(days=1), NOW + timedelta(days=400), "before it took place"),
        ("GMP-101", datetime(2026, 1, 1), NOW + timedelta(days=1), "time zone"),  # the naive input under test
    ],
)
def test_an_impossible_record_is_refused(
    course: str, trained_at: datetime, valid_until: datetime, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        check_new_record(course, trained_at, valid_until, NOW)


def test_a_valid_record_keeps_its_course_id_trimmed() -> None:
    assert check_new_record(" GMP-101 ", NOW - timedelta(days=1), NOW + timedelta(days=1), NOW) == "GMP-101"


def test_only_supervisors_and_qa_may_record_training() -> None:
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.TRAINING_MANAGE in granted}
    assert holders == {Role.SUPERVISOR, Role.QA}


def test_incidents_are_acknowledged_by_qa_supervisors_and_the_admin_and_terminals_managed_by_the_admin() -> None:
    acknowledgers = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.INCIDENT_ACKNOWLEDGE in granted}
    assert acknowledgers == {Role.SUPERVISOR, Role.QA, Role.ADMIN}
    managers = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.TERMINAL_MANAGE in granted}
    assert managers == {Role.ADMIN}
