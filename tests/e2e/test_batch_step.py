"""One step of a batch at a shop-floor browser: the weighing typed over the balance with a reason, signed
"performed" by the operator, verified by a supervisor at the same browser, and the procedure moves on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.e2e.test_login_timeout_lockout import log_in
from tests.factories import PASSWORD
from tests.fakes import FakeClock

pytestmark = pytest.mark.e2e

DIALOG = re.compile(r"/sign/[\w-]+\?next=")
OVERRIDE = "balance display failed"


def shape(page: Page, element_id: str) -> Locator:
    """The diagram's drawing of one BPMN element."""
    return page.locator(f'#diagram .djs-element[data-element-id="{element_id}"]')


def sign(page: Page, username: str) -> None:
    """Fill the signing dialog as the person at the screen and submit it."""
    expect(page).to_have_url(DIALOG)
    page.get_by_label("User id").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#acknowledge").check()  # offered to whoever signs here: the supervisor never signed before
    with page.expect_navigation():
        page.locator("#sign").click()


def test_a_scanner_fills_the_barcode_fields_one_after_the_other(
    page: Page, live_server: str, runtime: Runtime, tmp_path: Path
) -> None:
    floor = running_batch(runtime)
    pk = floor.step("qc_identify").record.id
    log_in(page, live_server, floor.operator.user.username)
    page.goto(f"{live_server}/batches/")
    page.screenshot(path=tmp_path / "worklist.png", full_page=True)
    with page.expect_navigation():
        page.locator(f"#open-step-{pk}").click()
    expect(page.locator("#value-qc_lot")).to_be_focused()
    page.keyboard.type("LOT-1\n")  # a keyboard-wedge scanner types the code and Enter
    expect(page.locator("#status-qc_lot")).to_contain_text("Saved Material lot = LOT-1")
    expect(page.locator("#value-qc_balance_id")).to_be_focused()
    page.keyboard.type("BAL-1\n")
    expect(page.locator("#status-qc_balance_id")).to_contain_text("Saved Bench balance = BAL-1")
    expect(page.locator("#sign-performed")).to_be_focused()
    page.screenshot(path=tmp_path / "scanned.png", full_page=True)
    box = page.locator("#value-qc_lot").bounding_box()
    assert box is not None and box["height"] >= 48  # a touch target
    values = {
        f.field.id: f.current.value for f in runtime.services.execution.step(floor.batch_id, pk).fields if f.current
    }
    assert values == {"qc_lot": "LOT-1", "qc_balance_id": "BAL-1"}


