"""ACC-07 / PWD-04: server-side sessions end on idle, on logout and on disable, on every worker."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.web.session import COOKIE
from tests.factories import PASSWORD, csrf_token, login, make_user
from tests.fakes import FakeClock
from tests.web.support import (
    cookie_value,
    entries,
    is_login_redirect,
    new_client,
    post,
    session_cookie,
    set_setting,
    sign_in,
)


@pytest.mark.req("ACC-07")
@pytest.mark.req("AUD-10")
def test_after_the_idle_timeout_the_next_page_redirects_to_login_and_the_timeout_is_audited(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    assert browser.get("/").status_code == 200
    clock.advance(minutes=15, seconds=1)
    assert is_login_redirect(browser.get("/"))
    timeouts = entries(runtime, action="session_timeout", object_id=str(user.id))
    assert len(timeouts) == 1
    assert timeouts[0].draft.at == clock.now()
    assert "15 min" in timeouts[0].draft.reason
    assert is_login_redirect(browser.get("/")), "the ended session must not come back"


@pytest.mark.req("ACC-07")
def test_after_the_idle_timeout_the_next_post_is_401_and_changes_nothing(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    token = csrf_token(browser, "/admin/settings")  # the form was open when the user walked away
    clock.advance(minutes=16)
    response = browser.post(
        "/admin/settings", data={"csrf_token": token, "key": "lockout.threshold", "value": "3", "reason": "late"}
    )
    assert response.status_code == 401
    assert runtime.services.settings.current()["lockout.threshold"] == 5


@pytest.mark.req("ACC-07")
def test_activity_within_the_timeout_keeps_the_session_alive(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    for _ in range(3):  # 42 minutes in all, never 15 idle
        clock.advance(minutes=14)
        assert browser.get("/").status_code == 200
    clock.advance(minutes=15)
    assert browser.get("/").status_code == 200, "exactly the timeout is still within it"
    clock.advance(minutes=15, seconds=1)
    assert is_login_redirect(browser.get("/"))


@pytest.mark.req("ACC-07")
def test_the_idle_timeout_is_the_configured_setting(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    set_setting(runtime, "session.idle_minutes", 5)
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    clock.advance(minutes=5)
    assert browser.get("/").status_code == 200
    clock.advance(minutes=5, seconds=1)
    assert is_login_redirect(browser.get("/"))


@pytest.mark.req("ACC-07")
def test_the_session_cookie_is_secure_httponly_samesite_and_dies_with_the_browser(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    token = csrf_token(browser, "/login")
    response = browser.post("/login", data={"csrf_token": token, "username": user.username, "password": "x"})
    assert response.status_code == 401
    response = browser.post(
        "/login", data={"csrf_token": csrf_token(browser), "username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    raw, attributes = session_cookie(response)
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes.get("samesite") == "Strict"
    assert "expires" not in attributes, raw
    assert "max-age" not in attributes, raw
    cookie_names = {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}
    assert cookie_names == {COOKIE}, "no remember-me or other cookie"


@pytest.mark.req("ACC-07")
def test_the_pre_login_session_cookie_has_the_same_attributes(app: Flask) -> None:
    response = new_client(app).get("/login")
    raw, attributes = session_cookie(response)
    assert {"httponly", "secure", "samesite"} <= attributes.keys()
    assert "expires" not in attributes and "max-age" not in attributes, raw


@pytest.mark.req("ACC-07")
def test_the_login_form_offers_no_remember_me(app: Flask) -> None:
    page = new_client(app).get("/login").get_data(as_text=True).lower()
    assert "remember" not in page


def test_logging_in_issues_a_new_session_token(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    browser.get("/login")
    before = cookie_value(browser)
    assert login(browser, user.username) == 302
    after = cookie_value(browser)
    assert after != before
    planted = new_client(app)
    planted.set_cookie(COOKIE, before)  # a fixated pre-login token grants nothing
    assert is_login_redirect(planted.get("/"))


@pytest.mark.req("AUD-10")
def test_logout_ends_the_session_on_the_server_and_is_audited(app: Flask, runtime: Runtime) -> None:
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    token = cookie_value(browser)
    response = post(browser, "/logout")
    assert is_login_redirect(response)
    assert len(entries(runtime, action="logout", username=user.username)) == 1
    replay = new_client(app)
    replay.set_cookie(COOKIE, token)  # a copy of the cookie taken before logout
    assert is_login_redirect(replay.get("/"))
    assert post(replay, "/logout", token_from="/login").status_code == 401


@pytest.mark.req("PWD-04")
def test_disabling_a_user_ends_their_live_session_at_once(app: Flask, runtime: Runtime) -> None:
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    assert browser.get("/").status_code == 200
    response = post(admin_browser, f"/admin/users/{user.id}/disable", {"reason": "badge lost"})
    assert response.status_code == 302
    assert is_login_redirect(browser.get("/"))
    assert post(browser, "/logout", token_from="/login").status_code == 401


@pytest.mark.req("PWD-04")
def test_disabling_a_user_ends_their_session_on_another_worker_too(
    app: Flask, second_app: Flask, runtime: Runtime
) -> None:
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    other_worker = new_client(second_app)
    other_worker.set_cookie(COOKIE, cookie_value(browser))  # the load balancer sends the next request elsewhere
    assert other_worker.get("/").status_code == 200, "the session is shared through the database"
    assert user.full_name in other_worker.get("/").get_data(as_text=True)
    response = post(admin_browser, f"/admin/users/{user.id}/disable", {"reason": "contract ended"})
    assert response.status_code == 302
    assert is_login_redirect(other_worker.get("/"))
    assert post(other_worker, "/logout", token_from="/login").status_code == 401
    assert is_login_redirect(browser.get("/"))


@pytest.mark.req("PWD-04")
def test_re_enabling_does_not_revive_the_old_session(app: Flask, runtime: Runtime) -> None:
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    assert post(admin_browser, f"/admin/users/{user.id}/disable", {"reason": "on leave"}).status_code == 302
    assert post(admin_browser, f"/admin/users/{user.id}/enable", {"reason": "back from leave"}).status_code == 302
    assert is_login_redirect(browser.get("/"))
    assert login(browser, user.username) == 302
    assert browser.get("/").status_code == 200


@pytest.mark.req("PWD-04")
def test_a_password_reset_ends_the_users_sessions(app: Flask, runtime: Runtime) -> None:
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    browser, user = sign_in(app, runtime, Role.OPERATOR)
    assert post(admin_browser, f"/admin/users/{user.id}/reset", {"reason": "forgot password"}).status_code == 302
    assert is_login_redirect(browser.get("/"))
