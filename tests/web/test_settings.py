"""VAL-05 (web part): a GMP setting changes only with a reason, is audited old→new, exported and diffed."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from tests.factories import effective_policy, login, make_user
from tests.fakes import FakeClock
from tests.web.support import (
    change_setting,
    entries,
    entries_since,
    last_seq,
    new_client,
    post,
    request_setting_change,
    set_setting,
    sign_dialog,
    sign_in,
)

REASON = "risk assessment RA-12: tighter lockout"


def export(browser: FlaskClient) -> str:
    response = browser.get("/admin/settings/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True)


@pytest.fixture
def policy(runtime: Runtime) -> User:
    """A site signature policy approved by QA: setting changes are signed acts."""
    return effective_policy(runtime)


@pytest.mark.req("VAL-05")
def test_changing_the_lockout_threshold_writes_one_entry_with_old_new_who_when_and_why(
    app: Flask, runtime: Runtime, clock: FakeClock, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    clock.advance(minutes=7)
    before = last_seq(runtime)
    assert change_setting(browser, admin, "lockout.threshold", "3", REASON).status_code == 302
    updates = [
        e
        for e in entries_since(runtime, before)
        if e.draft.action == "update" and e.draft.object_id == "lockout.threshold"
    ]
    assert len(updates) == 1
    entry = updates[0].draft
    assert (entry.object_type, entry.field, entry.old_value, entry.new_value) == ("setting", "value", "5", "3")
    assert entry.reason == REASON
    assert (entry.user_id, entry.username, entry.user_name) == (admin.id, admin.username, admin.full_name)
    assert entry.at == clock.now()
    assert all(e.draft.at == clock.now() and e.draft.reason == REASON for e in entries_since(runtime, before))
    assert runtime.services.settings.current()["lockout.threshold"] == 3


@pytest.mark.req("VAL-05")
def test_the_export_shows_the_new_value_and_the_diff_against_a_baseline_shows_the_change(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    baseline = export(browser)
    assert json.loads(baseline)["lockout.threshold"] == 5
    assert change_setting(browser, admin, "lockout.threshold", "3", REASON).status_code == 302
    current = json.loads(export(browser))
    assert current["lockout.threshold"] == 3
    assert {k: v for k, v in current.items() if k != "lockout.threshold"} == {
        k: v for k, v in json.loads(baseline).items() if k != "lockout.threshold"
    }
    response = post(browser, "/admin/settings/diff", {"baseline": baseline}, token_from="/admin/settings")
    assert response.status_code == 200
    rows = re.findall(
        r"<tr><td><code>([^<]+)</code></td><td>([^<]*)</td><td>([^<]*)</td></tr>", response.get_data(as_text=True)
    )
    assert rows == [("lockout.threshold", "5", "3")]


@pytest.mark.req("VAL-05")
def test_a_diff_against_the_current_export_shows_no_differences(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    response = post(browser, "/admin/settings/diff", {"baseline": export(browser)}, token_from="/admin/settings")
    assert response.status_code == 200
    assert "No differences." in response.get_data(as_text=True)


@pytest.mark.req("VAL-05")
def test_a_change_without_a_reason_is_422_and_changes_nothing(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    for reason in ("", "   ", "ok"):
        response = request_setting_change(browser, "lockout.threshold", "3", reason)
        assert response.status_code == 422, repr(reason)
        assert "reason" in html.unescape(response.get_data(as_text=True)).lower()
    response = post(
        browser, "/admin/settings", {"key": "lockout.threshold", "value": "3"}, token_from="/admin/settings"
    )
    assert response.status_code == 422
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries_since(runtime, before) == []


@pytest.mark.req("VAL-05")
@pytest.mark.req("PWD-05")
def test_the_changed_threshold_governs_the_next_lockout(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    assert change_setting(browser, admin, "lockout.threshold", "3", REASON).status_code == 302
    user = make_user(runtime, Role.OPERATOR)
    for _ in range(3):
        assert login(new_client(app), user.username, "Wrong-Horse-0") == 401
    assert login(new_client(app), user.username) == 401
    assert len(entries(runtime, action="lockout", object_id=str(user.id))) == 1


@pytest.mark.req("VAL-05")
def test_the_settings_page_lists_every_setting_with_its_value_in_force(app: Flask, runtime: Runtime) -> None:
    set_setting(runtime, "session.idle_minutes", 10)
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    page = browser.get("/admin/settings").get_data(as_text=True)
    values = dict(re.findall(r"<tr><td><code>([^<]+)</code></td><td>[^<]*</td><td>([^<]*)</td>", page))
    assert values == {k: str(v) for k, v in runtime.services.settings.current().values.items()}
    assert values["session.idle_minutes"] == "10"


@pytest.mark.req("VAL-05")
def test_a_requested_change_takes_effect_only_once_signed(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    requested = request_setting_change(browser, "lockout.threshold", "3", REASON)
    assert requested.status_code == 302
    assert "/sign/" in requested.location
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    refused = sign_dialog(browser, requested.location, admin.username, password="Wrong-Horse-0")
    assert refused.status_code == 403
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert entries(runtime, object_type="setting", action="update") == []
    assert sign_dialog(browser, requested.location, admin.username).status_code == 302
    assert runtime.services.settings.current()["lockout.threshold"] == 3


@pytest.mark.req("VAL-05")
def test_a_change_request_cannot_be_signed_twice(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    requested = request_setting_change(browser, "lockout.threshold", "3", REASON)
    assert sign_dialog(browser, requested.location, admin.username).status_code == 302
    replay = browser.get(requested.location)
    assert replay.status_code == 409
    assert len(entries(runtime, object_type="setting", action="update")) == 1
