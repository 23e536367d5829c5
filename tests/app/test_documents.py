"""The release candidate PDF and the other copies of a batch record, through the application services: rendered once
from a snapshot and stored, re-rendered when the record changes, downloaded byte for byte with an audit entry, drafts
watermarked and identified as copies, template errors refused with nothing stored (PDF-06, REC-08)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from ebr.adapters.batchml.export import BatchMLExporter
from ebr.adapters.db.audit_guard import AuditTrailImmutable
from ebr.adapters.db.models import BatchDocumentRow
from ebr.adapters.db.uow import SqlAlchemyUnitOfWork
from ebr.adapters.pdf.batch_record import BatchRecordRenderer
from ebr.app.context import Actor, AuditContext
from ebr.app.documents import CandidateMatchesRecord, DocumentIntegrityError, DocumentService, sha256
from ebr.app.execution_context import ProcedureCache
from ebr.app.ports import AuditFilter
from ebr.app.ports.documents import CANDIDATE, RenderFailed
from ebr.bootstrap import Runtime
from ebr.domain.audit import to_utc_text
from ebr.engine.runtime import SpiffRuntime
from ebr.library.loader import FolderLibrary
from ebr.worker.loop import JOBS, run_once
from tests.app.document_support import store
from tests.app.execution_support import Floor, running_batch
from tests.app.record_support import quick_batch
from tests.app.review_support import run_to_completion, submit
from tests.factories import actor_of
from tests.fakes import FakeClock
from tests.integration.db.tampering import as_owner
from tests.integration.pdf import poppler

REPORTS = Path(__file__).resolve().parents[2] / "reports" / "batch_record"


@pytest.fixture
def reviewed(runtime: Runtime, clock: FakeClock) -> Floor:
    """The quick check with its corrections and deviations, run to the end and submitted for QA review."""
    floor = quick_batch(runtime, clock)
    run_to_completion(floor)
    submit(floor)
    clock.advance(minutes=1)
    return floor


def trail(rt: Runtime, object_type: str, object_id: str = "") -> list[tuple[str, str, str | None]]:
    entries = rt.services.trail.query(AuditFilter(object_type=object_type, object_id=object_id), None)
    return [(str(e.draft.action), e.draft.field, e.draft.new_value) for e in entries]


def blocker(rt: Runtime, batch_id: str) -> str | None:
    check = CandidateMatchesRecord(ProcedureCache(FolderLibrary(rt.settings.library_dir), SpiffRuntime()))
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return check.blocker(uow, uow.batches.get(batch_id).id)


def service_with(rt: Runtime, reports: Path) -> DocumentService:
    """The document service with the batch-record template read from another folder."""
    renderer = BatchRecordRenderer(reports, "test")
    return DocumentService(rt.services.uow, rt.services.clock, rt.services.records, renderer, BatchMLExporter())


@pytest.mark.req("PDF-06")
def test_the_candidate_is_rendered_once_from_a_snapshot_and_every_download_is_the_stored_bytes(
    runtime: Runtime, reviewed: Floor
) -> None:
    documents, batch_id = runtime.services.documents, reviewed.batch_id
    assert documents.pending_candidates() == [batch_id]

    stored = documents.render_candidate(batch_id)

    assert stored is not None
    assert (stored.kind, stored.revision, stored.status) == (CANDIDATE, 1, "current")
    assert stored.record_hash == runtime.services.records.record_hash(batch_id)  # the snapshot it was made from
    assert documents.render_candidate(batch_id) is None and documents.pending_candidates() == []  # rendered once
    qa = actor_of(reviewed.qa.user)
    first = documents.download(qa, stored.id, batch_id)
    second = documents.download(qa, stored.id, batch_id)
    assert first == second and first.startswith(b"%PDF-")
    assert sha256(first) == stored.sha256 and len(first) == stored.size
    [(action, _, created)] = trail(runtime, "batch_document", str(stored.id))[:1]
    assert action == "create" and created is not None and f'"sha256": "{stored.sha256}"' in created
    exports = [new for action, field, new in trail(runtime, "batch_document") if action == "export"]
    assert len(exports) == 2 and all(new is not None and f"sha256 {stored.sha256}" in new for new in exports)
    assert runtime.services.records.record_hash(batch_id) == stored.record_hash  # copying changed no record


def test_a_change_in_review_supersedes_the_candidate_and_release_waits_until_the_worker_renders_again(
    runtime: Runtime, reviewed: Floor
) -> None:
    batch_id = reviewed.batch_id
    assert blocker(runtime, batch_id) == "no release candidate PDF has been rendered yet"
    first = runtime.services.documents.render_candidate(batch_id)
    assert first is not None
    assert blocker(runtime, batch_id) is None
    [open_deviation] = [d for d in runtime.services.execution.batch(batch_id).deviations if d.status == "open"]

    reviewed.relogin()
    decision = {"disposition": "continue", "impact": "none: balance reading confirmed"}
    pk = open_deviation.id
    reviewed.act("disposition", reviewed.qa, "dispositioned", "no impact", deviation_pk=pk, parameters=decision)

    assert "earlier state of the record" in (blocker(runtime, batch_id) or "")
    assert runtime.services.documents.pending_candidates() == [batch_id]
    assert run_once(runtime, tuple(j for j in JOBS if j.name == "documents")) == {"documents": 1}
    assert run_once(runtime, tuple(j for j in JOBS if j.name == "documents")) == {"documents": 0}
    versions = [(d.revision, d.status) for d in runtime.services.documents.documents(batch_id)]
    assert versions == [(1, "superseded"), (2, "current")]
    assert blocker(runtime, batch_id) is None
    assert ("update", "status", "superseded") in trail(runtime, "batch_document", str(first.id))


def test_a_batch_not_in_review_gets_no_candidate(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime)

    assert runtime.services.documents.render_candidate(floor.batch_id) is None
    assert runtime.services.documents.pending_candidates() == []
    assert runtime.services.documents.documents(floor.batch_id) == []


@pytest.mark.req("REC-08")
def test_a_draft_copy_is_watermarked_on_every_page_and_identifies_itself_as_a_copy(
    runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = quick_batch(runtime, clock)
    qa = floor.qa.user
    clock.advance(minutes=3)

    pdf = runtime.services.documents.draft(floor.batch_id, actor_of(qa))

    path = poppler.write(tmp_path, "draft.pdf", pdf)
    record_hash = runtime.services.records.record_hash(floor.batch_id)  # the database's record, as it is now
    copy = f"COPY generated {to_utc_text(clock.now())} (UTC) by {qa.full_name} ({qa.username})"
    version = str(runtime.services.records.record(floor.batch_id)["software_version"])
    pages = [poppler.squeeze(page) for page in poppler.page_texts(path)]
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert "NOT RELEASED" in page, number
        assert copy in page and f"software {version}" in page and f"Record SHA-256 {record_hash}" in page, number
    assert f"record SHA-256 {record_hash}" in poppler.info(path)  # also in the document's metadata
    assert runtime.services.documents.documents(floor.batch_id) == []  # a draft is never stored
    [(action, form, detail)] = trail(runtime, "batch_record", floor.batch_id)
    assert (action, form) == ("export", "pdf-draft") and detail is not None and record_hash in detail


def test_a_candidate_is_not_watermarked(runtime: Runtime, reviewed: Floor, tmp_path: Path) -> None:
    stored = runtime.services.documents.render_candidate(reviewed.batch_id)
    assert stored is not None

    pdf = runtime.services.documents.download(actor_of(reviewed.qa.user), stored.id)

    assert "NOT RELEASED" not in poppler.text(poppler.write(tmp_path, "candidate.pdf", pdf))


def test_a_template_error_names_the_template_stores_nothing_and_the_fixed_template_renders(
    runtime: Runtime, reviewed: Floor, tmp_path: Path
) -> None:
    reports = tmp_path / "batch_record"
    shutil.copytree(REPORTS, reports)
    template = reports / "template.html.j2"
    good = template.read_text(encoding="utf-8")
    template.write_text(good.replace("{% for step in record.steps %}", "{% for step in record.steps %}{% if %}"))
    documents = service_with(runtime, reports)

    with pytest.raises(RenderFailed, match=r"template\.html\.j2, line \d+"):
        documents.render_candidate(reviewed.batch_id)

    assert documents.documents(reviewed.batch_id) == [] and trail(runtime, "batch_document") == []
    template.write_text(good)
    stored = documents.render_candidate(reviewed.batch_id)
    assert stored is not None and stored.revision == 1


@pytest.mark.parametrize(
    ("css", "named"),
    [
        ('@import url("https://cdn.example.com/print.css");', "https"),
        ('@font-face { font-family: "Extra"; src: url(fonts/missing.ttf); }', "missing.ttf"),
        ('body { background: url("../../../../../../../etc/hostname"); }', "outside the allowed asset folders"),
    ],
    ids=["network", "missing-font", "outside-library"],
)
def test_an_asset_from_the_network_missing_or_outside_the_library_stops_the_rendering(
    runtime: Runtime, reviewed: Floor, tmp_path: Path, css: str, named: str
) -> None:
    reports = tmp_path / "batch_record"
    shutil.copytree(REPORTS, reports)
    style = reports / "style.css"
    style.write_text(css + "\n" + style.read_text(encoding="utf-8"))

    with pytest.raises(RenderFailed, match=named):
        service_with(runtime, reports).render_candidate(reviewed.batch_id)

    assert runtime.services.documents.documents(reviewed.batch_id) == []


def test_a_stored_document_is_append_only_except_its_status_moving_once_to_superseded(
    runtime: Runtime, clock: FakeClock, owner_url: str
) -> None:
    floor = running_batch(runtime)
    first = store(runtime, floor.batch_id)
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "replaced")) as uow:
        uow.documents.supersede(first.id)
        uow.commit()
    table = BatchDocumentRow.__table__

    for change in ({"sha256": "f" * 64}, {"pdf": b"%PDF-forged"}, {"status": "current"}):
        with pytest.raises(DBAPIError), runtime.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == first.id).values(**change))
    with pytest.raises(DBAPIError), runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM batch_document WHERE id = :id"), {"id": first.id})
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "forging")) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        row = uow.session.get(BatchDocumentRow, first.id)
        assert row is not None
        row.record_hash = "1" * 64
        with pytest.raises(AuditTrailImmutable, match="except status"):
            uow.flush()
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(table.c.sha256, table.c.status).where(table.c.id == first.id)).one()
    assert tuple(stored) == (first.sha256, "superseded")


def test_a_document_whose_bytes_changed_is_not_handed_out(runtime: Runtime, owner_url: str) -> None:
    floor = running_batch(runtime)
    stored = store(runtime, floor.batch_id)
    with as_owner(owner_url, ("batch_document_no_update",)) as conn:
        conn.execute(text("UPDATE batch_document SET pdf = :pdf WHERE id = :id"), {"pdf": b"%PDF-x", "id": stored.id})

    with pytest.raises(DocumentIntegrityError, match="no longer matches its SHA-256"):
        runtime.services.documents.download(actor_of(floor.qa.user), stored.id)

    assert [a for a, _, _ in trail(runtime, "batch_document", str(stored.id)) if a == "export"] == []
