"""Login, lockout, sessions and password changes as use cases (the web tests repeat them through HTTP)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.context import Actor, RequestInfo
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import AuthenticationFailed, InvalidInput
from tests.factories import PASSWORD, actor_of, make_user
from tests.fakes import FakeClock

WHERE = RequestInfo("10.0.0.7", "line-2-tablet", "req-1")


def _fail(runtime: Runtime, username: str, password: str = "Wrong-password-1") -> str:
    with pytest.raises(AuthenticationFailed) as refused:
        runtime.services.auth.login(username, password, WHERE)
    return str(refused.value)


@pytest.mark.req("PWD-05")
def test_five_failures_lock_the_account_audit_it_and_alert_once(runtime: Runtime, alerts: RecordingAlertSink) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    for _ in range(5):
        _fail(runtime, olivia.username)
    _fail(runtime, olivia.username, PASSWORD)
    assert runtime.services.accounts.get(olivia.id).locked_at is not None
    assert len(runtime.services.trail.query(AuditFilter(action="lockout", object_id=str(olivia.id)))) == 1
    assert [a.kind for a in alerts.received] == ["lockout"]


@pytest.mark.req("PWD-05")
def test_the_lock_holds_across_processes_until_an_admin_unlocks(runtime: Runtime, settings: object) -> None:
    from ebr.bootstrap import build

    olivia = make_user(runtime, Role.OPERATOR)
    admin = make_user(runtime, Role.ADMIN)
    for _ in range(5):
        _fail(runtime, olivia.username)
    other_worker = build(runtime.settings, clock=runtime.services.clock)
    try:
        with pytest.raises(AuthenticationFailed):
            other_worker.services.auth.login(olivia.username, PASSWORD, WHERE)
        other_worker.services.accounts.unlock(actor_of(admin), olivia.id, "identity confirmed by phone")
    finally:
        other_worker.engine.dispose()
    assert runtime.services.auth.login(olivia.username, PASSWORD, WHERE).user.id == olivia.id


@pytest.mark.req("PWD-06")
def test_unknown_and_known_ids_get_the_same_refusal_and_both_are_recorded(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    assert _fail(runtime, olivia.username) == _fail(runtime, "nosuchuser")
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT username_tried, success, reason, address, workstation, at FROM login_attempt ORDER BY id")
        ).all()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (olivia.username, False, "wrong password", "10.0.0.7", "line-2-tablet"),
        ("nosuchuser", False, "unknown user id", "10.0.0.7", "line-2-tablet"),
    ]
    assert all(r[5] is not None for r in rows)
    failed = runtime.services.trail.query(AuditFilter(action="login_failed"))
    assert {e.draft.object_id for e in failed} == {str(olivia.id), "nosuchuser"}


@pytest.mark.req("ACC-07")
def test_a_session_idles_out_on_the_servers_clock(runtime: Runtime, clock: FakeClock) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    token = runtime.services.auth.login(olivia.username, PASSWORD, WHERE).token
    clock.advance(minutes=14, seconds=59)
    assert runtime.services.sessions.load(token, WHERE) is not None  # activity refreshes the idle clock
    clock.advance(minutes=15, seconds=1)
    assert runtime.services.sessions.load(token, WHERE) is None
    assert runtime.services.trail.query(AuditFilter(action="session_timeout", object_id=str(olivia.id)))


@pytest.mark.req("PWD-02")
def test_reusing_a_recent_password_is_refused(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    token = runtime.services.auth.login(olivia.username, PASSWORD, WHERE).token
    who = actor_of(olivia)
    runtime.services.auth.change_password(who, PASSWORD, "Second-Secret-22", token, WHERE)
    with pytest.raises(InvalidInput, match="last 5"):
        runtime.services.auth.change_password(who, "Second-Secret-22", PASSWORD, token, WHERE)
    with pytest.raises(InvalidInput, match="current password"):
        runtime.services.auth.change_password(who, "not-it", "Third-Secret-333", token, WHERE)


@pytest.mark.req("PWD-02")
def test_a_temporary_password_must_be_changed_before_anything_else(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR, temporary=True)
    token = runtime.services.auth.login(olivia.username, PASSWORD, WHERE).token
    session = runtime.services.sessions.load(token, WHERE)
    assert session is not None and session.needs_password_change
    runtime.services.auth.change_password(actor_of(olivia), PASSWORD, "Brand-New-Pass-7", token, WHERE)
    session = runtime.services.sessions.load(token, WHERE)
    assert session is not None and not session.needs_password_change


@pytest.mark.req("PWD-01")
def test_passwords_are_stored_as_argon2id_and_never_written_anywhere_in_clear(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    sentinel = "Sentinel-Pw-93517"
    caplog.set_level(logging.DEBUG)
    admin = make_user(runtime, Role.ADMIN)
    olivia = make_user(runtime, Role.OPERATOR, password=sentinel)
    token = runtime.services.auth.login(olivia.username, sentinel, WHERE).token
    _fail(runtime, olivia.username, sentinel + "x")
    runtime.services.auth.change_password(actor_of(olivia), sentinel, sentinel + "-Next", token, WHERE)
    runtime.services.accounts.reset_password(actor_of(admin), olivia.id, "forgot")
    with runtime.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM user_account WHERE id = :i"), {"i": olivia.id}).scalar()
        dumps = [
            str(row)
            for table in ("user_account", "audit_entry", "login_attempt", "user_session", "alert")
            for row in conn.execute(text(f"SELECT * FROM {table}")).all()
        ]  # fixed table names
    assert str(stored).startswith("$argon2id$")
    assert not [d for d in dumps if sentinel in d]
    assert sentinel not in caplog.text


@pytest.mark.req("AUD-10")
def test_logins_logouts_failures_and_denials_are_security_events(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    token = runtime.services.auth.login(olivia.username, PASSWORD, WHERE).token
    runtime.services.auth.logout(token, actor_of(olivia), WHERE)
    _fail(runtime, olivia.username)
    runtime.services.record_denial(actor_of(olivia), "POST /admin/users/new", WHERE)
    actions = [e.draft.action for e in runtime.services.trail.query(AuditFilter(username=olivia.username))]
    assert {"login", "logout", "permission_denied"} <= set(actions)
    failed = runtime.services.trail.query(AuditFilter(action="login_failed"))
    assert failed and failed[0].draft.context["address"] == "10.0.0.7"


def test_a_logged_out_session_cannot_be_used_again(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    token = runtime.services.auth.login(olivia.username, PASSWORD, WHERE).token
    runtime.services.auth.logout(token, actor_of(olivia), WHERE)
    assert runtime.services.sessions.load(token, WHERE) is None


def test_disabled_accounts_cannot_log_in(runtime: Runtime) -> None:
    olivia = make_user(runtime, Role.OPERATOR)
    admin = make_user(runtime, Role.ADMIN)
    runtime.services.accounts.set_active(actor_of(admin), olivia.id, False, "left")
    _fail(runtime, olivia.username, PASSWORD)
    assert Actor.system().user_id is None
