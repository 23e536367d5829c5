"""Registered terminals over HTTP (DEV-05): the admin registers the kiosk from the kiosk, which keeps a token cookie;
every later request from it names that terminal in its audit entries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, request
from werkzeug.test import TestResponse

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.accounts import Role
from ebr.web.session import TERMINAL_COOKIE, request_info
from ebr.web.terminals.views import COOKIE_MAX_AGE
from tests.factories import PASSWORD, csrf_token, make_user
from tests.fakes import FakeClock, RecordingNotifier
from tests.web.support import entries, entries_since, last_seq, post, sign_in

KIOSK = {"name": "Kiosk-GR-1", "location": "Granulation room 1", "reason": "kiosk installed at the unit"}


def terminal_cookie(response: TestResponse) -> dict[str, str]:
    """The attributes of the terminal cookie set by this response (lower-cased names), and its value."""
    [raw] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{TERMINAL_COOKIE}=")]
    value, *parts = raw.split(";")
    attributes = {"value": value.split("=", 1)[1]}
    for part in parts:
        name, _, setting = part.strip().partition("=")
        attributes[name.lower()] = setting
    return attributes


def test_registering_sets_a_long_lived_httponly_strict_secure_cookie_that_names_the_terminal(
    app: Flask, runtime: Runtime
) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    response = post(browser, "/admin/terminals/", KIOSK, token_from="/admin/terminals/")
    assert response.status_code == 302
    cookie = terminal_cookie(response)
    assert {"httponly", "secure"} <= set(cookie)
    assert (cookie["samesite"], cookie["path"], cookie["max-age"]) == ("Strict", "/", str(COOKIE_MAX_AGE))
    assert COOKIE_MAX_AGE >= 365 * 24 * 3600
    assert runtime.services.terminals.resolve(cookie["value"]) == "Kiosk-GR-1"
    page = browser.get("/admin/terminals/").get_data(as_text=True)
    assert "the registered terminal <strong>Kiosk-GR-1</strong>" in page
    assert cookie["value"] not in page  # the token is never shown, only kept by the browser


def test_entries_made_from_a_registered_terminal_carry_its_name(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    post(browser, "/admin/terminals/", KIOSK, token_from="/admin/terminals/")
    operator = make_user(runtime, Role.OPERATOR)
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/password")})
    before = last_seq(runtime)
    token = csrf_token(browser)
    browser.post("/login", data={"csrf_token": token, "username": operator.username, "password": PASSWORD})
    [login] = [e for e in entries_since(runtime, before) if e.draft.action == "login"]
    assert login.draft.username == operator.username
    assert login.draft.context["terminal"] == "Kiosk-GR-1"
    assert login.draft.context["workstation"].startswith("Werkzeug/")


def test_a_deactivated_terminal_falls_back_to_the_workstation(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    post(browser, "/admin/terminals/", KIOSK, token_from="/admin/terminals/")
    [terminal] = runtime.services.terminals.list()
    response = post(
        browser, f"/admin/terminals/{terminal.id}/deactivate", {"reason": "kiosk replaced"}, "/admin/terminals/"
    )
    assert response.status_code == 302
    page = browser.get("/admin/terminals/").get_data(as_text=True)
    assert "not a registered terminal (recorded as <code>Werkzeug/" in page
    [deactivation] = [e for e in entries(runtime, object_type="terminal") if e.draft.action == "update"]
    assert deactivation.draft.context["terminal"] == "Kiosk-GR-1"  # still registered while it was deactivated
    before = last_seq(runtime)
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/password")})
    [logout] = [e for e in entries_since(runtime, before) if e.draft.action == "logout"]
    assert "terminal" not in logout.draft.context  # no longer named: the workstation says it all


def test_without_a_registered_terminal_the_terminal_is_the_workstation_or_else_the_address(app: Flask) -> None:
    with app.test_request_context(headers={"X-Workstation": "line-2-hmi"}, environ_base={"REMOTE_ADDR": "10.0.0.7"}):
        info = request_info(request)
        assert (info.terminal, info.terminal_registered) == ("line-2-hmi", False)
        assert "terminal" not in info.as_context()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.8"}):
        info = request_info(request)
        assert (info.workstation, info.terminal, info.terminal_registered) == ("", "10.0.0.8", False)
        assert info.as_context()["terminal"] == "10.0.0.8"
    forged = {"Cookie": f"{TERMINAL_COOKIE}=ebrt_forged", "User-Agent": "Kiosk browser"}
    with app.test_request_context(headers=forged):
        info = request_info(request)
        assert (info.terminal, info.terminal_registered) == ("Kiosk browser", False)


def test_a_duplicate_or_incomplete_registration_is_refused_and_sets_no_cookie(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    assert post(browser, "/admin/terminals/", KIOSK, token_from="/admin/terminals/").status_code == 302
    before = last_seq(runtime)
    for data, status in (
        ({**KIOSK, "name": "kiosk-gr-1"}, 409),
        ({**KIOSK, "name": " "}, 422),
        ({**KIOSK, "reason": ""}, 422),
        ({**KIOSK, "name": "N" * 65}, 422),
    ):
        response = post(browser, "/admin/terminals/", data, token_from="/admin/terminals/")
        assert response.status_code == status, data
        assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{TERMINAL_COOKIE}=")]
    assert [t.name for t in runtime.services.terminals.list()] == ["Kiosk-GR-1"]
    assert entries_since(runtime, before) == []


@pytest.fixture
def plain_http_app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    """A deployment without secure cookies (a closed test network), reached over plain HTTP."""
    from ebr.web.app import create_app

    rt = build(
        settings.with_(secure_cookies=False), clock=clock, alert_sink=RecordingAlertSink(), notifier=RecordingNotifier()
    )
    flask_app = create_app(runtime=rt)
    flask_app.config["TESTING"] = True
    yield flask_app
    rt.engine.dispose()


def test_the_cookie_is_secure_when_the_request_came_over_https(plain_http_app: Flask) -> None:
    runtime: Runtime = plain_http_app.extensions["ebr.runtime"]
    browser, _ = sign_in(plain_http_app, runtime, Role.ADMIN)
    over_http = post(browser, "/admin/terminals/", KIOSK, token_from="/admin/terminals/")
    assert "secure" not in terminal_cookie(over_http)
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/admin/terminals/"}}
    over_https = post(
        browser, "/admin/terminals/", {**KIOSK, "name": "Kiosk-2"}, token_from="/admin/terminals/", **https
    )
    assert "secure" in terminal_cookie(over_https)
