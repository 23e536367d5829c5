"""The review pages: the queue, a review that leads with its exceptions, acknowledgements (a stale page included),
the signed audit-trail review, release and rejection through the signing dialog, addenda, and every bad input
answered with a 4xx that names the reason."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.accounts import Role
from ebr.domain.batch import BatchStatus
from tests.app.execution_support import KIOSK, Floor, Person
from tests.app.review_support import (
    acknowledge_all,
    completed_batch,
    decide,
    in_review,
    ready_for_release,
    ready_runtime,
    review_trail,
    reviewer,
)
from tests.factories import actor_of
from tests.fakes import FakeClock, RecordingNotifier
from tests.web.batch_support import browser_of, text_of
from tests.web.support import post, sign_dialog, sign_in

BATCH = "B-9001"
PAGE = f"/review/{BATCH}"


@pytest.fixture
def runtime(
    settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """The application with a release candidate that always matches (the PDF pipeline is tested on its own)."""
    yield from ready_runtime(settings, clock, alerts, notifier)


def readable(response: TestResponse) -> str:
    """The page's text as a person reads it, entities decoded."""
    return html.unescape(text_of(response))


def qa_browser(app: Flask, qa: Person) -> FlaskClient:
    return browser_of(app, qa.user.username)


def report(floor: Floor, text: str = "label smudged") -> None:
    floor.rt.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", text, "", KIOSK
    )


def status(runtime: Runtime) -> BatchStatus:
    return runtime.services.batches.get(BATCH).batch.status


