"""Negative paths as people at browsers meet them: an operator on a QA page, a page left stale by a colleague at
another terminal, a wrong password and a lockout in the signing dialog, and entries that are saved the moment they
are submitted, flagged late after the window (TIME-03)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

import pytest
from playwright.sync_api import Browser, Page, expect

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.auth import LOGIN_REFUSED
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.batch import BatchStatus
from ebr.domain.review import ExceptionKind
from tests.app.execution_support import Floor, person, running_batch
from tests.app.review_support import in_review
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_login_timeout_lockout import LOGIN_PAGE, log_in
from tests.factories import PASSWORD
from tests.fakes import FakeClock

pytestmark = pytest.mark.e2e

BATCH = "B-9001"
DIALOG = re.compile(r"/sign/[\w-]+\?next=")


class NewPage(Protocol):
    def __call__(self) -> Page: ...


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Another terminal: a fresh browser context (own cookies) per call, all closed afterwards."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def step_url(base: str, floor: Floor, step_id: str) -> str:
    return f"{base}/batches/{floor.batch_id}/steps/{floor.step(step_id).record.id}"


def enter(page: Page, field_id: str, value: str) -> None:
    """Type a value and press Enter: the page's script posts it at once."""
    page.locator(f"#value-{field_id}").fill(value)
    page.locator(f"#value-{field_id}").press("Enter")


def fill_dialog(page: Page, username: str, password: str) -> int:
    """Sign in the dialog as the person at the screen; returns the HTTP status of the answer page."""
    expect(page).to_have_url(DIALOG)
    page.get_by_label("User id").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("#acknowledge").check()
    with page.expect_navigation() as navigation:
        page.locator("#sign").click()
    answer = navigation.value
    return answer.status if answer is not None else 0


def open_dialog(page: Page) -> None:
    """Press "Sign performed" on the step page."""
    with page.expect_navigation():
        page.locator("#sign-performed").click()
    expect(page.locator("#sign-meaning")).to_have_text("Performed by")


