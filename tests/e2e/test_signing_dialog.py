"""The signing dialog as a person at a browser meets it: what is signed is on screen before the password (SIG-10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.e2e.test_login_timeout_lockout import log_in
from tests.factories import PASSWORD, effective_policy, make_user
from tests.fakes import FakeClock

pytestmark = pytest.mark.e2e

REASON = "risk assessment RA-12: tighter lockout"
DIALOG = re.compile(r"/sign/[\w-]+$")


def threshold_cell(page: Page) -> str:
    """The value in force of lockout.threshold as the settings table shows it."""
    row = page.locator("tr", has=page.locator("code", has_text=re.compile(r"^lockout\.threshold$")))
    return row.locator("td").nth(2).inner_text()


@pytest.mark.req("SIG-10")
def test_the_dialog_shows_meaning_and_values_before_the_password_and_signing_applies_the_change(
    page: Page, live_server: str, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    effective_policy(runtime)
    admin = make_user(runtime, Role.ADMIN)
    log_in(page, live_server, admin.username)
    page.goto(f"{live_server}/admin/settings")
    assert threshold_cell(page) == "5"
    page.get_by_label("Setting").fill("lockout.threshold")
    page.get_by_label("New value").fill("3")
    page.get_by_label("Reason for the change").first.fill(REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="Change").click()

    # The dialog, before anything is typed into it.
    expect(page).to_have_url(DIALOG)
    dialog = page.locator("#sign-dialog")
    expect(page.locator("#sign-meaning")).to_have_text("Approved by")
    shown = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in page.locator("#signed-content tr").all()
    }
    assert {k: shown.get(k) for k in ("key", "old", "new", "reason")} == {
        "key": "lockout.threshold",
        "old": "5",
        "new": "3",
        "reason": REASON,
    }
    for part in (page.locator("#sign-meaning"), page.locator("#signed-content"), page.locator("#content-hash")):
        expect(part).to_be_visible()
    expect(page.locator("#content-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(dialog).to_contain_text("By entering your password you sign this record electronically")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_value("")
    # Everything the signer must read sits above the password prompt on screen.
    prompt_top = password.bounding_box()
    assert prompt_top is not None
    for part in ("#sign-meaning", "#signed-content", "#content-hash"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["y"] + box["height"] <= prompt_top["y"], part
    expect(dialog).to_contain_text("First signature of this session")
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    page.screenshot(path=tmp_path / "signing-dialog.png", full_page=True)

    # The first signature of the session needs the user id as well as the password.
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#acknowledge").check()
    with page.expect_navigation():
        page.locator("#sign").click()
    expect(page).to_have_url(DIALOG)
    expect(page.locator("#sign-error")).to_contain_text("enter your user id and password")
    assert runtime.services.settings.current()["lockout.threshold"] == 5

    page.get_by_label("User id").fill(admin.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#acknowledge").check()
    with page.expect_navigation():
        page.locator("#sign").click()
    expect(page).to_have_url(f"{live_server}/admin/settings")
    expect(page.get_by_role("status")).to_contain_text(
        f"Approved by {admin.full_name} ({admin.username}), {clock.now():%Y-%m-%dT%H:%M:%SZ}"
    )
    assert threshold_cell(page) == "3"
    assert runtime.services.settings.current()["lockout.threshold"] == 3
