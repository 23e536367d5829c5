"""The acts of the golden path as each person does them at a browser: the engineer's upload, QA's approval, the
operator's scans and captures, the verifier's co-signature, QA's disposition, review and release."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from ebr.domain.accounts import User
from tests.e2e.test_login_timeout_lockout import log_in
from tests.factories import PASSWORD

DIALOG = re.compile(r"/sign/[\w-]+(\?.*)?$")
VERSION_PAGE = re.compile(r"/procedures/versions/(\d+)$")
SHOTS_ENV = "EBR_SCREENSHOTS"


@dataclass(frozen=True)
class Cast:
    """Everyone on the golden path, with their own accounts."""

    engineer: User
    qa: User
    operator: User
    verifier: User


def shoot(page: Page, name: str) -> None:
    """Save the screen as docs show it, only when asked to (a CI run leaves the checkout as it was)."""
    folder = os.environ.get(SHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(folder) / name, full_page=False)


def sign(page: Page, user: User) -> None:
    """Fill the signing dialog with the user's own id and password and sign."""
    expect(page).to_have_url(DIALOG)
    page.get_by_label("User id").fill(user.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    if page.locator("#acknowledge").count():
        page.locator("#acknowledge").check()
    with page.expect_navigation():
        page.locator("#sign").click()


def click_to(page: Page, selector: str) -> None:
    """Press a button that posts a form and wait for the answer page."""
    with page.expect_navigation():
        page.locator(selector).click()


def switch_to(page: Page, base: str, user: User) -> None:
    """The person at the screen logs out and the next one logs in."""
    if page.locator("#logout").count():
        click_to(page, "#logout")
    log_in(page, base, user.username)


def engineer_uploads_and_submits(page: Page, base: str, cast: Cast, bpmn: Path) -> int:
    """Upload the procedure file, see it lint clean, sign it 'authored'; returns the version id."""
    switch_to(page, base, cast.engineer)
    page.goto(f"{base}/procedures/")
    page.locator("#bpmn").set_input_files(bpmn)
    click_to(page, "#upload")
    expect(page).to_have_url(VERSION_PAGE)
    match = VERSION_PAGE.search(page.url)
    assert match
    expect(page.locator("#status")).to_have_text("draft")
    expect(page.locator("#lint-clean")).to_contain_text("the version can be submitted")
    expect(page.locator("#diagram.rendered")).to_be_visible()
    page.locator("#submit").evaluate("e => e.scrollIntoView({block: 'end'})")  # the diagram and the lint verdict
    shoot(page, "engineer-procedure.png")
    click_to(page, "#submit")
    expect(page.locator("#sign-meaning")).to_have_text("Authored by")
    sign(page, cast.engineer)
    expect(page.locator("#status")).to_have_text("in_review")
    return int(match.group(1))


def qa_approves_and_makes_effective(page: Page, base: str, cast: Cast, version_id: int, product: str) -> None:
    """QA approves the version with a signature and puts it into force for the product."""
    switch_to(page, base, cast.qa)
    page.goto(f"{base}/procedures/versions/{version_id}")
    click_to(page, "#approve")
    expect(page.locator("#sign-meaning")).to_have_text("Approved by")
    sign(page, cast.qa)
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator(".manifestation")).to_have_count(2)
    shoot(page, "qa-approval.png")
    page.locator("#products").fill(product)
    page.locator("#reason").fill("first version for the product")
    click_to(page, "#make-effective")
    expect(page.locator("#status")).to_have_text("effective")


def operator_starts(page: Page, base: str, cast: Cast, batch_id: str) -> None:
    """The operator finds the released ERP order on the worklist and starts its batch."""
    switch_to(page, base, cast.operator)
    page.goto(f"{base}/batches/")
    click_to(page, f"#released-orders button:has-text('Start batch {batch_id}')")
    expect(page).to_have_url(re.compile(rf"/batches/{batch_id}$"))


def open_step(page: Page, base: str, batch_id: str, name: str) -> None:
    """From the batch page, open the open step with that name."""
    page.goto(f"{base}/batches/{batch_id}")
    row = page.locator("#steps tr.step-row", has_text=name).last
    click_to(page, f"#{row.get_attribute('id')} a >> nth=0")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def enter(page: Page, field: str, value: str) -> None:
    """Type a value (or pick a choice) and wait until the server says it is saved."""
    box = page.locator(f"#value-{field}")
    if box.evaluate("e => e.tagName") == "SELECT":
        box.select_option(value)
    else:
        box.fill(value)
        box.press("Enter")
    expect(page.locator(f"#status-{field}")).to_contain_text("Saved")


def sign_performed(page: Page, operator: User) -> None:
    click_to(page, "#sign-performed")
    expect(page.locator("#sign-meaning")).to_have_text("Performed by")
    sign(page, operator)
