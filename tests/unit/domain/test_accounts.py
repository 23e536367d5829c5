"""Pure account rules: roles, segregation of duties, user ids, password and lockout policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ebr.domain.accounts import (
    LockoutPolicy,
    PasswordPolicy,
    Permission,
    Role,
    check_role_combination,
    normalise_username,
    permissions_of,
)
from ebr.domain.errors import InvalidInput

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.req("ACC-03")
@pytest.mark.parametrize("other", [Role.QA, Role.OPERATOR, Role.SUPERVISOR, Role.ENGINEER])
def test_admin_cannot_be_combined_with_a_role_that_enters_or_signs_data(other: Role) -> None:
    with pytest.raises(InvalidInput, match="Segregation of duties"):
        check_role_combination(frozenset({Role.ADMIN, other}))


@pytest.mark.req("ACC-03")
def test_admin_permissions_exclude_every_batch_data_action() -> None:
    admin = permissions_of(frozenset({Role.ADMIN}))
    batch_actions = {
        Permission.BATCH_EXECUTE,
        Permission.BATCH_VERIFY,
        Permission.BATCH_RELEASE,
        Permission.BATCH_REVIEW,
        Permission.DEVIATION_DISPOSITION,
        Permission.PROCEDURE_APPROVE,
    }
    assert not admin & batch_actions
    assert Permission.USERS_MANAGE in admin


def test_a_user_needs_at_least_one_role() -> None:
    with pytest.raises(InvalidInput):
        check_role_combination(frozenset())


@pytest.mark.req("ACC-04")
def test_user_ids_compare_case_insensitively() -> None:
    assert normalise_username("  JDoe ") == normalise_username("jdoe") == "jdoe"


@pytest.mark.parametrize("bad", ["", "1abc", "a", "a b", "x" * 40, "jdoe;drop"])
def test_malformed_user_ids_are_refused_with_a_clear_message(bad: str) -> None:
    with pytest.raises(InvalidInput, match="User id"):
        normalise_username(bad)


@pytest.mark.req("PWD-02")
@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short-1a", "at least 12 characters"),
        ("alllowercaseletters", "at least 3 of"),
        ("Jdoe-is-my-Pass1", "must not contain the user id"),
    ],
)
def test_password_policy_names_each_broken_rule(password: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        PasswordPolicy().check(password, "jdoe")


def test_password_policy_accepts_a_strong_password() -> None:
    PasswordPolicy().check("Correct-Horse-9", "jdoe")


@pytest.mark.req("PWD-02")
def test_password_expires_after_the_configured_age() -> None:
    policy = PasswordPolicy(max_age_days=90)
    assert not policy.is_expired(NOW - timedelta(days=90), NOW)
    assert policy.is_expired(NOW - timedelta(days=91), NOW)
    assert not PasswordPolicy(max_age_days=0).is_expired(NOW - timedelta(days=900), NOW)


@pytest.mark.req("PWD-05")
def test_lockout_after_threshold_and_until_unlocked_when_no_period_is_set() -> None:
    policy = LockoutPolicy(threshold=5)
    assert not policy.locks_after(4)
    assert policy.locks_after(5)
    assert policy.still_locked(NOW - timedelta(days=365), NOW)


def test_a_configured_lock_period_ends_the_lock() -> None:
    policy = LockoutPolicy(threshold=3, lock_minutes=30)
    assert policy.still_locked(NOW - timedelta(minutes=29), NOW)
    assert not policy.still_locked(NOW - timedelta(minutes=30), NOW)
