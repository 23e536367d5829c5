"""PWD-02: temporary and expired passwords open only change-password and logout; no reuse."""

from __future__ import annotations

import html

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from tests.factories import PASSWORD, login, make_user
from tests.fakes import FakeClock
from tests.web.support import entries, is_login_redirect, is_password_redirect, new_client, post, route_calls

NEW_PASSWORD = "Fresh-Batch-2026"
STILL_OPEN = frozenset({"auth.change_password", "auth.logout"})


def change_password(browser: FlaskClient, current: str, new: str, confirm: str | None = None) -> int:
    data = {"current": current, "new": new, "confirm": new if confirm is None else confirm}
    return post(browser, "/password", data).status_code


def assert_only_password_change_answers(app: Flask, browser: FlaskClient, someone: User) -> None:
    """GET anywhere else redirects to /password; POST anywhere else is 403 (with a valid CSRF token)."""
    wrong = []
    for call in route_calls(app, someone.id):
        if call.endpoint in STILL_OPEN:
            continue
        if call.method == "GET":
            response = browser.get(call.path)
            if not is_password_redirect(response):
                wrong.append(f"{call}: {response.status_code} {response.location or ''}")
        else:
            response = post(browser, call.path, {"reason": "trying my luck"})
            if response.status_code != 403 or "Change your password first" not in response.get_data(as_text=True):
                wrong.append(f"{call}: {response.status_code}")
    assert wrong == []
    assert browser.get("/password").status_code == 200


@pytest.mark.req("PWD-02")
def test_a_temporary_password_logs_in_but_opens_only_change_password(app: Flask, runtime: Runtime) -> None:
    # An admin account, so that a 403 cannot come from missing permissions on the admin routes.
    user = make_user(runtime, Role.ADMIN, temporary=True)
    other = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert is_password_redirect(browser.get("/"))
    assert_only_password_change_answers(app, browser, other)
    assert runtime.services.accounts.get(other.id) == other
    assert runtime.services.settings.current()["lockout.threshold"] == 5


@pytest.mark.req("PWD-02")
def test_after_setting_a_new_password_the_pages_open_and_the_temporary_one_is_spent(
    app: Flask, runtime: Runtime
) -> None:
    user = make_user(runtime, Role.ADMIN, temporary=True)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert change_password(browser, PASSWORD, NEW_PASSWORD) == 302
    assert browser.get("/").status_code == 200
    assert browser.get("/admin/users").status_code == 200
    assert not runtime.services.accounts.get(user.id).must_change_password
    assert len(entries(runtime, action="password_change", object_id=str(user.id))) == 1
    assert login(new_client(app), user.username, PASSWORD) == 401
    assert login(new_client(app), user.username, NEW_PASSWORD) == 302


@pytest.mark.req("PWD-02")
def test_logout_still_works_while_the_password_must_change(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR, temporary=True)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert is_login_redirect(post(browser, "/logout"))


@pytest.mark.req("PWD-02")
def test_a_password_older_than_90_days_opens_only_change_password(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    user = make_user(runtime, Role.ADMIN)
    other = make_user(runtime, Role.OPERATOR)
    clock.advance(days=91)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert is_password_redirect(browser.get("/"))
    assert_only_password_change_answers(app, browser, other)
    assert change_password(browser, PASSWORD, NEW_PASSWORD) == 302
    assert browser.get("/admin/users").status_code == 200


@pytest.mark.req("PWD-02")
def test_a_password_ages_out_during_a_live_session(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    user = make_user(runtime, Role.OPERATOR)
    clock.advance(days=89, hours=23, minutes=50)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert browser.get("/").status_code == 200
    clock.advance(minutes=11)  # now 90 days and a minute old; the session itself is still fresh
    assert is_password_redirect(browser.get("/"))


@pytest.mark.req("PWD-02")
def test_reusing_the_current_password_is_rejected_and_the_change_stays_due(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR, temporary=True)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    response = post(browser, "/password", {"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 422
    assert "must differ from the last 5 passwords" in html.unescape(response.get_data(as_text=True))
    assert is_password_redirect(browser.get("/"))
    assert change_password(browser, PASSWORD, NEW_PASSWORD) == 302
    assert browser.get("/").status_code == 200


@pytest.mark.req("PWD-02")
def test_a_recent_earlier_password_cannot_come_back(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    assert change_password(browser, PASSWORD, NEW_PASSWORD) == 302
    assert change_password(browser, NEW_PASSWORD, PASSWORD) == 422
    assert login(new_client(app), user.username, NEW_PASSWORD) == 302


def test_a_password_change_that_breaks_a_rule_is_a_clear_422(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR, temporary=True)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    cases = {
        "wrong current": ("Not-My-Password-1", NEW_PASSWORD, NEW_PASSWORD, "The current password is wrong."),
        "too short": (PASSWORD, "short-1A", "short-1A", "at least 12 characters"),
        "too simple": (PASSWORD, "alllowercaseletters", "alllowercaseletters", "at least 3 of"),
        "contains the id": (PASSWORD, f"{user.username}-X9", f"{user.username}-X9", "must not contain the user id"),
        "confirmation differs": (PASSWORD, NEW_PASSWORD, "Fresh-Batch-2027", "The two new passwords differ."),
    }
    for case, (current, new, confirm, message) in cases.items():
        response = post(browser, "/password", {"current": current, "new": new, "confirm": confirm})
        assert response.status_code == 422, case
        assert message in html.unescape(response.get_data(as_text=True)), case
    assert runtime.services.accounts.get(user.id).must_change_password
    assert is_password_redirect(browser.get("/"))
