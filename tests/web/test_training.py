"""The training page: supervisors and QA record training with dates and a reason; bad input is a 4xx, nothing stored."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import make_user
from tests.web.support import entries_since, last_seq, post, sign_in

FORM = {"course": "GMP-101", "trained_on": "2026-11-02", "valid_until": "2027-11-01", "reason": "annual refresher"}


def test_a_supervisor_records_a_training_and_sees_it_listed_as_current(app: Flask, runtime: Runtime) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    browser, supervisor = sign_in(app, runtime, Role.SUPERVISOR)
    before = last_seq(runtime)
    response = post(browser, "/training/", {**FORM, "username": operator.username}, token_from="/training/")
    assert response.status_code == 302
    [stored] = runtime.services.training.for_user(operator.id)
    # 'Valid until' a date includes that day: the record expires at the next midnight UTC.
    assert (stored.trained_at, stored.valid_until) == (
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2027, 11, 2, tzinfo=UTC),
    )
    [entry] = entries_since(runtime, before)
    assert (entry.draft.object_type, entry.draft.username, entry.draft.reason) == (
        "training_record",
        supervisor.username,
        "annual refresher",
    )
    listed = html.unescape(browser.get("/training/").get_data(as_text=True))
    assert operator.username in listed and "GMP-101" in listed
    assert 'class="status-current"' in listed


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"course": " "}, 422, "course"),
        ({"valid_until": "2026-11-01"}, 422, "'Valid until' must be after the training date"),
        ({"username": "nobody.here"}, 422, "Unknown user id 'nobody.here'"),
        ({"trained_on": "2026-13-45"}, 422, "trained_on"),
        ({"trained_on": "2099-01-01", "valid_until": "2100-01-01"}, 422, "before it took place"),
        ({"valid_until": "9999-12-31"}, 422, "real expiry date"),
        ({"reason": ""}, 422, "reason"),
    ],
    ids=["empty course", "valid until before trained on", "unknown user", "no date", "future", "endless", "no reason"],
)
def test_bad_training_input_is_refused_with_a_clear_message_and_nothing_is_stored(
    app: Flask, runtime: Runtime, changes: dict[str, str], status: int, message: str
) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    browser, _ = sign_in(app, runtime, Role.QA)
    before = last_seq(runtime)
    response = post(browser, "/training/", {**FORM, "username": operator.username, **changes}, token_from="/training/")
    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))
    assert runtime.services.training.list() == []
    assert entries_since(runtime, before) == []


def test_a_supervisor_cannot_record_their_own_training(app: Flask, runtime: Runtime) -> None:
    browser, supervisor = sign_in(app, runtime, Role.SUPERVISOR)
    response = post(browser, "/training/", {**FORM, "username": supervisor.username}, token_from="/training/")
    assert response.status_code == 403
    assert runtime.services.training.list() == []
