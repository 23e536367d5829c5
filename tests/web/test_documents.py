"""Downloads of batch-record copies over HTTP: stored PDFs byte for byte, a draft PDF, the JSON and BatchML copies;
attachments never cached, every download audited with who and what was handed out."""

from __future__ import annotations

import json
import subprocess

import pytest
from flask import Flask

from ebr.adapters.batchml.export import BatchMLExporter
from ebr.app.context import Actor, AuditContext
from ebr.app.documents import sha256
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.document_support import store
from tests.app.execution_support import running_batch
from tests.app.record_support import quick_batch
from tests.fakes import FakeClock
from tests.web.batch_support import browser_of
from tests.web.support import entries, is_login_redirect, new_client, sign_in


def test_a_stored_pdf_downloads_as_stored_as_an_uncached_attachment_and_is_audited(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    stored = store(runtime, floor.batch_id, b"%PDF-1.7 the candidate bytes")
    browser = browser_of(app, floor.operator.user.username)

    response = browser.get(f"/batches/{floor.batch_id}/documents/{stored.id}.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data() == b"%PDF-1.7 the candidate bytes"
    filename = f"{floor.batch_id}-document-{stored.id}.pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Cache-Control"] == "no-store"
    [export] = entries(runtime, action="export", username=floor.operator.user.username)
    assert (export.draft.object_type, export.draft.object_id) == ("batch_document", str(stored.id))
    assert export.draft.new_value is not None and f"sha256 {stored.sha256}" in export.draft.new_value
    assert export.draft.context["batch"] == floor.batch_id


def test_a_document_is_found_only_under_its_own_batch(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    stored = store(runtime, floor.batch_id)
    browser = browser_of(app, floor.operator.user.username)

    assert browser.get(f"/batches/B-OTHER/documents/{stored.id}.pdf").status_code == 404
    assert browser.get(f"/batches/{floor.batch_id}/documents/{stored.id + 1}.pdf").status_code == 404
    assert entries(runtime, action="export") == []


def test_the_draft_pdf_and_the_electronic_copies_are_made_from_the_record_as_it_is(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    browser, reader = sign_in(app, runtime, Role.QA)
    base = f"/batches/{floor.batch_id}"

    draft = browser.get(f"{base}/record.pdf?draft=1")
    as_json = browser.get(f"{base}/record.json")
    as_xml = browser.get(f"{base}/record.xml")

    assert draft.status_code == 200 and draft.get_data().startswith(b"%PDF-")
    assert draft.headers["Cache-Control"] == "no-store" and "attachment" in draft.headers["Content-Disposition"]
    record = runtime.services.records.record(floor.batch_id)
    assert as_json.mimetype == "application/json" and json.loads(as_json.get_data()) == record
    assert sha256(as_json.get_data()) == runtime.services.records.record_hash(floor.batch_id)
    assert as_xml.mimetype == "application/xml" and BatchMLExporter().validate_batchml(as_xml.get_data()) == []
    forms = [e.draft.field for e in entries(runtime, action="export", username=reader.username)]
    assert forms == ["pdf-draft", "json", "xml"]
    assert browser.get(f"{base}/record.pdf?draft=0").status_code == 422  # only drafts are made on request


def test_copies_need_a_session(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    stored = store(runtime, floor.batch_id)
    anonymous = new_client(app)

    for path in ("record.pdf?draft=1", "record.json", "record.xml", f"documents/{stored.id}.pdf"):
        assert is_login_redirect(anonymous.get(f"/batches/{floor.batch_id}/{path}")), path


@pytest.mark.req("AUD-04")
def test_after_a_correction_both_values_are_in_the_json_the_pdf_the_step_page_and_the_database(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    floor = quick_batch(runtime, clock)  # qc_lot LOT-1 corrected to LOT-7 by a signed correction
    browser, _ = sign_in(app, runtime, Role.QA)
    record = json.loads(browser.get(f"/batches/{floor.batch_id}/record.json").get_data())
    lots = [v for step in record["steps"] for v in step["values"] if v["field_id"] == "qc_lot"]
    original, corrected = lots
    assert (original["value"], original["current"], corrected["value"], corrected["current"]) == (
        "LOT-1",
        False,
        "LOT-7",
        True,
    )
    assert corrected["supersedes_id"] == original["id"] and corrected["change_reason"] == "misread label"
    pdf = browser.get(f"/batches/{floor.batch_id}/record.pdf?draft=1").get_data()
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode().split()
    )
    assert 'original value "LOT-1"' in text and '→ "LOT-7"' in text
    step = next(s for s in record["steps"] if s["step_id"] == "qc_identify")
    page = browser.get(f"/batches/{floor.batch_id}/steps/{step['id']}").get_data(as_text=True)
    assert "LOT-1" in page and "LOT-7" in page
    with runtime.services.uow(AuditContext(Actor.system(), clock.now())) as uow:
        stored = [v.value for v in uow.step_values.for_batch(uow.batches.get(floor.batch_id).id)]
    assert "LOT-1" in stored and "LOT-7" in stored
