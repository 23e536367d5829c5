"""AUD-03: audit times come from the server clock, never from what the client sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import PASSWORD, csrf_token, effective_policy, make_user
from tests.fakes import FakeClock
from tests.web.support import entries_since, last_seq, new_client, post, sign_dialog, sign_in

FORGED_AT = "1999-12-31T23:59:59Z"
FORGED_HEADERS = {
    "Date": "Fri, 31 Dec 1999 23:59:59 GMT",
    "X-Timestamp": "946684799",
    "X-Client-Time": FORGED_AT,
}


@pytest.mark.req("AUD-03")
def test_a_forged_time_field_and_headers_do_not_reach_the_audit_time_of_an_admin_action(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    clock.set(datetime(2027, 3, 4, 5, 6, 7, 890000, tzinfo=UTC))
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    clock.advance(minutes=4, microseconds=123)
    before = last_seq(runtime)
    response = post(
        browser,
        f"/admin/users/{target.id}/disable",
        {"reason": "backdating attempt", "at": FORGED_AT, "timestamp": FORGED_AT},
        headers=FORGED_HEADERS,
    )
    assert response.status_code == 302
    (entry,) = entries_since(runtime, before)
    assert entry.draft.at == clock.now()


@pytest.mark.req("AUD-03")
def test_a_forged_time_does_not_reach_a_signed_setting_change_or_its_signature(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    effective_policy(runtime)
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    clock.advance(minutes=2, seconds=30)
    before = last_seq(runtime)
    data = {"key": "lockout.threshold", "value": "3", "reason": "backdating attempt", "at": FORGED_AT}
    requested = post(browser, "/admin/settings", data, token_from="/admin/settings", headers=FORGED_HEADERS)
    assert requested.status_code == 302
    requested_at = clock.now()
    clock.advance(seconds=40)
    assert sign_dialog(browser, requested.location, admin.username, headers=FORGED_HEADERS).status_code == 302
    new = entries_since(runtime, before)
    assert new[0].draft.object_type == "setting_change"
    assert new[0].draft.at == requested_at
    assert {e.draft.at for e in new[1:]} == {clock.now()}
    (signature,) = runtime.services.signing.signatures_on("setting_change", new[0].draft.object_id)
    assert signature.signed_at == clock.now()


@pytest.mark.req("AUD-03")
def test_a_forged_time_does_not_reach_login_entries_or_login_attempts(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    user = make_user(runtime, Role.OPERATOR)
    clock.advance(hours=5, seconds=13)
    before = last_seq(runtime)
    for password in ("Wrong-Horse-0", PASSWORD):
        browser = new_client(app)
        token = csrf_token(browser)
        browser.post(
            "/login",
            data={"csrf_token": token, "username": user.username, "password": password, "at": FORGED_AT},
            headers=FORGED_HEADERS,
        )
    new = entries_since(runtime, before)
    assert [e.draft.action for e in new] == ["login_failed", "login"]
    assert {e.draft.at for e in new} == {clock.now()}


@pytest.mark.req("AUD-03")
def test_a_forged_time_does_not_reach_a_permission_denial_entry(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    clock.advance(minutes=9)
    before = last_seq(runtime)
    assert browser.get("/admin/users", query_string={"at": FORGED_AT}, headers=FORGED_HEADERS).status_code == 403
    (entry,) = entries_since(runtime, before)
    assert entry.draft.at == clock.now()