def test_an_operator_on_the_qa_review_and_release_pages_gets_a_403_page_and_changes_nothing(
    page: Page, live_server: str, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    before = runtime.services.records.record_hash(BATCH)
    log_in(page, live_server, floor.operator.user.username)
    expect(page.locator("#nav-review")).to_have_count(0)  # the menu does not offer it
    for path in ("/review/", f"/review/{BATCH}"):
        answer = page.goto(f"{live_server}{path}")
        assert answer is not None and answer.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("403 · Forbidden")
        expect(page.locator("#error-message")).to_have_text("Your roles do not include the permission batch.review.")
    # A release form forged in the operator's own page, with a valid session and CSRF token, is refused as well.
    page.goto(f"{live_server}/batches/")
    with page.expect_navigation():
        page.evaluate(
            """([url]) => {
                const form = document.createElement("form");
                form.method = "post"; form.action = url;
                for (const [name, value] of [["decision", "release"], ["reason", "looks fine"],
                        ["csrf_token", document.querySelector("input[name=csrf_token]").value]]) {
                    const input = document.createElement("input");
                    input.name = name; input.value = value; form.append(input);
                }
                document.body.append(form); form.submit();
            }""",
            [f"/review/{BATCH}/decision"],
        )
    expect(page.get_by_role("heading", level=1)).to_have_text("403 · Forbidden")
    expect(page.locator("#error-message")).to_have_text("Your roles do not include the permission batch.release.")
    review = runtime.services.review.review(BATCH)
    assert review.batch.batch.status is BatchStatus.IN_REVIEW and review.decisions == []
    assert runtime.services.records.record_hash(BATCH) == before


def test_a_value_typed_on_a_page_left_stale_by_another_terminal_is_refused_and_not_stored(
    page: Page, new_page: NewPage, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    pk = floor.step("qc_identify").record.id
    colleague = person(runtime, Role.OPERATOR).user
    stale = new_page()
    for tab, who in ((page, floor.operator.user), (stale, colleague)):
        log_in(tab, live_server, who.username)
        tab.goto(step_url(live_server, floor, "qc_identify"))
    enter(page, "qc_lot", "LOT-1")
    expect(page.locator("#status-qc_lot")).to_contain_text("Saved Material lot = LOT-1")
    enter(page, "qc_balance_id", "BAL-1")
    expect(page.locator("#status-qc_balance_id")).to_contain_text("Saved Bench balance = BAL-1")
    open_dialog(page)
    fill_dialog(page, floor.operator.user.username, PASSWORD)
    expect(page.get_by_role("status").first).to_contain_text("Signed: Performed by")
    before = runtime.services.records.record_hash(BATCH)

    # The colleague's page still offers the step as ready.
    enter(stale, "qc_lot", "LOT-2")
    expect(stale.locator("#status-qc_lot")).to_contain_text(
        "Not saved: Step 'Identify material and balance' is completed, not ready"
    )
    expect(stale.locator("#step-alert")).to_be_visible()
    with stale.expect_navigation() as navigation:
        stale.locator("#sign-performed").click()
    answer = navigation.value
    assert answer is not None and answer.status == 409
    expect(stale.locator("#error-message")).to_have_text(
        "Step 'Identify material and balance' is completed, not ready: reload the batch."
    )
    values = {f.field.id: [v.value for v in f.history] for f in runtime.services.execution.step(BATCH, pk).fields}
    assert values == {"qc_lot": ["LOT-1"], "qc_balance_id": ["BAL-1"]}
    assert runtime.services.records.record_hash(BATCH) == before


def test_a_signing_dialog_left_open_while_a_colleague_signed_the_step_is_refused(
    page: Page, new_page: NewPage, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = floor.step("qc_identify").record.id
    colleague = person(runtime, Role.OPERATOR).user
    stale = new_page()
    for tab, who in ((page, floor.operator.user), (stale, colleague)):
        log_in(tab, live_server, who.username)
        tab.goto(step_url(live_server, floor, "qc_identify"))
        open_dialog(tab)
    fill_dialog(page, floor.operator.user.username, PASSWORD)
    expect(page.get_by_role("status").first).to_contain_text("Signed: Performed by")
    before = runtime.services.records.record_hash(BATCH)

    assert fill_dialog(stale, colleague.username, PASSWORD) == 409
    expect(stale.locator("#error-message")).to_have_text(
        "Step 'Identify material and balance' is completed, not ready: reload the batch."
    )
    assert runtime.services.records.record_hash(BATCH) == before
    signed = [s for s in runtime.services.execution.step(BATCH, pk).signatures if s.meaning == "performed"]
    assert [s.signer_username for s in signed] == [floor.operator.user.username]


def test_a_wrong_password_in_the_signing_dialog_is_refused_with_the_attempts_left_and_signs_nothing(
    page: Page, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = floor.step("qc_identify").record.id
    operator = floor.operator.user
    log_in(page, live_server, operator.username)
    page.goto(step_url(live_server, floor, "qc_identify"))
    open_dialog(page)
    assert fill_dialog(page, operator.username, "Not-The-Passw0rd") == 403
    expect(page).to_have_url(DIALOG)  # the same dialog again, the content still on screen
    expect(page.locator("#sign-error")).to_have_text(
        "Signature refused: wrong password. 4 attempts left before the account locks."
    )
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    view = runtime.services.execution.step(BATCH, pk)
    assert view.record.status == "ready" and view.signatures == []
    assert fill_dialog(page, operator.username, PASSWORD) == 200
    expect(page.get_by_role("status").first).to_contain_text(f"Signed: Performed by {operator.full_name}")


@pytest.mark.req("PWD-05")
def test_five_wrong_passwords_in_the_signing_dialog_lock_the_account_end_its_session_and_sign_nothing(
    page: Page, live_server: str, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    pk = floor.step("qc_identify").record.id
    operator = floor.operator.user
    log_in(page, live_server, operator.username)
    page.goto(step_url(live_server, floor, "qc_identify"))
    open_dialog(page)
    for left in (4, 3, 2, 1):
        assert fill_dialog(page, operator.username, f"Wrong-Passw0rd-{left}") == 403
        expect(page.locator("#sign-error")).to_contain_text(f"{left} attempts left before the account locks")
    assert fill_dialog(page, operator.username, "Wrong-Passw0rd-0") == 403
    expect(page.locator("#sign-error")).to_have_text(
        "Signature refused: wrong password. The account is now locked: ask an administrator."
    )
    assert runtime.services.accounts.get(operator.id).locked_at is not None
    # The lock ends the account's sessions: whoever sits at this one can neither sign nor log in again.
    assert fill_dialog(page, operator.username, PASSWORD) == 401
    page.goto(f"{live_server}/batches/")
    expect(page).to_have_url(LOGIN_PAGE)
    log_in(page, live_server, operator.username, PASSWORD)
    expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)
    view = runtime.services.execution.step(BATCH, pk)
    assert view.record.status == "ready" and view.signatures == []


@pytest.mark.req("TIME-03")
def test_an_entry_is_stored_when_submitted_and_one_after_the_window_is_flagged_late_for_review(
    page: Page, new_page: NewPage, live_server: str, runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    pk = floor.step("qc_identify").record.id
    operator = floor.operator.user
    log_in(page, live_server, operator.username)
    page.goto(step_url(live_server, floor, "qc_identify"))
    with page.expect_response(lambda r: r.url.endswith(f"/steps/{pk}/values") and r.request.method == "POST"):
        enter(page, "qc_lot", "LOT-1")
    page.context.close()  # the browser is gone right after the server answered: nothing waits on the client

    def stored() -> dict[str, tuple[str | None, bool]]:
        fields = runtime.services.execution.step(BATCH, pk).fields
        return {f.field.id: (f.current.value, f.current.late) for f in fields if f.current}

    assert stored() == {"qc_lot": ("LOT-1", False)}
    fresh = new_page()
    log_in(fresh, live_server, operator.username)
    fresh.goto(step_url(live_server, floor, "qc_identify"))
    expect(fresh.locator("#current-qc_lot")).to_have_text("LOT-1")

    # Past the window (execution.late_entry_minutes, 30 by default) since the step became ready.
    clock.advance(minutes=31)
    late = new_page()
    log_in(late, live_server, operator.username)  # the idle timeout ended the other session meanwhile
    late.goto(step_url(live_server, floor, "qc_identify"))
    enter(late, "qc_balance_id", "BAL-1")
    expect(late.locator("#status-qc_balance_id")).to_contain_text("Saved Bench balance = BAL-1")
    expect(late.locator("#status-qc_balance_id")).to_contain_text("Recorded as a late entry.")
    assert stored() == {"qc_lot": ("LOT-1", False), "qc_balance_id": ("BAL-1", True)}

    late_value = next(
        f.current for f in runtime.services.execution.step(BATCH, pk).fields if f.current and f.current.late
    )
    exceptions = runtime.services.review.review(BATCH).exceptions
    flagged = [line.exception for line in exceptions if line.exception.kind is ExceptionKind.LATE_ENTRY]
    assert [x.key for x in flagged] == [f"value:{late_value.id}:late"]
    qa = new_page()
    log_in(qa, live_server, floor.qa.user.username)
    qa.goto(f"{live_server}/review/{BATCH}")
    expect(qa.locator(f"#exception-value-{late_value.id}-late")).to_contain_text("entered late")
