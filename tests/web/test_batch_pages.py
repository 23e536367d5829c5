"""The operator's batch pages: worklist, batch and step render for the batch roles, refuse the others, and the
step's values are saved one by one with clear refusals (404, 409, 422) and a confirmation for out-of-limit values."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.execution_support import running_batch
from tests.factories import csrf_token
from tests.web.batch_support import (
    OVERRIDE,
    browser_of,
    enter_json,
    released_order,
    second_batch,
    step_pk,
    text_of,
    weighing,
)
from tests.web.support import post, sign_in


def test_the_worklist_shows_active_batches_with_open_steps_and_released_orders_to_start(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    order_id = released_order(runtime, floor, "9100")
    page = browser_of(app, floor.operator.user.username).get("/batches/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    pk = step_pk(floor, "qc_identify")
    assert f'href="/batches/B-9001/steps/{pk}"' in html
    assert "Identify material and balance" in html
    assert 'id="start-' + str(order_id) + '"' in html
    assert "Start batch B-9100" in html


def test_starting_a_released_order_opens_its_batch_with_the_first_step_ready(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    order_id = released_order(runtime, floor, "9101")
    browser = browser_of(app, floor.operator.user.username)
    started = post(browser, "/batches/", {"order_id": str(order_id)}, token_from="/batches/")
    assert started.status_code == 302 and started.location.endswith("/batches/B-9101")
    page = browser.get(started.location)
    assert "Batch B-9101 started." in text_of(page)
    view = runtime.services.execution.batch("B-9101")
    assert [(line.record.step_id, line.record.status) for line in view.steps] == [("qc_identify", "ready")]
    again = post(browser, "/batches/", {"order_id": str(order_id)}, token_from="/batches/")
    assert again.status_code in (409, 422)  # the order is in progress now: no second batch


def test_a_worklist_start_needs_batch_execute(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    order_id = released_order(runtime, floor, "9102")
    browser, _ = sign_in(app, runtime, Role.QA)
    assert 'id="start-' not in browser.get("/batches/").get_data(as_text=True)
    assert post(browser, "/batches/", {"order_id": str(order_id)}, token_from="/batches/").status_code == 403


@pytest.mark.req("ACC-02")
@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPERVISOR, Role.QA, Role.ENGINEER], ids=str)
def test_the_batch_pages_render_for_every_role_that_may_see_batches(app: Flask, runtime: Runtime, role: Role) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser, _ = sign_in(app, runtime, role)
    for path in ("/batches/", "/batches/B-9001", f"/batches/B-9001/steps/{pk}", "/batches/B-9001/diagram.bpmn"):
        assert browser.get(path).status_code == 200, path
    calculated = browser.get(f"/api/batches/B-9001/steps/{pk}/calculated")
    assert calculated.status_code == 200 and calculated.get_json() == {}


@pytest.mark.req("ACC-02")
def test_the_administrator_gets_403_on_every_batch_page(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    for path in ("/batches/", "/batches/B-9001", f"/batches/B-9001/steps/{pk}"):
        assert browser.get(path).status_code == 403, path
    refused = browser.post(f"/api/batches/B-9001/steps/{pk}/values", json=weighing())
    assert refused.status_code in (400, 403)  # no CSRF token of a page the admin may open; never saved
    assert runtime.services.execution.step("B-9001", pk).fields[0].current is None


def test_the_step_page_shows_instructions_rule_limits_and_inputs_with_the_barcode_focused(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    browser = browser_of(app, floor.operator.user.username)
    identify = browser.get(f"/batches/B-9001/steps/{step_pk(floor, 'qc_identify')}").get_data(as_text=True)
    assert "Scan the lot label of the container" in identify
    assert re.search(r'id="value-qc_lot"[^>]*autofocus', identify)
    assert not re.search(r'id="value-qc_balance_id"[^>]*autofocus', identify)
    assert 'id="sign-performed"' in identify
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    weigh = browser.get(f"/batches/B-9001/steps/{step_pk(floor, 'qc_weigh')}")
    shown = text_of(weigh)
    assert "Limits: 1.000 kg ± 0.010 kg" in shown
    assert "Verified by a second person: supervisor" in shown
    assert "Critical step" in shown
    assert 'id="override-qc_mass"' in weigh.get_data(as_text=True)
    assert "Target <strong>1.000 kg ± 0.010 kg</strong>" in weigh.get_data(as_text=True)


def test_a_step_of_another_batch_or_a_forged_step_id_is_not_found(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    other = second_batch(runtime, floor)
    foreign = runtime.services.execution.batch(other).steps[0].record.id
    browser = browser_of(app, floor.operator.user.username)
    for pk in (foreign, 999_999):
        assert browser.get(f"/batches/B-9001/steps/{pk}").status_code == 404
        assert enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"}).status_code == 404
        assert browser.get(f"/api/batches/B-9001/steps/{pk}/calculated").status_code == 404
        assert post(browser, f"/batches/B-9001/steps/{pk}/perform", token_from="/batches/").status_code == 404
    assert browser.get("/batches/B-NOPE").status_code == 404
    assert runtime.services.execution.step(other, foreign).fields[0].current is None


def test_a_value_for_a_step_that_is_no_longer_open_is_409_with_a_clear_message(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser = browser_of(app, floor.operator.user.username)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")  # signed meanwhile, at another terminal
    refused = enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-2"})
    assert refused.status_code == 409
    assert "is completed, not ready: reload the batch" in refused.get_json()["message"]
    assert runtime.services.execution.step("B-9001", pk).fields[0].current.value == "LOT-1"  # type: ignore[union-attr]


def test_a_wrong_type_an_unknown_field_or_a_malformed_body_is_422(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = step_pk(floor, "qc_weigh")
    browser = browser_of(app, floor.operator.user.username)
    token = csrf_token(browser, "/batches/")
    cases = [
        (weighing("heavy"), "is not a number"),
        (weighing("1.0001"), "at most 3 decimal places"),
        (weighing(unit="g"), "wrong unit"),
        ({"field": "qc_mass", "value": "1.000", "unit": "kg"}, "needs a reason"),
        ({"field": "qc_colour", "value": "blue"}, "has no field 'qc_colour'"),
        ({"field": "qc_mass", "value": 1.0}, "'value' must be text"),
        (weighing(confirmed="yes"), "'confirmed' must be true or false"),
        (["qc_mass", "1.000"], "Send a JSON object"),
    ]
    for body, message in cases:
        answer = enter_json(browser, "B-9001", pk, body, token)  # type: ignore[arg-type]
        assert answer.status_code == 422, body
        assert message in answer.get_json()["message"], (body, answer.get_json())
    form_post = browser.post(f"/api/batches/B-9001/steps/{pk}/values", data="x", headers={"X-CSRFToken": token})
    assert form_post.status_code == 422
    assert runtime.services.execution.step("B-9001", pk).fields[0].history == []


@pytest.mark.req("ACC-08")
def test_a_json_entry_without_the_csrf_token_is_400_and_nothing_is_saved(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser = browser_of(app, floor.operator.user.username)
    for token in ("", "forged"):
        answer = enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"}, token)
        assert answer.status_code == 400
    plain = browser.post(f"/batches/B-9001/steps/{pk}/values", data={"field": "qc_lot", "value": "LOT-1"})
    assert plain.status_code == 400
    assert runtime.services.execution.step("B-9001", pk).fields[0].history == []
    saved = enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"})
    assert saved.status_code == 200 and saved.get_json()["saved"] is True


def test_an_out_of_limit_value_is_409_until_confirmed_then_saved_with_a_deviation_shown(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = step_pk(floor, "qc_weigh")
    browser = browser_of(app, floor.operator.user.username)
    first = enter_json(browser, "B-9001", pk, weighing("1.050"))
    assert first.status_code == 409
    assert first.get_json()["confirm"] is True and first.get_json()["field"] == "qc_mass"
    assert "is outside 1.000 kg ± 0.010 kg" in first.get_json()["message"]
    assert runtime.services.execution.step("B-9001", pk).fields[0].history == []
    confirmed = enter_json(browser, "B-9001", pk, weighing("1.050", confirmed=True))
    assert confirmed.status_code == 200
    body = confirmed.get_json()
    assert (body["value"], body["unit"], body["deviation"]) == ("1.050", "kg", True)
    assert "A deviation was opened" in body["message"]
    batch_page = text_of(browser.get("/batches/B-9001"))
    assert "out of limit" in batch_page and "Net mass = 1.050 kg is outside 1.000 kg ± 0.010 kg" in batch_page
    step_page = text_of(browser.get(f"/batches/B-9001/steps/{pk}"))
    assert "outside 1.000 kg ± 0.010 kg" in step_page and f"Manual override: {OVERRIDE}" in step_page


def test_without_the_script_each_field_posts_its_form_and_returns_with_the_outcome(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = step_pk(floor, "qc_weigh")
    path = f"/batches/B-9001/steps/{pk}"
    browser = browser_of(app, floor.operator.user.username)
    refused = post(browser, f"{path}/values", {"field": "qc_mass", "value": "1.002", "unit": "kg"}, token_from=path)
    assert refused.status_code == 302 and refused.location.endswith(f"{path}#field-qc_mass")
    assert "Not saved: Net mass is captured from a device" in text_of(browser.get(path))
    out = post(browser, f"{path}/values", {**weighing("0.9"), "unit": "kg"}, token_from=path)
    assert out.status_code == 302
    assert "Tick “Record although outside the limits”" in text_of(browser.get(path))
    saved = post(browser, f"{path}/values", weighing("1.002"), token_from=path)
    assert saved.status_code == 302
    page = text_of(browser.get(path))
    assert "Saved Net mass = 1.002 kg at 09:00:00Z." in page
    assert "In force: 1.002 kg" in page


def test_a_changed_value_keeps_the_original_struck_through_with_the_reason(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser = browser_of(app, floor.operator.user.username)
    assert enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"}).status_code == 200
    changed = enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-2", "change_reason": "misread"})
    assert changed.status_code == 200
    html = browser.get(f"/batches/B-9001/steps/{pk}").get_data(as_text=True)
    assert "<del>LOT-1</del>" in html and "<strong>LOT-2</strong>" in html
    assert "Reason: misread" in html and "terminal" in html


def test_the_batch_page_carries_the_progress_the_diagram_colours(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    browser = browser_of(app, floor.operator.user.username)
    html = browser.get("/batches/B-9001").get_data(as_text=True)
    match = re.search(r'data-progress="([^"]*)"', html)
    assert match
    progress = json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert progress["done"] == ["qc_identify"] and progress["current"] == ["qc_weigh"]
    assert progress["process_of"]["qc_weigh"] == "quick_check"
    diagram = browser.get("/batches/B-9001/diagram.bpmn")
    assert diagram.mimetype == "application/xml" and b'id="qc_weigh"' in diagram.data


def test_a_person_whose_role_does_not_perform_the_step_sees_it_without_inputs(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = step_pk(floor, "qc_weigh")
    browser = browser_of(app, floor.supervisor.user.username)  # may execute, but the step names the operator
    html = browser.get(f"/batches/B-9001/steps/{pk}").get_data(as_text=True)
    assert 'id="view-only"' in html and "it is performed by operator" in html
    assert 'id="value-qc_mass"' not in html and 'id="sign-performed"' not in html
    refused = enter_json(browser, "B-9001", pk, weighing())
    assert refused.status_code == 403 and "performed by: operator" in refused.get_json()["message"]