def test_the_queue_lists_batches_to_submit_and_in_review_and_qa_alone_sees_it(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    qa = reviewer(runtime)
    browser = qa_browser(app, qa)
    page = browser.get("/review/")
    assert page.status_code == 200 and 'id="nav-review"' in page.get_data(as_text=True)
    assert f'id="completed-{BATCH}"' in page.get_data(as_text=True)
    missing = post(browser, f"{PAGE}/submit", {"reason": ""}, token_from="/review/")
    assert missing.status_code == 422 and "reason" in readable(missing)
    submitted = post(browser, f"{PAGE}/submit", {"reason": "record complete"}, token_from="/review/")
    assert submitted.status_code == 302 and submitted.location.endswith(PAGE)
    assert f'id="in-review-{BATCH}"' in browser.get("/review/").get_data(as_text=True)
    again = post(browser, f"{PAGE}/submit", {"reason": "record complete"}, token_from="/review/")
    assert again.status_code == 409 and "in_review" in readable(again)
    operator = browser_of(app, floor.operator.user.username)
    assert 'id="nav-review"' not in operator.get("/batches/").get_data(as_text=True)
    assert operator.get("/review/").status_code == 403


def test_the_review_page_leads_with_the_exceptions_and_links_the_full_record(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    report(floor, "label smudged by solvent")
    page = qa_browser(app, reviewer(runtime)).get(PAGE)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    order = [body.index(marker) for marker in ('id="exceptions"', 'id="blockers"', 'id="trail"', 'id="decision"')]
    assert order == sorted(order)
    assert body.index("label smudged by solvent") < body.index('id="blockers"')
    assert f'href="/batches/{BATCH}"' in body and 'id="full-record"' in body
    assert "is not acknowledged by the reviewer" in readable(page)


def test_the_review_page_shows_the_candidate_state_and_every_copy_one_click_away(
    app: Flask, runtime: Runtime, plant: SimulatedPlant, clock: FakeClock
) -> None:
    floor = in_review(runtime, plant)
    before = clock.now()
    clock.advance(minutes=5)
    report(floor, "label smudged by solvent")
    browser = qa_browser(app, reviewer(runtime))
    page = readable(browser.get(PAGE))
    assert f"Record SHA-256 now: {runtime.services.records.record_hash(BATCH)}" in page
    assert "Release candidate PDF: not rendered yet" in page and "No stored document yet." in page
    body = browser.get(PAGE).get_data(as_text=True)
    for link in ("record.pdf", "record.json", "record.xml"):
        assert f'href="/batches/{BATCH}/{link}"' in body
    now = json.loads(browser.get(f"/batches/{BATCH}/record.json").get_data())
    then = browser.get(f"/batches/{BATCH}/record.json", query_string={"as_of": before.isoformat()})
    assert then.status_code == 200 and "as-of" in then.headers["Content-Disposition"]
    texts = [d["description"] for d in json.loads(then.get_data())["deviations"]]
    assert "label smudged by solvent" in [d["description"] for d in now["deviations"]]
    assert "label smudged by solvent" not in texts
    wrong = browser.get(f"/batches/{BATCH}/record.json", query_string={"as_of": "yesterday"})
    assert wrong.status_code == 422 and "is not an ISO 8601 time" in readable(wrong)


def test_an_acknowledgement_is_recorded_with_who_when_and_the_comment(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    report(floor)
    qa = reviewer(runtime)
    browser = qa_browser(app, qa)
    key = runtime.services.review.review(BATCH).exceptions[0].exception.key
    empty = post(browser, f"{PAGE}/acknowledge", {"key": key, "comment": ""}, token_from=PAGE)
    assert empty.status_code == 422 and "comment" in readable(empty)
    unknown = post(browser, f"{PAGE}/acknowledge", {"key": "value:9999:late", "comment": "seen"}, token_from=PAGE)
    assert unknown.status_code == 422 and "no exception 'value:9999:late'" in readable(unknown)
    done = post(browser, f"{PAGE}/acknowledge", {"key": key, "comment": "cleaned, no impact"}, token_from=PAGE)
    assert done.status_code == 302
    page = readable(browser.get(PAGE))
    assert f"Acknowledged by {qa.user.full_name} ({qa.user.username})" in page and "cleaned, no impact" in page


def test_a_page_left_open_while_someone_else_acknowledged_is_told_so(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    report(floor)
    first, second = reviewer(runtime), reviewer(runtime)
    key = runtime.services.review.review(BATCH).exceptions[0].exception.key
    late = qa_browser(app, second)
    late.get(PAGE)  # the page as it was: nothing acknowledged
    runtime.services.review.acknowledge(actor_of(first.user), BATCH, key, "first look")
    answer = post(late, f"{PAGE}/acknowledge", {"key": key, "comment": "my look", "seen": "0"}, token_from=PAGE)
    assert answer.status_code == 302
    page = readable(late.get(answer.location))
    assert f"{first.user.full_name} acknowledged {key} while your page was open" in page
    assert [m.comment for m in runtime.services.review.marks(BATCH, key)] == ["first look", "my look"]


def test_the_audit_trail_is_signed_reviewed_through_the_dialog(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    in_review(runtime, plant)
    qa = reviewer(runtime)
    browser = qa_browser(app, qa)
    opened = post(browser, f"{PAGE}/trail", {}, token_from=PAGE)
    assert opened.status_code == 302 and "/sign/" in opened.location
    signed = sign_dialog(browser, opened.location, qa.user.username)
    assert signed.status_code == 302 and signed.location.endswith(PAGE)
    page = readable(browser.get(PAGE))
    assert "Audit trail reviewed up to entry #" in page and qa.user.full_name in page
    assert "has no 'audit trail reviewed' signature" not in page


def test_a_release_with_blockers_is_refused_409_with_every_blocker_named(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    report(floor, "label smudged")
    browser = qa_browser(app, reviewer(runtime))
    answer = post(browser, f"{PAGE}/decision", {"decision": "release", "reason": "looks fine"}, token_from=PAGE)
    assert answer.status_code == 409
    page = readable(answer)
    assert f"deviation DEV-{BATCH}-001 is not closed" in page
    assert "is not acknowledged by the reviewer" in page and "no 'audit trail reviewed' signature" in page
    assert status(runtime) is BatchStatus.IN_REVIEW


def test_qa_releases_through_the_signing_dialog_and_only_qa_may(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    supervisor = browser_of(app, floor.supervisor.user.username)
    assert post(supervisor, f"{PAGE}/decision", {"decision": "release", "reason": "x y z"}).status_code == 403
    browser = qa_browser(app, qa)
    bad = post(browser, f"{PAGE}/decision", {"decision": "publish", "reason": "record fine"}, token_from=PAGE)
    assert bad.status_code == 422
    opened = post(browser, f"{PAGE}/decision", {"decision": "release", "reason": "record fine"}, token_from=PAGE)
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert status(runtime) is BatchStatus.IN_REVIEW  # nothing happens before the signature
    assert sign_dialog(browser, opened.location, qa.user.username).status_code == 302
    assert status(runtime) is BatchStatus.RELEASED
    page = readable(browser.get(PAGE))
    assert f"released: {qa.user.full_name} ({qa.user.username})" in page
    [line] = runtime.services.review.review(BATCH).decisions
    signed_again = post(browser, f"{PAGE}/decisions/{line.decision.id}/sign", {}, token_from=PAGE)
    assert signed_again.status_code == 409
    assert post(browser, f"{PAGE}/decisions/999/sign", {}, token_from=PAGE).status_code == 404


def test_a_pending_decision_is_signed_later_and_a_rejection_needs_no_candidate(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    report(floor, "foreign particle")
    qa = reviewer(runtime)
    browser = qa_browser(app, qa)
    opened = post(browser, f"{PAGE}/decision", {"decision": "reject", "reason": "foreign particle"}, token_from=PAGE)
    assert opened.status_code == 302  # the dialog is left unsigned
    [line] = runtime.services.review.review(BATCH).decisions
    again = post(browser, f"{PAGE}/decisions/{line.decision.id}/sign", {}, token_from=PAGE)
    assert again.status_code == 302 and "/sign/" in again.location
    assert sign_dialog(browser, again.location, qa.user.username).status_code == 302
    assert status(runtime) is BatchStatus.REJECTED


def test_an_addendum_after_release_is_signed_separately_and_listed(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    browser = qa_browser(app, qa)
    early = post(browser, f"{PAGE}/addenda", {"text": "note", "reason": "too early"}, token_from=PAGE)
    assert early.status_code == 409 and "an addendum follows a release or a rejection" in readable(early)
    decide(floor, qa)
    empty = post(browser, f"{PAGE}/addenda", {"text": "", "reason": "late result"}, token_from=PAGE)
    assert empty.status_code == 422
    data = {"text": "Retained sample conforms (LIMS 4711).", "reason": "late lab result"}
    opened = post(browser, f"{PAGE}/addenda", data, token_from=PAGE)
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert sign_dialog(browser, opened.location, qa.user.username).status_code == 302
    page = readable(browser.get(PAGE))
    assert "Retained sample conforms (LIMS 4711)." in page and f"approved: {qa.user.full_name}" in page
    [line] = runtime.services.review.review(BATCH).addenda
    assert post(browser, f"{PAGE}/addenda/{line.addendum.id}/sign", {}, token_from=PAGE).status_code == 409
    assert post(browser, f"{PAGE}/addenda/999/sign", {}, token_from=PAGE).status_code == 404


def test_the_review_pages_answer_404_for_an_unknown_batch(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.QA)
    assert browser.get("/review/B-NONE").status_code == 404
    answer = post(browser, "/review/B-NONE/acknowledge", {"key": "deviation:1", "comment": "seen it"})
    assert answer.status_code == 404


def test_after_release_the_page_offers_no_review_act(app: Flask, runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = in_review(runtime, plant)
    qa = reviewer(runtime)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)
    decide(floor, qa)
    body = qa_browser(app, qa).get(PAGE).get_data(as_text=True)
    assert 'id="sign-trail"' not in body and 'id="decide"' not in body and 'id="add-addendum"' in body
