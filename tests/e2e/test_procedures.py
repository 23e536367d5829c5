"""A procedure version in the browser: the diagram drawn by bpmn-js from the app's own files (no network, no CSP
violation), then submit and QA approval through the signing dialog (VAL-08)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from tests.e2e.test_login_timeout_lockout import log_in
from tests.factories import PASSWORD, effective_policy, make_user
from tests.fakes import FakeClock

pytestmark = pytest.mark.e2e

VERSION_PAGE = re.compile(r"/procedures/versions/(\d+)$")
DIALOG = re.compile(r"/sign/[\w-]+$")
CSP = "default-src 'self'; frame-ancestors 'none'"
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watch:
    """What the page did besides drawing: requests to other origins and console errors (CSP reports among them)."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.add_init_script(CSP_LISTENER)

    @staticmethod
    def violations(page: Page) -> list[str]:
        """The Content-Security-Policy violations the document reported since it loaded."""
        found: list[str] = page.evaluate("window.__cspViolations || []")
        return found

    def _request(self, request: Request) -> None:
        url = request.url
        if not (url.startswith(self.origin + "/") or url.startswith("data:")):
            self.foreign.append(url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")


def sign_in_dialog(page: Page, user: User) -> None:
    """Sign the dialog the page shows: user id (first signature of the session), password, acknowledgement."""
    expect(page).to_have_url(DIALOG)
    page.get_by_label("User id").fill(user.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    if page.locator("#acknowledge").count():
        page.locator("#acknowledge").check()
    with page.expect_navigation():
        page.locator("#sign").click()


@pytest.mark.req("VAL-08")
def test_an_engineer_imports_granulation_sees_the_diagram_and_submits_and_qa_approves_with_signatures(
    page: Page, live_server: str, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    effective_policy(runtime)
    engineer = make_user(runtime, Role.ENGINEER, full_name="Erin Engineer")
    qa = make_user(runtime, Role.QA, full_name="Quinn Quality")
    watch = Watch(page, live_server)

    log_in(page, live_server, engineer.username)
    page.goto(f"{live_server}/procedures/")
    with page.expect_navigation() as navigation:
        page.locator("#import-granulation").click()
    answer = navigation.value
    assert answer is not None and answer.header_value("content-security-policy") == CSP  # the policy under test
    expect(page).to_have_url(VERSION_PAGE)
    match = VERSION_PAGE.search(page.url)
    assert match
    version_id = int(match.group(1))
    expect(page.locator("#status")).to_have_text("draft")
    expect(page.locator("#lint-clean")).to_be_visible()

    # The diagram: bpmn-js, served by the app, drew the process into an SVG of real shapes.
    diagram = page.locator("#diagram")
    expect(diagram).to_have_class(re.compile(r"\brendered\b"))
    svg = diagram.locator("svg").first
    expect(svg).to_be_visible()
    shapes = diagram.locator(".djs-element.djs-shape")
    view = runtime.services.procedures.view(version_id)
    main = runtime.services.procedures.bundle(version_id).files["workflows/granulation/procedure.bpmn"].decode()
    drawn_steps = [step for step in view.steps.values() if f'id="{step.id}"' in main]  # not the called ones
    assert len(drawn_steps) >= 30
    assert shapes.count() > len(drawn_steps)  # the steps plus events, gateways and call activities
    for step in drawn_steps:
        expect(diagram.locator(f'.djs-shape[data-element-id="{step.id}"]')).to_have_count(1)
    expect(diagram.locator(".djs-connection").first).to_be_attached()
    first = drawn_steps[0]
    expect(diagram.locator(f'[data-element-id="{first.id}"] text')).to_contain_text(first.name.split()[0])
    page.screenshot(path=tmp_path / "procedure-version.png", full_page=True)
    assert watch.foreign == [], watch.foreign  # nothing fetched from anywhere but the app itself
    assert watch.errors == [], watch.errors  # no script error, no CSP report in the console
    assert watch.violations(page) == []  # and no securitypolicyviolation event under the app's CSP
    # Zoomed to fit and centred: the whole process inside the box, filling it in one direction, not in a corner.
    box, drawn = diagram.bounding_box(), diagram.locator(".viewport").bounding_box()
    assert box is not None and drawn is not None
    assert box["height"] >= 420
    assert drawn["x"] >= box["x"] and drawn["y"] >= box["y"]
    assert drawn["x"] + drawn["width"] <= box["x"] + box["width"]
    assert drawn["y"] + drawn["height"] <= box["y"] + box["height"]
    assert max(drawn["width"] / box["width"], drawn["height"] / box["height"]) > 0.85
    left, right = drawn["x"] - box["x"], box["x"] + box["width"] - drawn["x"] - drawn["width"]
    assert abs(left - right) < 0.05 * box["width"], (left, right)

    # Submit: the signing dialog, meaning "Authored by".
    with page.expect_navigation():
        page.locator("#submit").click()
    expect(page).to_have_url(DIALOG)
    expect(page.locator("#sign-meaning")).to_have_text("Authored by")
    expect(page.locator("#signed-content")).to_contain_text("granulation")
    sign_in_dialog(page, engineer)
    expect(page).to_have_url(f"{live_server}/procedures/versions/{version_id}")
    expect(page.locator("#status")).to_have_text("in_review")
    when = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    expect(page.locator(".manifestation")).to_have_text([f"Authored by: Erin Engineer ({engineer.username}), {when}"])
    expect(page.locator("#approve")).to_have_count(0)  # the author has no approve button
    expect(diagram).to_have_class(re.compile(r"\brendered\b"))

    with page.expect_navigation():
        page.locator("#logout").click()
    clock.advance(minutes=7)

    # QA approves: the dialog, meaning "Approved by".
    log_in(page, live_server, qa.username)
    page.goto(f"{live_server}/procedures/versions/{version_id}")
    expect(page.locator("#status")).to_have_text("in_review")
    with page.expect_navigation():
        page.locator("#approve").click()
    expect(page.locator("#sign-meaning")).to_have_text("Approved by")
    sign_in_dialog(page, qa)
    expect(page).to_have_url(f"{live_server}/procedures/versions/{version_id}")
    expect(page.locator("#status")).to_have_text("approved")
    approved_at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    expect(page.locator(".manifestation")).to_have_text(
        [
            f"Authored by: Erin Engineer ({engineer.username}), {when}",
            f"Approved by: Quinn Quality ({qa.username}), {approved_at}",
        ]
    )
    expect(page.locator("#make-effective")).to_be_visible()
    expect(diagram).to_have_class(re.compile(r"\brendered\b"))
    assert runtime.services.procedures.view(version_id).version.status == "approved"
    assert watch.foreign == [], watch.foreign
    assert watch.errors == [], watch.errors
    page.screenshot(path=tmp_path / "procedure-approved.png", full_page=True)
