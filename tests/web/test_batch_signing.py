"""Signed acts from the batch pages: performed and verified steps, holds, corrections and deviation decisions all go
through the one signing dialog and come back to the page they started from."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.execution_support import Floor, fill, running_batch
from tests.fakes import FakeClock
from tests.web.batch_support import browser_of, enter_json, second_batch, step_pk, text_of, weighing
from tests.web.support import post, sign_dialog, sign_in


def _weighed(runtime: Runtime) -> tuple[Floor, int]:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    return floor, step_pk(floor, "qc_weigh")


@pytest.mark.req("SIG-10")
def test_sign_as_performed_opens_the_dialog_and_returns_to_the_batch(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser = browser_of(app, floor.operator.user.username)
    for field, value in (("qc_lot", "LOT-1"), ("qc_balance_id", "BAL-1")):
        assert enter_json(browser, "B-9001", pk, {"field": field, "value": value}).status_code == 200
    opened = post(browser, f"/batches/B-9001/steps/{pk}/perform", token_from=f"/batches/B-9001/steps/{pk}")
    assert opened.status_code == 302 and "/sign/" in opened.location and "next=/batches/B-9001" in opened.location
    dialog = text_of(browser.get(opened.location))
    assert "Performed by" in dialog and "qc_identify" in dialog
    signed = sign_dialog(browser, opened.location, floor.operator.user.username)
    assert signed.status_code == 302 and signed.location == "/batches/B-9001"
    page = text_of(browser.get(signed.location))
    assert f"Signed: Performed by {floor.operator.user.full_name}" in page
    assert [(line.record.step_id, line.record.status) for line in runtime.services.execution.batch("B-9001").steps] == [
        ("qc_identify", "completed"),
        ("qc_weigh", "ready"),
    ]


def test_a_step_with_a_missing_value_is_refused_at_signing_and_stays_ready(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    browser = browser_of(app, floor.operator.user.username)
    enter_json(browser, "B-9001", pk, {"field": "qc_lot", "value": "LOT-1"})
    opened = post(browser, f"/batches/B-9001/steps/{pk}/perform", token_from="/batches/")
    refused = sign_dialog(browser, opened.location, floor.operator.user.username)
    assert refused.status_code == 409
    assert "cannot be signed: missing Bench balance" in text_of(refused)
    assert floor.step("qc_identify").record.status == "ready"


@pytest.mark.req("SIG-10")
def test_a_second_person_verifies_at_the_performers_browser_and_the_next_step_becomes_ready(
    app: Flask, runtime: Runtime
) -> None:
    floor, pk = _weighed(runtime)
    browser = browser_of(app, floor.operator.user.username)
    assert enter_json(browser, "B-9001", pk, weighing()).status_code == 200
    opened = post(browser, f"/batches/B-9001/steps/{pk}/perform", token_from="/batches/")
    assert sign_dialog(browser, opened.location, floor.operator.user.username).status_code == 302
    page = browser.get("/batches/B-9001").get_data(as_text=True)
    assert "performed, awaiting verification" in page and f'id="verify-{pk}"' in page
    assert post(browser, f"/batches/B-9001/steps/{pk}/perform", token_from="/batches/").status_code == 409
    verify = post(browser, f"/batches/B-9001/steps/{pk}/verify", token_from=f"/batches/B-9001/steps/{pk}")
    assert verify.status_code == 302 and "next=/batches/B-9001" in verify.location
    by_performer = sign_dialog(browser, verify.location, floor.operator.user.username)
    assert by_performer.status_code == 403  # the performer cannot verify their own step
    verified = sign_dialog(browser, verify.location, floor.supervisor.user.username)
    assert verified.status_code == 302 and verified.location == "/batches/B-9001"
    page = text_of(browser.get("/batches/B-9001"))
    assert f"Signed: Verified by (second person) {floor.supervisor.user.full_name}" in page
    assert floor.operator.user.full_name in page and floor.supervisor.user.full_name in page
    assert [line.record.step_id for line in floor.open_steps()] == ["qc_label"]
    label = text_of(browser.get(f"/batches/B-9001/steps/{step_pk(floor, 'qc_label')}"))
    assert "Label the container with the checked mass (1.005 kg)" in label


def test_verify_is_refused_for_a_step_not_awaiting_verification(app: Flask, runtime: Runtime) -> None:
    floor, pk = _weighed(runtime)
    browser = browser_of(app, floor.operator.user.username)
    assert post(browser, f"/batches/B-9001/steps/{pk}/verify", token_from="/batches/").status_code == 409


def test_a_hold_signed_by_a_supervisor_is_shown_loudly_and_blocks_every_entry(app: Flask, runtime: Runtime) -> None:
    floor, pk = _weighed(runtime)
    operator = browser_of(app, floor.operator.user.username)
    supervisor = browser_of(app, floor.supervisor.user.username)
    requested = post(supervisor, "/batches/B-9001/actions", {"kind": "hold", "reason": "scale alarm"}, "/batches/")
    assert requested.status_code == 302 and "next=/batches/B-9001" in requested.location
    assert sign_dialog(supervisor, requested.location, floor.supervisor.user.username).status_code == 302
    page = text_of(operator.get("/batches/B-9001"))
    assert "ON HOLD since 2026-11-25T09:00:00Z" in page
    assert "On hold: nothing can be executed" in text_of(operator.get("/batches/"))
    step_page = operator.get(f"/batches/B-9001/steps/{pk}").get_data(as_text=True)
    assert 'id="held-banner"' in step_page and 'id="sign-performed"' not in step_page
    refused = enter_json(operator, "B-9001", pk, weighing())
    assert refused.status_code == 409 and "is on hold" in refused.get_json()["message"]
    resumed = post(supervisor, "/batches/B-9001/actions", {"kind": "resume", "reason": "alarm cleared"}, "/batches/")
    assert sign_dialog(supervisor, resumed.location, floor.supervisor.user.username).status_code == 302
    assert "ON HOLD" not in text_of(operator.get("/batches/B-9001"))
    assert enter_json(operator, "B-9001", pk, weighing()).status_code == 200


def test_an_action_left_unsigned_can_be_signed_later_from_the_batch_page(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    other = second_batch(runtime, floor)
    supervisor = browser_of(app, floor.supervisor.user.username)
    post(supervisor, "/batches/B-9001/actions", {"kind": "hold", "reason": "scale alarm"}, "/batches/")
    action = runtime.services.execution.batch("B-9001").actions[0]
    assert f'id="sign-action-{action.id}"' in supervisor.get("/batches/B-9001").get_data(as_text=True)
    assert post(supervisor, f"/batches/{other}/actions/{action.id}/sign", token_from="/batches/").status_code == 404
    again = post(supervisor, f"/batches/B-9001/actions/{action.id}/sign", token_from="/batches/")
    assert sign_dialog(supervisor, again.location, floor.supervisor.user.username).status_code == 302
    assert str(runtime.services.execution.batch("B-9001").batch.batch.status) == "held"
    assert post(supervisor, f"/batches/B-9001/actions/{action.id}/sign", token_from="/batches/").status_code == 409


def test_an_operator_cannot_request_a_hold(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    operator = browser_of(app, floor.operator.user.username)
    refused = post(operator, "/batches/B-9001/actions", {"kind": "hold", "reason": "scale alarm"}, "/batches/")
    assert refused.status_code == 403
    assert runtime.services.execution.batch("B-9001").actions == []


def test_a_signed_value_changes_only_by_a_signed_correction_and_the_original_stays(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    browser = browser_of(app, floor.operator.user.username)
    path = f"/batches/B-9001/steps/{pk}"
    assert 'id="correction"' in browser.get(path).get_data(as_text=True)
    body = {"field": "qc_lot", "value": "LOT-9", "reason": "label misread"}
    requested = post(browser, f"{path}/corrections", body, token_from=path)
    assert requested.status_code == 302 and f"next={path}" in requested.location
    signed = sign_dialog(browser, requested.location, floor.operator.user.username)
    assert signed.status_code == 302 and signed.location == path
    html = browser.get(path).get_data(as_text=True)
    assert "<del>LOT-1</del>" in html and "<strong>LOT-9</strong>" in html
    assert "signed correction" in html and "Reason: label misread" in html


def test_a_reported_deviation_is_numbered_and_qa_dispositions_and_closes_it_by_signature(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    pk = step_pk(floor, "qc_identify")
    operator = browser_of(app, floor.operator.user.username)
    report = {"severity": "major", "description": "container dented", "immediate_action": "set aside", "step_pk": pk}
    reported = post(operator, "/batches/B-9001/deviations", report, token_from="/batches/")
    assert reported.status_code == 302
    page = text_of(operator.get("/batches/B-9001"))
    deviation = runtime.services.execution.batch("B-9001").deviations[0]
    assert f"Deviation {deviation.number} reported." in page and "container dented" in page
    assert f'id="disposition-{deviation.id}-submit"' not in operator.get("/batches/B-9001").get_data(as_text=True)
    qa = browser_of(app, floor.qa.user.username)
    assert f'id="disposition-{deviation.id}-submit"' in qa.get("/batches/B-9001").get_data(as_text=True)
    decision = {"disposition": "continue", "impact": "none on the product", "reason": "cosmetic only"}
    asked = post(qa, f"/batches/B-9001/deviations/{deviation.id}/disposition", decision, "/batches/")
    assert sign_dialog(qa, asked.location, floor.qa.user.username).location == "/batches/B-9001"
    closing = post(qa, f"/batches/B-9001/deviations/{deviation.id}/close", {"reason": "closed: cosmetic"}, "/batches/")
    assert sign_dialog(qa, closing.location, floor.qa.user.username).location == "/batches/B-9001"
    assert runtime.services.execution.batch("B-9001").deviations[0].status == "closed"
    assert "closed: closed: cosmetic" in text_of(qa.get("/batches/B-9001"))


def test_a_double_entry_field_is_refused_without_its_second_entry(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime, "granulation", "PCM500")
    browser = browser_of(app, floor.operator.user.username)
    progress = text_of(browser.get("/batches/B-9001"))
    assert "Remove previous product and documents" in progress
    for step_id in ("lc_remove_previous", "lc_check_cleaning", "lc_check_equipment", "lc_release"):
        fill(floor, step_id, clock.now())
        floor.sign_step(step_id)
    floor.sign_step("lc_release", "verified")
    pk = step_pk(floor, "confirm_batch_order")
    html = browser.get(f"/batches/B-9001/steps/{pk}").get_data(as_text=True)
    assert 'id="repeat-batch_order"' in html
    single = enter_json(browser, "B-9001", pk, {"field": "batch_order", "value": "PO-9001"})
    assert single.status_code == 422 and "a second time" in single.get_json()["message"]
    differs = enter_json(browser, "B-9001", pk, {"field": "batch_order", "value": "PO-9001", "repeat": "PO-9010"})
    assert differs.status_code == 422 and "differ" in differs.get_json()["message"]
    twice = enter_json(browser, "B-9001", pk, {"field": "batch_order", "value": "PO-9001", "repeat": "PO-9001"})
    assert twice.status_code == 200
    assert "entered twice" in browser.get(f"/batches/B-9001/steps/{pk}").get_data(as_text=True)


def test_a_call_activity_is_marked_by_the_steps_of_its_sub_procedure(app: Flask, runtime: Runtime) -> None:
    running_batch(runtime, "granulation", "PCM500")
    view = runtime.services.execution.batch("B-9001")
    assert {view.process_of[s] for s in view.current} == {"line_clearance"}
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    html = browser.get("/batches/B-9001").get_data(as_text=True)
    assert "line_clearance" in html and 'data-src="/batches/B-9001/diagram.bpmn"' in html
    assert b'calledElement="line_clearance"' in browser.get("/batches/B-9001/diagram.bpmn").data
