"""At release the releaser's own key signs the release candidate PDF (MISSION: PDF signature): release waits for a
candidate rendered from the record as it is, and the released PDF validates with the site CA."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.adapters.pki.keys import SitePki
from ebr.adapters.pki.pdf_validation import validate_pdf
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import StoredSignature
from ebr.app.ports.documents import NewDocument, StoredDocument
from ebr.bootstrap import Runtime
from ebr.cli import document_findings
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict
from tests.app.execution_support import KIOSK
from tests.app.review_support import decide, ready_for_release
from tests.factories import actor_of, sign
from tests.integration.pdf import poppler
from tests.integration.pdf_signing.documents import flip_one_byte_inside_a_stream


def _documents(runtime: Runtime, batch_id: str, kind: str) -> list[StoredDocument]:
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        batch = uow.batches.get(batch_id)
        return [d for d in uow.documents.for_batch(batch.id) if d.kind == kind]


def test_release_waits_for_a_candidate_rendered_from_the_current_record(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    with pytest.raises(Conflict, match="no release candidate PDF has been rendered"):
        decide(floor, qa)
    runtime.services.documents.render_candidate(floor.batch_id)
    runtime.services.execution.report_deviation(
        actor_of(floor.supervisor.user), floor.batch_id, None, "minor", "label smudged", "relabelled", KIOSK
    )
    with pytest.raises(Conflict, match="shows an earlier state of the record"):
        decide(floor, qa)
    assert runtime.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.IN_REVIEW


@pytest.mark.req("QA-04")
def test_the_released_pdf_carries_the_releasers_pades_signature_and_validates(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    signature = decide(floor, qa)
    assert runtime.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.RELEASED
    [released] = _documents(runtime, floor.batch_id, "released")
    assert isinstance(signature, StoredSignature) and released.signature_id == signature.id
    pdf = runtime.services.documents.download(actor_of(qa.user), released.id)
    [check] = validate_pdf(pdf, [SitePki(runtime.settings.instance_path).ca_certificate_pem()])
    assert check.bottom_line and check.intact and check.trusted and not check.modified_after_signing
    assert qa.user.full_name in check.signer_subject
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Released by" in text and qa.user.full_name in text


@pytest.mark.req("PDF-03")
def test_verify_checks_the_signature_of_every_stored_signed_pdf(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    decide(floor, qa)
    assert document_findings(runtime) == []
    [released] = _documents(runtime, floor.batch_id, "released")
    pdf = runtime.services.documents.download(actor_of(qa.user), released.id)
    tampered = flip_one_byte_inside_a_stream(pdf, len(pdf) // 2)  # a content change inside the signed range
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now(), "test: a forged copy")) as uow:
        digest = hashlib.sha256(tampered).hexdigest()
        batch_pk = uow.batches.get(floor.batch_id).id
        at_time, signature = released.created_at, released.signature_id
        forged = uow.documents.add(
            NewDocument(batch_pk, "addendum", released.record_hash, tampered, digest, at_time, None, signature)
        )
        uow.commit()
    findings = document_findings(runtime)
    assert [f.document_id for f in findings] == [forged.id]


def _attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in a PDF, by name."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


@pytest.mark.req("QA-05")
def test_an_addendum_is_a_new_signed_revision_and_the_released_pdf_stays_as_it_was(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    decide(floor, qa)
    [released] = _documents(runtime, floor.batch_id, "released")
    original = runtime.services.documents.download(actor_of(qa.user), released.id)
    record_hash = runtime.services.records.record_hash(floor.batch_id)
    texts = ["Retained sample tested: conforms (LIMS 4711).", "Stability pull at 3 months: conforms (LIMS 4802)."]
    for text in texts:
        addendum = runtime.services.release.add_addendum(actor_of(qa.user), floor.batch_id, text, "late lab result")
        sign(runtime, qa.user, qa.token, "batch_addendum", str(addendum.id), "approved")
    [again] = _documents(runtime, floor.batch_id, "released")
    assert (again.sha256, again.status, again.record_hash) == (released.sha256, "current", released.record_hash)
    assert runtime.services.documents.download(actor_of(qa.user), released.id) == original
    assert runtime.services.records.record_hash(floor.batch_id) == record_hash
    first, second = _documents(runtime, floor.batch_id, "addendum")
    assert (first.revision, first.status, second.revision, second.status) == (1, "superseded", 2, "current")
    ca = [SitePki(runtime.settings.instance_path).ca_certificate_pem()]
    pdf = runtime.services.documents.download(actor_of(qa.user), second.id)
    [release_check] = validate_pdf(original, ca)
    [addendum_check] = validate_pdf(pdf, ca)
    assert release_check.bottom_line and addendum_check.bottom_line and addendum_check.trusted
    assert qa.user.full_name in addendum_check.signer_subject
    embedded = _attachments(pdf)
    assert embedded[f"{floor.batch_id}-released-record.pdf"] == original
    addenda = json.loads(embedded["addenda.json"])["addenda"]
    assert [a["text"] for a in addenda] == texts and isinstance(addenda[0]["approval"]["signature"], int)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Addendum approved by" in text and released.sha256 in " ".join(text.split())
    assert document_findings(runtime) == []


@pytest.mark.req("PDF-05")
def test_the_released_pdf_stays_pdf_a_3b_with_every_font_embedded_the_stamp_font_included(
    runtime: Runtime, plant: SimulatedPlant, tmp_path: Path
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    decide(floor, qa)
    [released] = _documents(runtime, floor.batch_id, "released")
    [candidate] = _documents(runtime, floor.batch_id, "candidate")
    path = poppler.write(tmp_path, "released.pdf", runtime.services.documents.download(actor_of(qa.user), released.id))
    before = poppler.write(
        tmp_path, "candidate.pdf", runtime.services.documents.download(actor_of(qa.user), candidate.id)
    )
    fonts, candidate_fonts = poppler.fonts(path), poppler.fonts(before)
    assert fonts and all(embedded == "yes" for _, embedded in fonts), fonts
    assert len(fonts) > len(candidate_fonts)  # the stamp brought its own font, embedded like the others
    metadata = poppler.xmp(path)
    assert re.search(r'pdfaid:part(="|>)3', metadata) and re.search(r'pdfaid:conformance(="|>)B', metadata)
