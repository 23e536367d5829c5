"""`ebr verify documents`: every stored record PDF is hashed again and held against the SHA-256 stored with it; the
embedded signatures are checked by a validator handed in (the PAdES signer, wired at release)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from ebr.adapters.db.models import SignatureRow
from ebr.app.ports.documents import StoredDocument
from ebr.bootstrap import Runtime
from ebr.cli import document_findings
from ebr.config import Settings
from tests.app.document_support import store
from tests.app.execution_support import running_batch
from tests.cli.test_verify_audit import ebr, failures
from tests.integration.db.tampering import as_owner


def test_verify_documents_exits_0_when_every_stored_pdf_matches_its_hash(settings: Settings, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    store(runtime, floor.batch_id)

    result = ebr(settings, "verify", "documents")

    assert result.exit_code == 0, result.output
    assert "documents: OK" in result.stdout and failures(result) == []


def test_verify_names_the_document_whose_bytes_were_changed_in_the_database(
    settings: Settings, runtime: Runtime, owner_url: str
) -> None:
    floor = running_batch(runtime)
    kept = store(runtime, floor.batch_id, b"%PDF-1.7 kept")
    changed = store(runtime, floor.batch_id, b"%PDF-1.7 to be changed")
    with as_owner(owner_url, ("batch_document_no_update",)) as conn:
        conn.execute(text("UPDATE batch_document SET pdf = :pdf WHERE id = :id"), {"pdf": b"%PDF-x", "id": changed.id})

    narrowed = ebr(settings, "verify", "documents")
    everything = ebr(settings, "verify")

    assert narrowed.exit_code == 1 and everything.exit_code == 1
    [line] = failures(narrowed)
    assert line.startswith(f"FAIL document {changed.id} (batch {changed.batch_id}): SHA-256 "), line
    assert changed.sha256 in line and f"document {kept.id} " not in narrowed.output
    assert failures(everything) == [line] and "documents: FAILED (1)" in everything.stdout


def test_a_signature_validator_is_asked_about_every_signed_document_and_its_problems_are_named(
    runtime: Runtime,
) -> None:
    floor = running_batch(runtime)
    with runtime.engine.connect() as conn:
        signature_id = conn.execute(select(func.min(SignatureRow.id))).scalar_one()
    unsigned = store(runtime, floor.batch_id, b"%PDF-1.7 candidate")
    released = store(runtime, floor.batch_id, b"%PDF-1.7 signed", signature_id=signature_id)
    asked: list[int] = []

    def validator(document: StoredDocument, pdf: bytes) -> list[str]:
        asked.append(document.id)
        assert pdf == b"%PDF-1.7 signed"
        return ["signature not trusted"]

    findings = document_findings(runtime, validator)

    assert asked == [released.id] and unsigned.id not in asked
    assert [str(f) for f in findings] == [f"document {released.id} (batch {released.batch_id}): signature not trusted"]


def test_verify_documents_passes_with_no_document_stored(settings: Settings, runtime: Runtime) -> None:
    result = ebr(settings, "verify", "documents")

    assert result.exit_code == 0 and "documents: OK" in result.stdout
