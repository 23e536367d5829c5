"""Samples, device identification and attached files on the batch pages: release answers 409 naming a sample whose
required result is pending, QA links a result through the signing dialog, a specimen is uploaded and served back,
and the device identification shows on the batch page."""

from __future__ import annotations

import hashlib
import html
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.batch import BatchStatus
from tests.app.execution_support import Floor, advance_to, running_batch
from tests.app.items_support import items_runtime, perform, png
from tests.app.review_support import acknowledge_all, review_trail, reviewer, run_to_completion, submit
from tests.factories import csrf_token
from tests.fakes import FakeClock, RecordingNotifier
from tests.web.batch_support import browser_of, step_pk, text_of
from tests.web.support import post, sign_dialog

BATCH = "B-9001"
PAGE = f"/batches/{BATCH}"
SPECIMEN = png(5, 5)


@pytest.fixture
def runtime(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """The application on the library with the example procedures; the release candidate always matches."""
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as rt:
        yield rt


def readable(response: TestResponse) -> str:
    return html.unescape(text_of(response))


def sampled_in_review(runtime: Runtime, clock: FakeClock) -> Floor:
    floor = running_batch(runtime, "sampling_example", "SX-100")
    perform(floor, "sx_take_qc", clock.now(), sx_mass="20.0", sx_jar="JAR-1")
    run_to_completion(floor)
    submit(floor)
    return floor


def upload(browser: FlaskClient, floor: Floor, content: bytes, name: str = "specimen.png") -> TestResponse:
    pk = step_pk(floor, "px_issue_labels")
    data = {"csrf_token": csrf_token(browser, PAGE), "field": "px_label_specimen", "file": (io.BytesIO(content), name)}
    return browser.post(f"{PAGE}/steps/{pk}/attachments", data=data, content_type="multipart/form-data")


@pytest.mark.req("BR-07")
def test_release_with_a_pending_required_result_answers_409_naming_the_sample_until_qa_links_it(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = sampled_in_review(runtime, clock)
    qa = reviewer(runtime)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    browser = browser_of(app, qa.user.username)
    review = f"/review/{BATCH}"

    refused = post(browser, f"{review}/decision", {"decision": "release", "reason": "record fine"}, token_from=review)
    assert refused.status_code == 409
    assert f"sample {BATCH}-S1 awaits its required laboratory result" in readable(refused)

    data = {"sample_id": f"{BATCH}-S1", "result": "assay 100.2 %", "conforms": "yes", "reason": "LIMS LR-9"}
    opened = post(browser, f"{PAGE}/samples/results", data, token_from=PAGE)
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert sign_dialog(browser, opened.location, qa.user.username).status_code == 302
    page = readable(browser.get(PAGE))
    assert f"{BATCH}-S1" in page and "assay 100.2 % · conforms · approved" in page
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    opened = post(browser, f"{review}/decision", {"decision": "release", "reason": "record fine"}, token_from=review)
    assert sign_dialog(browser, opened.location, qa.user.username).status_code == 302
    assert runtime.services.batches.get(BATCH).batch.status is BatchStatus.RELEASED


def test_the_batch_page_lists_samples_and_prints_a_sample_label_and_only_qa_links_results(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = sampled_in_review(runtime, clock)
    operator = browser_of(app, floor.operator.user.username)

    page = readable(operator.get(PAGE))
    assert f"{BATCH}-S1" in page and "result pending" in page and "Link a laboratory result" not in page
    label = operator.get(f"{PAGE}/samples/{BATCH}-S1/label")
    assert label.status_code == 200 and "<svg" in label.get_data(as_text=True) and "20.0 g" in readable(label)
    assert operator.get(f"{PAGE}/samples/{BATCH}-S9/label").status_code == 404
    data = {"sample_id": f"{BATCH}-S1", "result": "ok", "conforms": "yes", "reason": "my own"}
    assert post(operator, f"{PAGE}/samples/results", data, token_from=PAGE).status_code == 403


@pytest.mark.req("BR-06")
def test_a_specimen_is_uploaded_to_its_field_and_served_back_as_stored(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime, "packaging_example", "PX-100")
    advance_to(floor, clock.now(), "px_issue_labels")
    browser = browser_of(app, floor.operator.user.username)

    refused = upload(browser, floor, b"GIF89a not a label", "label.gif")
    assert refused.status_code == 302, readable(refused)[-600:]
    assert runtime.services.attachments.for_batch(BATCH) == []
    assert upload(browser, floor, SPECIMEN).status_code == 302

    digest = hashlib.sha256(SPECIMEN).hexdigest()
    served = browser.get(f"{PAGE}/attachments/{digest}")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == SPECIMEN
    assert browser.get(f"{PAGE}/attachments/{'0' * 64}").status_code == 404
    step_page = readable(browser.get(f"{PAGE}/steps/{step_pk(floor, 'px_issue_labels')}"))
    assert f"SHA-256 {digest}" in step_page
    assert "specimen.png" in readable(browser.get(PAGE))


@pytest.mark.req("BR-09")
def test_the_batch_page_shows_the_device_identification(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime, "device_example", "DX-100")
    perform(floor, "dx_assemble", clock.now(), dx_built="10")
    data = {"dx_made": "10", "dx_approved": "9", "dx_udi_di": "4006381333931", "dx_lot": "L-1"}
    perform(floor, "dx_release", clock.now(), **data, dx_serials="S1-S10", dx_expiry="2030-01-31")

    page = readable(browser_of(app, floor.operator.user.username).get(PAGE))

    assert "Device identification" in page and "(01)04006381333931(17)300131(10)L-1(21)S1-S10" in page
    assert "Quantity approved for distribution 9 pcs" in page
