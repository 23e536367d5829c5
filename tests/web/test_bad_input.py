"""Bad input gets a clear 4xx, never a 500; a damaged or revoked session cookie means logged out.

Each test walks several cases and reports every one that misbehaves (one database per test keeps the
PostgreSQL run short).
"""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.web.app import MAX_FORM_BYTES
from ebr.web.session import COOKIE
from tests.factories import csrf_token, make_user
from tests.web.support import cookie_value, entries_since, is_login_redirect, last_seq, new_client, post, sign_in

TOO_BIG = MAX_FORM_BYTES + 1
NEW_USER = {"full_name": "Ok", "roles": ["operator"], "temporary_password": "Temp-Pass-123", "reason": "new starter"}
# (path, form fields, expected status); {uid} is an existing operator's id.
MALFORMED_ADMIN_FORMS: list[tuple[str, dict[str, object], int]] = [
    ("/admin/settings", {"key": "lockout.threshold", "value": "three", "reason": "typo test"}, 422),
    ("/admin/settings", {"key": "lockout.threshold", "value": "999", "reason": "out of range"}, 422),
    ("/admin/settings", {"key": "lockout.threshold", "value": "-1", "reason": "negative"}, 422),
    ("/admin/settings", {"key": "lockout.threshold", "value": "5", "reason": "no change at all"}, 422),
    ("/admin/settings", {"key": "no.such.setting", "value": "3", "reason": "unknown key"}, 422),
    ("/admin/settings", {"key": "lockout.threshold", "value": "3" * 50, "reason": "too long"}, 422),
    ("/admin/settings", {"key": "lockout.threshold", "value": "3", "reason": "nul\x00byte"}, 400),
    ("/admin/settings/diff", {"baseline": "{not json"}, 422),
    ("/admin/settings/diff", {"baseline": "[1, 2, 3]"}, 422),
    ("/admin/users/new", {**NEW_USER, "username": "x"}, 422),
    ("/admin/users/new", {**NEW_USER, "username": "ok.name", "roles": ["overlord"]}, 422),
    ("/admin/users/new", {**NEW_USER, "username": "héllo wörld"}, 422),
    ("/admin/users/new", {**NEW_USER, "username": "ok.name", "full_name": " "}, 422),
    ("/admin/users/new", {**NEW_USER, "username": "ok.name", "temporary_password": "short"}, 422),
    ("/admin/users/{uid}/roles", {"roles": ["overlord"], "reason": "bad role"}, 422),
    ("/admin/users/{uid}/roles", {"roles": ["qa"], "reason": ""}, 422),
    ("/admin/users/{uid}/roles", {"reason": "no role at all"}, 422),
    ("/admin/users/{uid}/disable", {"reason": "x"}, 422),
    ("/admin/users/{uid}/disable", {"reason": "r" * 501}, 422),
    ("/admin/users/999999/disable", {"reason": "nobody"}, 404),
    ("/admin/users/{uid}/roles", {"roles": ["qa"], "reason": "nul\x00byte"}, 400),
]


def oversized(browser: FlaskClient, path: str, field: str, token_from: str) -> TestResponse:
    return post(browser, path, {field: "r" * TOO_BIG}, token_from=token_from)


