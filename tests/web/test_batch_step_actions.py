"""Skip and reassign from the batch page: a supervisor's signed decision with a reason, never a data edit."""

from __future__ import annotations

from flask import Flask

from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.web.batch_support import browser_of, step_pk, text_of
from tests.web.support import post, sign_dialog

PAGE = "/batches/B-9001"


def test_a_supervisor_skips_an_open_step_with_a_signed_reason(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    browser = browser_of(app, floor.supervisor.user.username)
    assert "Skip or reassign a step" in text_of(browser.get(PAGE))
    data = {"kind": "skip", "step_pk": str(step_pk(floor, "qc_identify")), "reason": "identified at dispensing"}
    opened = post(browser, f"{PAGE}/step-actions", data, token_from=PAGE)
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert floor.step("qc_identify").record.status == "ready"  # nothing changes before the signature
    assert sign_dialog(browser, opened.location, floor.supervisor.user.username).status_code == 302
    statuses = [(s.record.step_id, s.record.status) for s in runtime.services.execution.batch("B-9001").steps]
    assert statuses == [("qc_identify", "skipped"), ("qc_weigh", "ready")]


def test_a_reassignment_names_a_real_person_and_an_operator_cannot_ask_for_one(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    pk = str(step_pk(floor, "qc_identify"))
    supervisor = browser_of(app, floor.supervisor.user.username)
    unknown = post(
        supervisor,
        f"{PAGE}/step-actions",
        {"kind": "reassign", "step_pk": pk, "assignee": "nobody", "reason": "x y z"},
        token_from=PAGE,
    )
    assert unknown.status_code == 422 and "No user with that user id" in text_of(unknown)
    operator = browser_of(app, floor.operator.user.username)
    refused = post(
        operator, f"{PAGE}/step-actions", {"kind": "skip", "step_pk": pk, "reason": "faster"}, token_from=PAGE
    )
    assert refused.status_code == 403
    data = {"kind": "reassign", "step_pk": pk, "assignee": floor.operator.user.username, "reason": "shift change"}
    opened = post(supervisor, f"{PAGE}/step-actions", data, token_from=PAGE)
    assert sign_dialog(supervisor, opened.location, floor.supervisor.user.username).status_code == 302
    assert floor.step("qc_identify").record.assigned_to == floor.operator.user.id
    assert runtime.services.execution.batch("B-9001").actions[-1].kind == "reassign"
