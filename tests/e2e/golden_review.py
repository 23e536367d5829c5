"""QA on the golden path: the deviation dispositioned and closed with signatures, the batch handed to review, every
exception acknowledged, the audit trail signed reviewed, the release signed and the signed PDF downloaded."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.golden_steps import Cast, click_to, shoot, sign, switch_to


def qa_settles_the_deviation(page: Page, base: str, cast: Cast, batch_id: str) -> str:
    """QA decides 'continue' on the open deviation with its impact, signs, then closes it; returns its number."""
    switch_to(page, base, cast.qa)
    page.goto(f"{base}/batches/{batch_id}")
    row = page.locator("#deviations tbody tr", has_text="out of limit")
    expect(row).to_have_count(1)
    expect(row.locator("td.state")).to_have_text("open")
    number = row.locator("td").first.inner_text()
    row_id = row.get_attribute("id")
    pk = (row_id or "").removeprefix("deviation-")
    page.locator(f"#disposition-{pk}").select_option("continue")
    page.locator(f"#impact-{pk}").fill("none on quality: a sample container only, set aside")
    page.locator(f"#disposition-reason-{pk}").fill("assessed with the supervisor")
    click_to(page, f"#disposition-{pk}-submit")
    sign(page, cast.qa)
    expect(page.locator(f"#{row_id} td.state")).to_have_text("dispositioned")
    page.locator(f"#close-reason-{pk}").fill("no further action: the check was repeated")
    click_to(page, f"#close-{pk}-submit")
    sign(page, cast.qa)
    expect(page.locator(f"#{row_id} td.state")).to_have_text("closed")
    return number


def qa_submits_for_review(page: Page, base: str, batch_id: str) -> None:
    """The completed batch is handed to review from the queue."""
    page.goto(f"{base}/review/")
    page.get_by_label(f"Reason for {batch_id}").fill("batch completed, record checked")
    click_to(page, f"#submit-{batch_id}")
    expect(page.locator("#batch-status")).to_have_text("in review")


def qa_reviews_by_exception(page: Page, base: str, cast: Cast, batch_id: str, deviation: str) -> None:
    """The review lists the deviation among its exceptions; QA acknowledges each one and signs the trail reviewed."""
    page.goto(f"{base}/review/{batch_id}")
    exceptions = page.locator("#exceptions")
    expect(exceptions).to_contain_text(deviation)
    expect(exceptions).to_contain_text("out of limit")
    expect(page.locator("#candidate-state")).to_contain_text("matches the record")
    shoot(page, "qa-review.png")
    waiting = exceptions.locator(":scope > tbody > tr:not(:has(p.mark))")  # an acknowledged row shows its mark
    for _ in range(waiting.count()):
        row = waiting.first
        row.locator("textarea").fill("checked against the record and the deviation")
        with page.expect_navigation():
            row.get_by_role("button", name="Acknowledge").click()
    expect(waiting).to_have_count(0)
    click_to(page, "#sign-trail")
    expect(page.locator("#sign-meaning")).to_contain_text("eview")
    sign(page, cast.qa)
    expect(page.locator("#blockers")).to_contain_text("None: the batch can be released")


def qa_releases(page: Page, cast: Cast) -> None:
    """QA requests the release with its reason and signs it 'released'."""
    page.locator("#decide select").select_option("release")
    page.locator("#decide input[name=reason]").fill("record complete, deviation closed")
    click_to(page, "#request-decision")
    expect(page.locator("#sign-meaning")).to_have_text("Released by")
    sign(page, cast.qa)
    expect(page.locator("#batch-status")).to_have_text("released")


def download_released_pdf(page: Page, folder: Path) -> Path:
    """Download the released document from the review page's list of stored documents."""
    link = page.locator("#documents a", has_text="released")
    expect(link).to_have_count(1)
    with page.expect_download() as download:
        link.click()
    target = folder / "released.pdf"
    download.value.save_as(target)
    return target
