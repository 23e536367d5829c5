"""Two people submit the same step at the same moment over HTTP: one 302 onward, one 409, one set of values."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import Action
from tests.app.execution_support import person, running_batch
from tests.app.masterdata_support import trail
from tests.factories import PASSWORD, csrf_token
from tests.web.batch_support import browser_of, enter_json, step_pk, text_of
from tests.web.support import CONTENT_HASH_RE, post

BATCH = "B-9001"


def _open_dialog(browser: FlaskClient, pk: int) -> tuple[str, dict[str, str]]:
    """Open the signing dialog for 'performed' and read what a person would submit."""
    page = f"/batches/{BATCH}/steps/{pk}"
    opened = post(browser, f"{page}/perform", token_from=page)
    assert opened.status_code == 302 and "/sign/" in opened.location
    shown = browser.get(opened.location).get_data(as_text=True)
    match = CONTENT_HASH_RE.search(shown)
    assert match
    return opened.location, {"content_hash": match.group(1), "csrf_token": csrf_token(browser, opened.location)}


@pytest.mark.req("SEQ-03")
def test_two_concurrent_http_submissions_of_one_step_give_one_success_and_one_conflict(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    second = person(runtime, Role.OPERATOR)
    pk = step_pk(floor, "qc_identify")
    first_browser = browser_of(app, floor.operator.user.username)
    for field, value in (("qc_lot", "LOT-1"), ("qc_balance_id", "BAL-1")):
        assert enter_json(first_browser, BATCH, pk, {"field": field, "value": value}).status_code == 200
    people = [
        (first_browser, floor.operator.user.username),
        (browser_of(app, second.user.username), second.user.username),
    ]
    dialogs = [(browser, name, *_open_dialog(browser, pk)) for browser, name in people]
    barrier = threading.Barrier(2)
    answers: list[TestResponse] = []

    def submit(browser: FlaskClient, name: str, path: str, form: dict[str, str]) -> None:
        barrier.wait()
        answers.append(browser.post(path, data=form | {"username": name, "password": PASSWORD, "acknowledge": "y"}))

    threads = [threading.Thread(target=submit, args=dialog) for dialog in dialogs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answer.status_code for answer in answers) == [302, 409], [text_of(a)[:300] for a in answers]
    refused = next(answer for answer in answers if answer.status_code == 409).get_data(as_text=True)
    assert "changed" in refused or "reload" in refused
    assert len(runtime.services.signing.signatures_on("batch_step", str(pk))) == 1
    moves = [
        e for e in trail(runtime, "batch") if e.draft.action is Action.STATE_CHANGE and e.draft.field == "engine_state"
    ]
    assert len(moves) == 1
    view = runtime.services.execution.step(BATCH, pk)
    assert [len(f.history) for f in view.fields] == [1, 1]  # one set of values
