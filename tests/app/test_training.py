"""Training records: recorded by a supervisor or QA with a reason, audited, and required of executors (ACC-09)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.training import require_training
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.errors import InvalidInput, PermissionDenied
from ebr.domain.training import TrainingRecord
from tests.app.masterdata_support import trail
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock

YEAR = timedelta(days=365)


def record_training(
    runtime: Runtime, trainee: User, course: str = "GMP-101", valid_for: timedelta = YEAR, by: User | None = None
) -> TrainingRecord:
    """A training taken yesterday, recorded by a supervisor."""
    supervisor = by or make_user(runtime, Role.SUPERVISOR)
    yesterday = runtime.services.clock.now() - timedelta(days=1)
    return runtime.services.training.record(
        actor_of(supervisor), trainee.username, course, yesterday, yesterday + valid_for, "classroom session 12"
    )


def required(runtime: Runtime, user: User, course: str = "GMP-101") -> TrainingRecord:
    """What the step execution asks, inside its own unit of work."""
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        return require_training(uow, user.id, course, now)


def test_a_supervisor_records_a_training_audited_with_who_when_and_why(runtime: Runtime, clock: FakeClock) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    supervisor = make_user(runtime, Role.SUPERVISOR)
    clock.advance(minutes=5)
    stored = record_training(runtime, operator, by=supervisor)
    assert (stored.user_id, stored.course, stored.recorded_by, stored.recorded_at) == (
        operator.id,
        "GMP-101",
        supervisor.id,
        clock.now(),
    )
    [entry] = trail(runtime, "training_record", str(stored.id))
    assert (entry.draft.action, entry.draft.username, entry.draft.reason, entry.draft.at) == (
        "create",
        supervisor.username,
        "classroom session 12",
        clock.now(),
    )
    assert json.loads(entry.draft.new_value or "{}")["course"] == "GMP-101"
    assert runtime.services.training.for_user(operator.id) == [stored]


def test_qa_may_record_training_too(runtime: Runtime) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    stored = record_training(runtime, operator, by=make_user(runtime, Role.QA))
    assert runtime.services.training.for_user(operator.id) == [stored]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.ENGINEER])
def test_other_roles_cannot_record_training(runtime: Runtime, role: Role) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    with pytest.raises(PermissionDenied, match="training.manage"):
        record_training(runtime, operator, by=make_user(runtime, role))
    assert runtime.services.training.for_user(operator.id) == []


def test_nobody_records_their_own_training(runtime: Runtime) -> None:
    supervisor = make_user(runtime, Role.SUPERVISOR)
    with pytest.raises(PermissionDenied, match="someone else"):
        record_training(runtime, supervisor, by=supervisor)
    assert runtime.services.training.for_user(supervisor.id) == []


@pytest.mark.parametrize(
    ("username", "course", "starts", "lasts", "reason", "problem"),
    [
        (None, " ", -1, 365, "initial", "course id is required"),
        (None, "GMP-101", -1, -30, "initial", "after the training date"),
        (None, "GMP-101", 2, 365, "initial", "before it took place"),
        ("nobody.here", "GMP-101", -1, 365, "initial", "Unknown user id 'nobody.here'"),
        (None, "GMP-101", -1, 365, " ", "reason"),
    ],
    ids=["empty course", "valid until before trained", "future training", "unknown user", "no reason"],
)
def test_bad_training_input_is_refused_and_nothing_is_stored(
    runtime: Runtime, username: str | None, course: str, starts: int, lasts: int, reason: str, problem: str
) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    supervisor = actor_of(make_user(runtime, Role.SUPERVISOR))
    trained = runtime.services.clock.now() + timedelta(days=starts)
    with pytest.raises(InvalidInput, match=problem):
        runtime.services.training.record(
            supervisor, username or operator.username, course, trained, trained + timedelta(days=lasts), reason
        )
    assert runtime.services.training.list() == []
    assert trail(runtime, "training_record") == []


def test_require_training_passes_while_current_and_blocks_once_expired(runtime: Runtime, clock: FakeClock) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    stored = record_training(runtime, operator, valid_for=timedelta(days=30))
    assert required(runtime, operator) == stored
    clock.advance(days=28, hours=23)  # trained yesterday: one hour before the expiry
    assert required(runtime, operator) == stored
    clock.advance(hours=1)
    with pytest.raises(PermissionDenied, match="training expired") as refused:
        required(runtime, operator)
    assert str(refused.value).startswith(f"{operator.username}: ")


def test_require_training_without_any_record_says_so(runtime: Runtime) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    record_training(runtime, operator, course="GMP-999")
    with pytest.raises(
        PermissionDenied, match=f"{operator.username}: There is no training record for course 'GMP-101'"
    ):
        required(runtime, operator)


def test_a_renewal_restores_the_right_and_a_correction_withdraws_it(runtime: Runtime, clock: FakeClock) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    record_training(runtime, operator, valid_for=timedelta(days=10))
    clock.advance(days=20)
    with pytest.raises(PermissionDenied, match="training expired"):
        required(runtime, operator)
    renewal = record_training(runtime, operator)
    assert required(runtime, operator) == renewal
    clock.advance(minutes=1)
    record_training(runtime, operator, valid_for=timedelta(hours=1))  # the renewal was recorded too long
    clock.advance(hours=2)
    with pytest.raises(PermissionDenied, match="training expired"):
        required(runtime, operator)


def test_the_list_shows_each_record_with_its_person_recorder_and_status(runtime: Runtime, clock: FakeClock) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    supervisor = make_user(runtime, Role.SUPERVISOR)
    first = record_training(runtime, operator, valid_for=timedelta(days=3), by=supervisor)
    other = record_training(runtime, operator, course="CLEAN-2", valid_for=timedelta(days=400), by=supervisor)
    clock.advance(days=5)
    renewal = record_training(runtime, operator, by=supervisor)
    lines = runtime.services.training.list()
    assert [(line.record.id, line.status) for line in lines] == [
        (renewal.id, "current"),
        (other.id, "current"),
        (first.id, "superseded"),
    ]
    assert {(line.user.username, line.recorded_by) for line in lines} == {(operator.username, supervisor.username)}
    clock.set(renewal.valid_until + timedelta(seconds=1))
    assert runtime.services.training.list()[0].status == "expired"


def test_training_dates_keep_their_utc_instant(runtime: Runtime) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    stored = record_training(runtime, operator)
    [again] = runtime.services.training.for_user(operator.id)
    assert isinstance(again.valid_until, datetime)
    assert (again.trained_at, again.valid_until) == (stored.trained_at, stored.valid_until)
