"""The outage fallback from the step page (OPS-02): issue and print a numbered paper form, then enter a value as
transcribed from it; the flag shows on the step page, and an unknown number saves nothing."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from tests.app.equipment_support import values_of
from tests.app.execution_support import running_batch, scanned
from tests.web.batch_support import browser_of, step_pk, text_of
from tests.web.support import post


@pytest.mark.req("OPS-02")
def test_a_form_is_issued_and_printed_from_the_step_and_a_value_transcribed_from_it_is_flagged(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    path = f"/batches/B-9001/steps/{pk}"
    browser = browser_of(app, floor.operator.user.username)
    assert 'id="issue-paper-form"' in browser.get(path).get_data(as_text=True)

    issued = post(browser, f"{path}/paper-forms", token_from=path)

    assert issued.status_code == 302 and issued.location == f"{path}/paper-forms/SITE-1-PF-000001"
    sheet = text_of(browser.get(issued.location))
    assert "SITE-1-PF-000001" in sheet and "B-9001" in sheet and "Identify material and balance" in sheet
    view = runtime.services.execution.step("B-9001", pk)
    field = view.form.field("qc_lot")
    assert field is not None and field.label in sheet
    code = scanned(field, view.step.equipment_class)

    refused = post(
        browser, f"{path}/values", {"field": "qc_lot", "value": code, "transcribed": "y", "paper_form": "PF-9"}, path
    )
    assert "Not saved" in text_of(browser.get(refused.location)) and values_of(floor, "qc_identify") == []

    body = {"field": "qc_lot", "value": code, "transcribed": "y", "paper_form": "SITE-1-PF-000001"}
    saved = post(browser, f"{path}/values", body, token_from=path)

    page = text_of(browser.get(saved.location))
    assert "Flagged as transcribed from paper form SITE-1-PF-000001" in page
    assert "transcribed from paper form SITE-1-PF-000001" in page
    [value] = values_of(floor, "qc_identify")
    assert value.paper_form == "SITE-1-PF-000001"
