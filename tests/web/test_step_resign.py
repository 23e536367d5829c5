"""The step page after a signed correction (SIG-03): the earlier signature shows "invalidated by change at <time>",
the step shows that it needs re-signing, and the same signing dialog re-signs it; the invalidation stays as history."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.fakes import FakeClock
from tests.web.batch_support import browser_of, step_pk, text_of
from tests.web.support import post, sign_dialog


@pytest.mark.req("SIG-03")
def test_a_corrected_step_shows_its_invalidated_signature_and_is_re_signed_through_the_dialog(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    browser = browser_of(app, floor.operator.user.username)
    path = f"/batches/B-9001/steps/{pk}"
    shown = clock.advance(minutes=3).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"field": "qc_lot", "value": "LOT-9", "reason": "label misread"}
    requested = post(browser, f"{path}/corrections", body, token_from=path)
    sign_dialog(browser, requested.location, floor.operator.user.username)

    page = text_of(browser.get(path))
    assert f"invalidated by change at {shown}" in page
    assert "Needs re-signing" in page and 'id="resign-performed"' in browser.get(path).get_data(as_text=True)

    opened = post(browser, f"{path}/resign", {"meaning": "performed"}, token_from=path)
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert "LOT-9" in text_of(browser.get(opened.location))  # the dialog shows the content as it is now
    signed = sign_dialog(browser, opened.location, floor.operator.user.username)
    assert signed.status_code == 302 and signed.location == path

    after = text_of(browser.get(path))
    assert f"invalidated by change at {shown}" in after  # history stays
    assert "re-signed over the corrected content" in after and "Needs re-signing" not in after
    again = post(browser, f"{path}/resign", {"meaning": "performed"}, token_from=path)
    assert again.status_code == 409  # nothing is owed any more
