"""The step page voids an unsigned entry through a small form beside it: the void shows struck through with its
reason; a refusal is 400 (no CSRF token), 403, 409 or 422 with its reason, and nothing is stored."""

from __future__ import annotations

from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.execution_support import person, running_batch
from tests.web.batch_support import browser_of, enter_json, step_pk, text_of
from tests.web.support import post

REASON = "scanned the wrong container"


def test_an_entry_is_voided_from_the_step_page_and_shows_struck_through_with_its_reason(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    path = f"/batches/B-9001/steps/{pk}"
    browser = browser_of(app, floor.operator.user.username)
    assert enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"}).status_code == 200
    [entry] = runtime.services.execution.step("B-9001", pk).fields[0].history
    html = browser.get(path).get_data(as_text=True)
    assert f'action="{path}/values/{entry.id}/void" id="void-{entry.id}"' in html
    assert f'form="void-{entry.id}"' in html and 'id="void-button-qc_lot"' in html
    voided = post(browser, f"{path}/values/{entry.id}/void", {"reason": REASON}, token_from=path)
    assert voided.status_code == 302 and voided.headers["Location"].endswith(f"{path}#field-qc_lot")
    page = browser.get(path)
    html = page.get_data(as_text=True)
    assert "<del>LOT-1</del>" in html and "<strong>(voided)</strong>" in html
    assert f"VOIDED entry {entry.id}: {REASON}" in text_of(page)
    assert 'id="void-button-qc_lot"' not in html  # nothing left in force to void
    history = runtime.services.execution.step("B-9001", pk).fields[0].history
    assert [v.void_reason for v in history] == ["", REASON]


def test_refused_voids_answer_with_their_reason_and_store_nothing(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    path = f"/batches/B-9001/steps/{pk}"
    browser = browser_of(app, floor.operator.user.username)
    assert enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"}).status_code == 200
    [entry] = runtime.services.execution.step("B-9001", pk).fields[0].history
    void = f"{path}/values/{entry.id}/void"
    assert browser.post(void, data={"reason": REASON}).status_code == 400  # no CSRF token
    assert post(browser, void, {"reason": ""}, token_from=path).status_code == 422
    unknown = post(browser, f"{path}/values/999999/void", {"reason": REASON}, token_from=path)
    assert unknown.status_code == 422 and "no entry 999999" in unknown.get_data(as_text=True)
    colleague = person(runtime, Role.OPERATOR)
    other = browser_of(app, colleague.user.username)
    assert post(other, void, {"reason": REASON}, token_from=path).status_code == 403
    assert runtime.services.execution.step("B-9001", pk).fields[0].history == [entry]
    floor.enter("qc_identify", qc_balance_id="BAL-1")
    floor.sign_step("qc_identify")
    signed = post(browser, void, {"reason": REASON}, token_from=path)
    assert signed.status_code == 409 and "signed correction" in signed.get_data(as_text=True)
    assert runtime.services.execution.step("B-9001", pk).fields[0].history == [entry]
