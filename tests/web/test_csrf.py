"""ACC-08: every state-changing request needs a valid CSRF token; without one: 400 and nothing changes."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from ebr.adapters.db.models import LoginAttemptRow
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import PASSWORD, csrf_token, effective_policy, make_user
from tests.web.support import (
    CONTENT_HASH_RE,
    change_setting,
    entries_since,
    last_seq,
    new_client,
    request_setting_change,
    sign_in,
)

SETTING_CHANGE = {"key": "lockout.threshold", "value": "3", "reason": "tighter lockout"}


@pytest.mark.req("ACC-08")
def test_a_settings_change_without_a_token_is_400_and_the_setting_stays(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    response = browser.post("/admin/settings", data=SETTING_CHANGE)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


@pytest.mark.req("ACC-08")
def test_a_settings_change_with_an_invalid_token_is_400_and_changes_nothing(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    genuine = csrf_token(browser, "/admin/settings")
    before = last_seq(runtime)
    for token in ("", "forged", "IjEyMzQ1Njc4OTAi.ZyZyZw.abcdefghijklmnopqrstuvwxyz0", genuine[:-2] + "xx"):
        response = browser.post("/admin/settings", data={**SETTING_CHANGE, "csrf_token": token})
        assert response.status_code == 400, token
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


@pytest.mark.req("ACC-08")
def test_a_token_taken_from_another_session_is_refused(app: Flask, runtime: Runtime) -> None:
    attacker, _ = sign_in(app, runtime, Role.ADMIN)
    victim, _ = sign_in(app, runtime, Role.ADMIN)
    stolen = csrf_token(attacker, "/admin/settings")
    response = victim.post("/admin/settings", data={**SETTING_CHANGE, "csrf_token": stolen})
    assert response.status_code == 400
    assert runtime.services.settings.current()["lockout.threshold"] == 5


@pytest.mark.req("ACC-08")
def test_the_same_change_with_the_sessions_tokens_goes_through(app: Flask, runtime: Runtime) -> None:
    effective_policy(runtime)
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    response = change_setting(browser, admin, **SETTING_CHANGE)
    assert response.status_code == 302
    assert runtime.services.settings.current()["lockout.threshold"] == 3


@pytest.mark.req("ACC-08")
def test_signing_without_a_token_is_400_and_the_change_stays_unapplied(app: Flask, runtime: Runtime) -> None:
    effective_policy(runtime)
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    requested = request_setting_change(browser, **SETTING_CHANGE)
    assert requested.status_code == 302
    page = browser.get(requested.location).get_data(as_text=True)
    content_hash = CONTENT_HASH_RE.search(page)
    assert content_hash
    before = last_seq(runtime)
    response = browser.post(
        requested.location,
        data={
            "content_hash": content_hash.group(1),
            "username": admin.username,
            "password": PASSWORD,
            "acknowledge": "y",
        },
    )
    assert response.status_code == 400
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


@pytest.mark.req("ACC-08")
def test_an_account_action_without_a_token_leaves_the_account_alone(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    before = last_seq(runtime)
    for action in ("disable", "reset"):
        response = browser.post(f"/admin/users/{target.id}/{action}", data={"reason": "left the company"})
        assert response.status_code == 400, action
    response = browser.post(f"/admin/users/{target.id}/roles", data={"roles": ["qa"], "reason": "moved to QA"})
    assert response.status_code == 400
    response = browser.post(
        "/admin/users/new",
        data={
            "username": "newbie",
            "full_name": "New Bie",
            "roles": ["operator"],
            "temporary_password": "Temp-Pass-123",
            "reason": "new starter",
        },
    )
    assert response.status_code == 400
    assert runtime.services.accounts.get(target.id) == target
    assert all(u.username != "newbie" for u in runtime.services.accounts.list_users())
    assert entries_since(runtime, before) == []


@pytest.mark.req("ACC-08")
def test_a_logout_without_a_token_keeps_the_session(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    assert browser.post("/logout").status_code == 400
    assert browser.get("/").status_code == 200


@pytest.mark.req("ACC-08")
def test_a_login_post_without_a_token_is_400_and_tries_no_password(app: Flask, runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    before = last_seq(runtime)
    response = new_client(app).post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert entries_since(runtime, before) == []
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LoginAttemptRow)).scalar_one() == 0


@pytest.mark.req("ACC-08")
def test_over_https_a_post_from_a_foreign_origin_is_refused_even_with_the_token(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    token = csrf_token(browser, f"/admin/users/{target.id}")
    data = {"csrf_token": token, "reason": "left the company"}
    path = f"/admin/users/{target.id}/disable"
    foreign = browser.post(path, data=data, base_url="https://localhost", headers={"Referer": "https://evil.example/"})
    assert foreign.status_code == 400
    assert runtime.services.accounts.get(target.id).active
    same_origin = browser.post(path, data=data, base_url="https://localhost", headers={"Referer": "https://localhost/"})
    assert same_origin.status_code == 302
    assert not runtime.services.accounts.get(target.id).active
