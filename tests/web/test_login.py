"""PWD-05 / PWD-06: lockout with an immediate alert; failed logins answered identically and all recorded."""

from __future__ import annotations

import html

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.models import LoginAttemptRow
from ebr.app.auth import LOGIN_REFUSED
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import PASSWORD, csrf_token, login, make_user
from tests.fakes import FakeClock
from tests.web.support import body_without_csrf, entries, new_client, post, sign_in

WRONG = "Wrong-Horse-0"


def attempt(browser: FlaskClient, username: str, password: str, **headers: str) -> TestResponse:
    """One login through the form, as a browser submits it."""
    token = csrf_token(browser, "/login")
    return browser.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}, headers=headers
    )


def login_attempts(runtime: Runtime) -> list[LoginAttemptRow]:
    with runtime.engine.connect() as conn:
        return list(conn.execute(select(LoginAttemptRow).order_by(LoginAttemptRow.id)).all())  # type: ignore[arg-type]


@pytest.mark.req("PWD-05")
@pytest.mark.req("AUD-10")
def test_five_wrong_passwords_lock_the_account_and_alert_once_within_the_same_request(
    app: Flask, runtime: Runtime, alerts: RecordingAlertSink
) -> None:
    user = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    for n in range(1, 5):
        assert attempt(browser, user.username, WRONG).status_code == 401
        assert alerts.received == [], f"no alert after {n} failures"
    assert attempt(browser, user.username, WRONG).status_code == 401
    assert len(alerts.received) == 1, "the fifth failure alerts before its response returns"
    assert alerts.received[0].kind == "lockout"
    assert user.username in alerts.received[0].message
    refused = attempt(browser, user.username, PASSWORD)
    assert refused.status_code == 401
    assert LOGIN_REFUSED in html.unescape(refused.get_data(as_text=True))
    assert runtime.services.accounts.get(user.id).locked_at is not None
    lockouts = entries(runtime, action="lockout", object_id=str(user.id))
    assert len(lockouts) == 1
    assert "5 consecutive" in lockouts[0].draft.reason
    assert len(alerts.received) == 1, "the refused correct password raises no second alert"


@pytest.mark.req("PWD-05")
def test_the_lock_holds_on_another_worker_and_only_an_admin_unlock_lifts_it(
    app: Flask, second_app: Flask, runtime: Runtime
) -> None:
    user = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    for _ in range(5):
        attempt(browser, user.username, WRONG)
    assert attempt(new_client(second_app), user.username, PASSWORD).status_code == 401
    admin_browser, admin = sign_in(app, runtime, Role.ADMIN)
    assert post(admin_browser, f"/admin/users/{user.id}/unlock", {"reason": "identity checked"}).status_code == 302
    assert attempt(new_client(second_app), user.username, PASSWORD).status_code == 302
    unlocks = entries(runtime, action="unlock", object_id=str(user.id))
    assert [(e.draft.username, e.draft.reason) for e in unlocks] == [(admin.username, "identity checked")]