@pytest.mark.req("SIG-10")
def test_an_operator_weighs_and_signs_and_a_supervisor_verifies_at_the_same_browser(
    page: Page, live_server: str, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    operator, supervisor = floor.operator.user, floor.supervisor.user
    pk = floor.step("qc_weigh").record.id
    log_in(page, live_server, operator.username)
    page.goto(f"{live_server}/batches/B-9001/steps/{pk}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Weigh the sample")
    expect(page.locator("#field-qc_mass")).to_contain_text("Limits: 1.000 kg ± 0.010 kg")

    # The balance is bound to the field: a typed value without the reason is refused by the server.
    page.locator("#value-qc_mass").fill("1.005")
    page.locator("#value-qc_mass").press("Enter")
    expect(page.locator("#status-qc_mass")).to_contain_text("typing over it needs a reason")
    expect(page.locator("#current-qc_mass")).to_have_text("—")
    page.locator("#override-qc_mass").fill(OVERRIDE)
    page.locator("#override-qc_mass").press("Enter")
    expect(page.locator("#status-qc_mass")).to_contain_text("Saved Net mass = 1.005 kg at 09:00:00Z.")
    expect(page.locator("#status-qc_mass")).to_contain_text("A deviation was opened")
    expect(page.locator("#current-qc_mass")).to_have_text("1.005 kg")
    page.screenshot(path=tmp_path / "step-entered.png", full_page=True)

    with page.expect_navigation():
        page.locator("#sign-performed").click()
    expect(page.locator("#sign-meaning")).to_have_text("Performed by")
    sign(page, operator.username)
    expect(page).to_have_url(f"{live_server}/batches/B-9001")
    expect(page.get_by_role("status").first).to_contain_text(f"Signed: Performed by {operator.full_name}")
    row = page.locator(f"#step-{pk}")
    expect(row).to_contain_text("performed, awaiting verification")
    expect(page.locator("#deviations")).to_contain_text("manual override")
    expect(page.locator("#diagram.rendered")).to_be_visible()
    expect(shape(page, "qc_identify")).to_have_class(re.compile(r"\bstep-done\b"))
    expect(shape(page, "qc_weigh")).to_have_class(re.compile(r"\bstep-current\b"))
    expect(shape(page, "qc_label")).to_have_class(re.compile(r"\bstep-pending\b"))

    # The supervisor walks over and signs with their own user id and password.
    with page.expect_navigation():
        page.locator(f"#verify-{pk}").click()
    expect(page.locator("#sign-meaning")).to_have_text("Verified by (second person)")
    sign(page, supervisor.username)
    expect(page).to_have_url(f"{live_server}/batches/B-9001")
    expect(page.get_by_role("status").first).to_contain_text(
        f"Signed: Verified by (second person) {supervisor.full_name} ({supervisor.username}), "
        f"{clock.now():%Y-%m-%dT%H:%M:%SZ}"
    )
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text(f"{operator.full_name} ({operator.username})")
    expect(row).to_contain_text(f"{supervisor.full_name} ({supervisor.username})")
    label = floor.step("qc_label").record.id
    expect(page.locator(f"#step-{label}")).to_contain_text("Label the container")
    expect(page.locator(f"#step-{label}")).to_contain_text("ready")
    expect(page.locator("#diagram.rendered")).to_be_visible()
    expect(shape(page, "qc_weigh")).to_have_class(re.compile(r"\bstep-done\b"))
    expect(shape(page, "qc_label")).to_have_class(re.compile(r"\bstep-current\b"))
    page.screenshot(path=tmp_path / "batch-verified.png", full_page=True)

    with page.expect_navigation():
        page.locator(f"#step-{label} a").first.click()
    expect(page.locator("#instructions")).to_contain_text("Label the container with the checked mass (1.005 kg)")


def test_an_out_of_limit_value_needs_the_confirm_button_and_a_stale_page_says_so(
    page: Page, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = floor.step("qc_weigh").record.id
    log_in(page, live_server, floor.operator.user.username)
    page.goto(f"{live_server}/batches/B-9001/steps/{pk}")
    expect(page.locator("#confirmed-qc_mass")).to_be_hidden()  # the script offers its own button instead
    page.locator("#override-qc_mass").fill(OVERRIDE)
    page.locator("#value-qc_mass").fill("1.050")
    page.locator("#value-qc_mass").press("Enter")
    expect(page.locator("#status-qc_mass")).to_contain_text("is outside 1.000 kg ± 0.010 kg")
    expect(page.locator("#current-qc_mass")).to_have_text("—")
    page.locator("#confirm-qc_mass").click()
    expect(page.locator("#status-qc_mass")).to_contain_text("Saved Net mass = 1.050 kg")
    expect(page.locator("#confirm-qc_mass")).to_be_hidden()
    expect(page.locator("#current-qc_mass")).to_have_text("1.050 kg")
    assert {d.kind for d in runtime.services.execution.step(floor.batch_id, pk).deviations} == {
        "manual_override",
        "out_of_limit",
    }

    floor.sign_step("qc_weigh")  # signed meanwhile at another terminal: this page is stale now
    page.locator("#value-qc_mass").fill("1.004")
    page.locator("#value-qc_mass").press("Enter")
    expect(page.locator("#status-qc_mass")).to_contain_text("is performed, not ready: reload the batch")
    expect(page.locator("#step-alert")).to_be_visible()
    with page.expect_navigation():
        page.locator("#step-alert a").click()
    expect(page.locator("#step-status")).to_have_text("performed")
    expect(page.locator("#verify")).to_be_visible()


def test_a_called_sub_procedure_colours_its_call_activity_in_the_main_diagram(
    page: Page, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime, "granulation", "PCM500")
    log_in(page, live_server, floor.operator.user.username)
    page.goto(f"{live_server}/batches/B-9001")
    expect(page.locator("#diagram.rendered")).to_be_visible()
    expect(shape(page, "call_line_clearance")).to_have_class(re.compile(r"\bstep-current\b"))
    expect(shape(page, "confirm_batch_order")).to_have_class(re.compile(r"\bstep-pending\b"))
