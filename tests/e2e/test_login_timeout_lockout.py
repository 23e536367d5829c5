"""Login, server-side idle timeout, lockout and logout, as a person at a browser meets them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ebr.app.auth import LOGIN_REFUSED
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import PASSWORD, make_user
from tests.fakes import FakeClock

pytestmark = pytest.mark.e2e

LOGIN_PAGE = re.compile(r"/login(\?.*)?$")


def log_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Fill and submit the login form like a person would."""
    if not LOGIN_PAGE.search(page.url):
        page.goto(f"{base_url}/login")
    page.get_by_label("User id").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # the form posts; wait for the answer page, not the old one
        page.locator("#login").click()


def test_login_shows_the_printed_name(page: Page, live_server: str, runtime: Runtime, tmp_path: Path) -> None:
    user = make_user(runtime, Role.QA)
    log_in(page, live_server, user.username)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("#who")).to_have_text(f"{user.full_name} ({user.username})")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.full_name}")
    # The session cookie is Secure even over http://127.0.0.1: chromium counts loopback as a secure context.
    cookie = next(c for c in page.context.cookies() if c["name"] == "ebr_session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["expires"] == -1  # a browser-session cookie: the server alone decides the idle timeout
    page.screenshot(path=tmp_path / "home-after-login.png", full_page=True)


@pytest.mark.req("ACC-07")
def test_idle_session_is_ended_by_the_server(page: Page, live_server: str, runtime: Runtime, clock: FakeClock) -> None:
    user = make_user(runtime, Role.QA)
    log_in(page, live_server, user.username)
    expect(page.locator("#who")).to_be_visible()
    # Only the server's clock moves: the browser runs no timer, each reload asks the server.
    clock.advance(minutes=14)
    page.reload()
    expect(page.locator("#who")).to_be_visible()  # under 15 idle minutes: still in, and the idle clock restarts
    clock.advance(minutes=16)
    page.reload()
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.locator("#who")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.goto(f"{live_server}/")
    expect(page).to_have_url(LOGIN_PAGE)  # the session stays ended on the server


@pytest.mark.req("ACC-07")
def test_idle_timeout_says_the_session_ended(page: Page, live_server: str, runtime: Runtime, clock: FakeClock) -> None:
    user = make_user(runtime, Role.QA)
    log_in(page, live_server, user.username)
    expect(page.locator("#who")).to_be_visible()
    clock.advance(minutes=16)
    page.reload()
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.get_by_role("status")).to_contain_text("Your session ended", timeout=2_000)


@pytest.mark.req("PWD-05")
def test_five_wrong_passwords_lock_the_account(page: Page, live_server: str, runtime: Runtime) -> None:
    user = make_user(runtime, Role.QA)
    page.goto(f"{live_server}/login")
    for attempt in range(5):
        log_in(page, live_server, user.username, f"Wrong-Password-{attempt}")
        expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)
    log_in(page, live_server, user.username, PASSWORD)
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)
    expect(page.locator("#who")).to_have_count(0)
    assert runtime.services.accounts.get(user.id).locked_at is not None


def test_logout_then_protected_page_redirects_to_login(page: Page, live_server: str, runtime: Runtime) -> None:
    user = make_user(runtime, Role.QA)
    log_in(page, live_server, user.username)
    expect(page.locator("#who")).to_be_visible()
    page.locator("#logout").click()
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.locator("#who")).to_have_count(0)
    page.goto(f"{live_server}/")
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