@pytest.mark.req("PWD-05")
def test_a_success_resets_the_count_of_consecutive_failures(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    for _ in range(4):
        attempt(new_client(app), user.username, WRONG)
    assert attempt(new_client(app), user.username, PASSWORD).status_code == 302
    for _ in range(4):
        attempt(new_client(app), user.username, WRONG)
    assert attempt(new_client(app), user.username, PASSWORD).status_code == 302


@pytest.mark.req("PWD-06")
def test_a_wrong_password_and_an_unknown_user_id_get_identical_answers(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR, username="alice.known")
    ghost = "alice.ghost"
    known = attempt(new_client(app), user.username, WRONG)
    unknown = attempt(new_client(app), ghost, WRONG)
    assert known.status_code == unknown.status_code == 401
    # The form echoes what was typed; that tells nothing. Everything else must match byte for byte.
    assert body_without_csrf(known).replace(user.username, "<typed>") == body_without_csrf(unknown).replace(
        ghost, "<typed>"
    )
    assert known.headers.get("Content-Type") == unknown.headers.get("Content-Type")


@pytest.mark.req("PWD-06")
def test_disabled_and_locked_accounts_answer_like_an_unknown_user_id(app: Flask, runtime: Runtime) -> None:
    disabled = make_user(runtime, Role.OPERATOR)
    runtime.services.accounts.set_active(Actor.system(), disabled.id, False, "left")
    locked = make_user(runtime, Role.OPERATOR)
    for _ in range(5):
        attempt(new_client(app), locked.username, WRONG)
    ghost = "nobody.here"
    reference = body_without_csrf(attempt(new_client(app), ghost, PASSWORD)).replace(ghost, "<typed>")
    for account in (disabled, locked):
        response = attempt(new_client(app), account.username, PASSWORD)  # the right password, even
        assert response.status_code == 401
        assert body_without_csrf(response).replace(account.username, "<typed>") == reference


@pytest.mark.req("PWD-06")
@pytest.mark.req("AUD-10")
def test_every_failed_login_is_recorded_with_the_id_tried_source_workstation_time_and_reason(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    user = make_user(runtime, Role.OPERATOR)
    attempt(new_client(app), user.username.upper(), WRONG, **{"X-Workstation": "LINE-3-HMI"})
    attempt(new_client(app), "no.such.user", WRONG, **{"X-Workstation": "LINE-3-HMI"})
    rows = login_attempts(runtime)
    assert [(r.username_tried, r.user_id, r.success, r.reason) for r in rows] == [
        (user.username, user.id, False, "wrong password"),
        ("no.such.user", None, False, "unknown user id"),
    ]
    for row in rows:
        assert row.address == "127.0.0.1"
        assert row.workstation == "LINE-3-HMI"
        assert row.at == clock.now()
    failed = entries(runtime, action="login_failed")
    assert [(e.draft.object_id, e.draft.reason) for e in failed] == [
        (str(user.id), "wrong password"),
        ("no.such.user", "unknown user id"),
    ]
    assert all(e.draft.context.get("workstation") == "LINE-3-HMI" for e in failed)


@pytest.mark.req("AUD-10")
def test_a_successful_login_is_audited(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    assert login(new_client(app), user.username) == 302
    logins = entries(runtime, action="login", username=user.username)
    assert [e.draft.object_id for e in logins] == [str(user.id)]
    assert [r.success for r in login_attempts(runtime)] == [True]


def test_login_refusals_are_a_clear_401_never_a_server_error(app: Flask, runtime: Runtime) -> None:
    locked = make_user(runtime, Role.OPERATOR)
    for _ in range(5):
        attempt(new_client(app), locked.username, WRONG)
    disabled = make_user(runtime, Role.OPERATOR)
    runtime.services.accounts.set_active(Actor.system(), disabled.id, False, "left")
    user = make_user(runtime, Role.OPERATOR)
    cases = {
        "wrong password": (user.username, WRONG),
        "unknown user": ("nobody.at.all", PASSWORD),
        "locked user": (locked.username, PASSWORD),
        "disabled user": (disabled.username, PASSWORD),
    }
    for case, (username, password) in cases.items():
        response = attempt(new_client(app), username, password)
        assert response.status_code == 401, case
        page = html.unescape(response.get_data(as_text=True))
        assert 'id="login-error"' in page, case
        assert LOGIN_REFUSED in page, case
    assert attempt(new_client(app), user.username.upper(), PASSWORD).status_code == 302, "ids ignore case"


def test_a_login_with_an_empty_field_is_400_and_records_no_attempt(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    for missing in ("username", "password"):
        data = {"username": user.username, "password": PASSWORD, missing: ""}
        browser = new_client(app)
        response = browser.post("/login", data={**data, "csrf_token": csrf_token(browser)})
        assert response.status_code == 400, missing
    assert login_attempts(runtime) == []


def test_login_never_redirects_off_site(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    # Browsers read "\\" as "/" and drop tabs and newlines, so each of these would leave the site.
    targets = [
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\x0b/evil.example/",
    ]
    wrong = []
    for target in targets:
        browser = new_client(app)
        data = {"csrf_token": csrf_token(browser), "username": user.username, "password": PASSWORD}
        response = browser.post("/login", query_string={"next": target}, data=data)
        if response.status_code != 302 or response.location != "/":
            wrong.append(f"{target!r}: {response.status_code} {response.location!r}")
    assert wrong == []


def test_login_returns_to_the_page_first_asked_for(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.QA)
    browser = new_client(app)
    token = csrf_token(browser)
    response = browser.post(
        "/login",
        query_string={"next": "/audit/"},
        data={"csrf_token": token, "username": user.username, "password": PASSWORD},
    )
    assert response.location == "/audit/"
