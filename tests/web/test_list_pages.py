"""The worklist and the review queue show one page of their batches at a time, with the count and page links, and
a page number that is no page shows the first page instead of failing."""

from __future__ import annotations

import re

from flask import Flask

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.paging import PAGE_SIZE
from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.app.review_support import completed_batch, reviewer
from tests.web.batch_support import browser_of, second_batch

BAD_PAGES = ("0", "-1", "x", "99999999999999999999", "3")


def cards(html: str) -> list[str]:
    """The batch ids of the worklist's cards, in page order."""
    return re.findall(r'<article class="batch-card[^"]*" id="batch-([^"]+)"', html)


def test_the_worklist_shows_a_page_of_batches_newest_first_and_the_next_page_the_rest(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    started = [floor.batch_id] + [second_batch(runtime, floor, str(9100 + n)) for n in range(PAGE_SIZE)]
    browser = browser_of(app, floor.operator.user.username)
    first = browser.get("/batches/").get_data(as_text=True)
    second = browser.get("/batches/?page=2").get_data(as_text=True)
    assert cards(first) == list(reversed(started))[:PAGE_SIZE]
    assert cards(second) == [floor.batch_id]
    assert f"{PAGE_SIZE + 1} active batches, page 1 of 2" in first
    assert 'href="/batches/?page=2"' in first and "page 2 of 2" in second
    for bad in BAD_PAGES:
        page = browser.get(f"/batches/?page={bad}")
        assert page.status_code == 200 and cards(page.get_data(as_text=True)) == cards(first), bad


def test_the_worklist_puts_running_batches_before_those_awaiting_review(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    running = second_batch(runtime, floor, "9002")
    html = browser_of(app, floor.operator.user.username).get("/batches/").get_data(as_text=True)
    assert cards(html) == [running, floor.batch_id]
    assert "2 active batches" in html and "page 1 of" not in html


def test_a_review_queue_page_number_that_is_no_page_shows_the_first_page(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    browser = browser_of(app, reviewer(runtime).user.username)
    for bad in BAD_PAGES:
        page = browser.get(f"/review/?completed_page={bad}&in_review_page={bad}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f'id="completed-{floor.batch_id}"' in html, bad
        assert "1 completed batches" in html and "0 batches in review" in html
