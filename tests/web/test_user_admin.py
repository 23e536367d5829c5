"""ACC-04 / ACC-06: user ids are never reused, accounts are never deleted, every admin action is audited once."""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import ANY

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from tests.factories import login, make_user
from tests.fakes import FakeClock
from tests.web.support import entries_since, last_seq, new_client, post, sign_in

NEW_USER = {
    "full_name": "Jane Doe",
    "roles": ["operator"],
    "temporary_password": "Temp-Pass-123",
    "reason": "new starter, training record TR-7",
}


def create_user(browser: FlaskClient, username: str) -> tuple[int, str]:
    response = post(browser, "/admin/users/new", {**NEW_USER, "username": username}, token_from="/admin/users/new")
    return response.status_code, response.get_data(as_text=True)


def users_named(runtime: Runtime, name: str) -> list[User]:
    return [u for u in runtime.services.accounts.list_users() if u.username.lower() == name.lower()]


@pytest.mark.req("ACC-04")
def test_a_user_id_once_used_cannot_be_created_again_in_any_case(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    status, _ = create_user(browser, "jdoe")
    assert status == 302
    (jdoe,) = users_named(runtime, "jdoe")
    assert post(browser, f"/admin/users/{jdoe.id}/disable", {"reason": "left the company"}).status_code == 302
    assert not runtime.services.accounts.get(jdoe.id).active
    for attempt in ("JDoe", "jdoe", " JDOE "):
        status, page = create_user(browser, attempt)
        assert status in (409, 422), attempt
        assert "never reused" in page
    assert users_named(runtime, "jdoe") == [runtime.services.accounts.get(jdoe.id)]


@pytest.mark.req("ACC-04")
def test_a_disabled_account_stays_listed_and_cannot_log_in(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    user = make_user(runtime, Role.OPERATOR)
    assert post(browser, f"/admin/users/{user.id}/disable", {"reason": "left the company"}).status_code == 302
    listing = browser.get("/admin/users").get_data(as_text=True)
    assert user.username in listing
    assert "disabled" in listing
    assert login(new_client(app), user.username) == 401


@pytest.mark.req("ACC-04")
def test_there_is_no_way_to_delete_a_user_over_http(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    user = make_user(runtime, Role.OPERATOR)
    assert browser.delete(f"/admin/users/{user.id}").status_code == 405
    assert post(browser, f"/admin/users/{user.id}/delete", {"reason": "cleanup"}).status_code == 404
    assert [r.rule for r in app.url_map.iter_rules() if "DELETE" in (r.methods or set())] == []
    assert [r.endpoint for r in app.url_map.iter_rules() if "delete" in r.endpoint.lower()] == []
    assert runtime.services.accounts.get(user.id) == user


def _grant(browser: FlaskClient, user: User) -> int:
    return post(
        browser, f"/admin/users/{user.id}/roles", {"roles": ["operator", "supervisor"], "reason": REASON}
    ).status_code


def _revoke(browser: FlaskClient, user: User) -> int:
    return post(browser, f"/admin/users/{user.id}/roles", {"roles": ["operator"], "reason": REASON}).status_code


def _action(name: str) -> Callable[[FlaskClient, User], int]:
    def run(browser: FlaskClient, user: User) -> int:
        return post(browser, f"/admin/users/{user.id}/{name}", {"reason": REASON}).status_code

    return run


REASON = "access request AR-4711"
# (admin action, how to prepare the target, expected (action, field, old, new) of the single entry)
AdminAction = Callable[[FlaskClient, User], int]
CASES: dict[str, tuple[AdminAction, tuple[Role, ...], str, tuple[str, str, str | None, object]]] = {
    "role grant": (_grant, (Role.OPERATOR,), "", ("update", "roles", "operator", "operator,supervisor")),
    "role revoke": (
        _revoke,
        (Role.OPERATOR, Role.SUPERVISOR),
        "",
        ("update", "roles", "operator,supervisor", "operator"),
    ),
    "disable": (_action("disable"), (Role.OPERATOR,), "", ("update", "active", "true", "false")),
    "enable": (_action("enable"), (Role.OPERATOR,), "disabled", ("update", "active", "false", "true")),
    "unlock": (_action("unlock"), (Role.OPERATOR,), "locked", ("unlock", "", None, None)),
    "password reset": (_action("reset"), (Role.OPERATOR,), "", ("password_reset", "", None, ANY)),
}


@pytest.mark.req("ACC-06")
@pytest.mark.parametrize("case", list(CASES))
def test_each_admin_action_on_an_account_writes_exactly_one_complete_audit_entry(
    app: Flask, runtime: Runtime, clock: FakeClock, case: str
) -> None:
    run, roles, state, expected = CASES[case]
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    target = make_user(runtime, *roles)
    if state == "disabled":
        assert post(browser, f"/admin/users/{target.id}/disable", {"reason": "on leave"}).status_code == 302
    elif state == "locked":
        for _ in range(5):
            login(new_client(app), target.username, "Wrong-Horse-0")
        assert runtime.services.accounts.get(target.id).locked_at is not None
    clock.advance(minutes=3)
    before = last_seq(runtime)
    assert run(browser, target) == 302
    new = entries_since(runtime, before)
    assert len(new) == 1, [(e.draft.action, e.draft.field) for e in new]
    entry = new[0].draft
    assert (entry.action, entry.field, entry.old_value, entry.new_value) == expected
    assert (entry.object_type, entry.object_id) == ("user", str(target.id))
    assert (entry.user_id, entry.username, entry.user_name) == (admin.id, admin.username, admin.full_name)
    assert entry.at == clock.now()
    assert entry.reason == REASON
    assert entry.context.get("request_id")


@pytest.mark.req("ACC-06")
def test_creating_an_account_writes_one_entry_naming_the_admin_and_the_reason(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    status, _ = create_user(browser, "new.starter")
    assert status == 302
    new = entries_since(runtime, before)
    assert [(e.draft.action, e.draft.object_type) for e in new] == [("create", "user")]
    entry = new[0].draft
    assert (entry.username, entry.reason, entry.at) == (admin.username, NEW_USER["reason"], clock.now())
    assert "Temp-Pass-123" not in (entry.new_value or "")
    assert '"roles": "operator"' in (entry.new_value or "")