def test_oversized_forms_are_413_not_500_and_change_nothing(app: Flask, runtime: Runtime) -> None:
    anonymous = new_client(app)
    assert oversized(anonymous, "/login", "password", "/login").status_code == 413
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    assert oversized(browser, "/admin/settings", "reason", "/admin/settings").status_code == 413
    assert oversized(browser, "/admin/users/new", "full_name", "/admin/users/new").status_code == 413
    upload = browser.post(
        "/admin/settings/diff",
        data={
            "csrf_token": csrf_token(browser, "/admin/settings"),
            "baseline": (io.BytesIO(b"{" * TOO_BIG), "baseline.json"),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 413
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


def test_malformed_admin_forms_get_a_4xx_and_change_nothing(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    users_before = runtime.services.accounts.list_users()
    before = last_seq(runtime)
    wrong = []
    for path, data, status in MALFORMED_ADMIN_FORMS:
        response = post(browser, path.format(uid=target.id), data, token_from="/admin/settings")
        if response.status_code != status:
            wrong.append(f"{path} {data}: {response.status_code}, expected {status}")
    json_body = browser.post("/admin/settings", json={"key": "lockout.threshold", "value": 3, "reason": "json"})
    if json_body.status_code != 400:
        wrong.append(f"JSON body: {json_body.status_code}")
    assert wrong == []
    assert runtime.services.accounts.list_users() == users_before
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


def test_malformed_audit_trail_requests_get_a_clear_422_or_400(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.QA)
    for query in ({"since": "yesterday"}, {"until": "2026-13-45T99:00:00Z"}, {"since": "2026-11-25T09:00:00+99:00"}):
        response = browser.get("/audit/", query_string=query)
        assert response.status_code == 422, query
        assert "ISO 8601" in response.get_data(as_text=True)
    assert browser.get("/audit/", query_string={"username": "a\x00b"}).status_code == 400
    assert browser.get("/audit/", query_string={"username": "u" * 10_000}).status_code == 200
    assert post(browser, "/audit/export", {"format": "xlsx"}).status_code == 422
    assert post(browser, "/audit/export", {"format": "csv", "since": "soon"}).status_code == 422


def test_a_malformed_huge_or_unknown_id_in_the_url_is_404(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    for path in (
        "/admin/users/abc",
        "/admin/users/-1",
        "/admin/users/1.5",
        "/admin/users/2147483648",
        "/admin/users/99999999999999999999999",
        "/admin/users/424242",
        "/sign/policies/99999999999999999999999/approve",
    ):
        method = "POST" if path.endswith("approve") else "GET"
        response = browser.open(path, method=method, data={"csrf_token": csrf_token(browser, "/password")})
        assert response.status_code == 404, path


def test_malformed_login_forms_get_a_4xx(app: Flask, runtime: Runtime) -> None:
    cases: list[dict[str, object]] = [
        {"username": "u" * 1000, "password": "p"},
        {"username": "a\x00b", "password": "p"},
        {"username": "someone", "password": "p\x00"},
        {"username": ["one", "two"], "password": ["a", "b"]},
        {"username": "", "password": ""},
        {},
    ]
    for data in cases:
        browser = new_client(app)
        response = browser.post("/login", data={**data, "csrf_token": csrf_token(browser)})
        assert 400 <= response.status_code < 500, data
    browser = new_client(app)
    not_utf8 = f"csrf_token={csrf_token(browser)}&username=%FF%FE%C0&password=%80%81".encode()
    response = browser.post("/login", data=not_utf8, content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500


def test_a_made_up_session_cookie_is_treated_as_logged_out(app: Flask) -> None:
    for forged in ("", "x", "A" * 43, "A" * 129, "../../etc/passwd", "' OR 1=1 --", "\u00e9t\u00e9"):
        browser = new_client(app)
        browser.set_cookie(COOKIE, forged)
        assert is_login_redirect(browser.get("/")), forged
        assert browser.post("/logout").status_code == 401, forged
        assert browser.get("/login").status_code == 200, forged


def test_a_tampered_session_cookie_is_treated_as_logged_out(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    token = cookie_value(browser)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    browser.set_cookie(COOKIE, tampered)
    assert is_login_redirect(browser.get("/admin/users"))
    browser.set_cookie(COOKIE, token)
    assert browser.get("/admin/users").status_code == 200, "the genuine cookie still works"


def test_a_revoked_session_cookie_is_treated_as_logged_out_and_cleared(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    token = cookie_value(browser)
    assert is_login_redirect(post(browser, "/logout"))
    replay = new_client(app)
    replay.set_cookie(COOKIE, token)
    response = replay.get("/")
    assert is_login_redirect(response)
    assert replay.get_cookie(COOKIE) is None, "the dead cookie is deleted"


def test_unknown_paths_and_methods_are_404_and_405(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    assert browser.get("/no/such/page").status_code == 404
    assert browser.put("/admin/settings").status_code == 405
    assert new_client(app).get("/api/nothing").get_json()["error"] == "Not Found"
