"""Copies of the batch record: the release candidate PDF rendered once and stored, drafts, and the electronic
copies (REC-01, REC-08, PDF-06; MISSION "PDF signature").

Rendering takes seconds, so it always runs outside any transaction, on a snapshot taken first (the record, its
hash and its BatchML, all from one read); a short unit of work then stores the bytes with their SHA-256. A failed
rendering stores nothing and can simply run again. Copies are audited under their own object types
(batch_document, batch_record), never under the batch's objects, so making a copy never changes the record hash.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ebr.app.accounts import require
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import ProcedureCache
from ebr.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from ebr.app.ports.documents import (
    CANDIDATE,
    STEP_FILE_PREFIX,
    STEP_FILE_SUFFIX,
    NewDocument,
    RecordRenderer,
    RenderFailed,
    StoredDocument,
)
from ebr.app.ports.records import BatchRecordExporter
from ebr.app.record import RecordService, build_record, record_digest
from ebr.app.record_evidence import gather
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action, to_utc_text
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import NotFound
from ebr.domain.signatures import canonical_json

log = logging.getLogger("ebr.documents")

RECORD_JSON = "ebr-record.json"
RECORD_XML = "ebr-record.xml"
COPIES = "batch_record"  # the audited object of a copy made on request (draft PDF, JSON, XML)
DOCUMENTS = "batch_document"

# Checks a stored PDF's embedded signatures; returns the problems found (none: valid). Wired with the PdfSigner.
SignatureCheck = Callable[[StoredDocument, bytes], list[str]]


class DocumentIntegrityError(Exception):
    """A stored PDF no longer matches the SHA-256 recorded when it was stored; it is not handed out."""


@dataclass(frozen=True)
class Snapshot:
    """The record of a batch as read once, with its hash and its BatchML: what one copy is made from."""

    batch_id: str
    record: dict[str, object]
    record_hash: str
    batchml: bytes
    files: Mapping[str, bytes] = field(default_factory=dict)  # attached to steps: embedded as they are

    def attachments(self) -> dict[str, bytes]:
        """The electronic copies a PDF embeds, and the files attached to the batch's steps; the JSON's SHA-256 is
        the record hash."""
        return {RECORD_JSON: canonical_json(self.record), RECORD_XML: self.batchml, **self.files}


@dataclass(frozen=True)
class DocumentFinding:
    """A stored document that failed verification."""

    document_id: int
    batch_pk: int
    problem: str

    def __str__(self) -> str:
        return f"document {self.document_id} (batch {self.batch_pk}): {self.problem}"


@dataclass
class RenderReport:
    """What one round of candidate rendering did: batches rendered, and those whose rendering failed (why)."""

    rendered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def sha256(data: bytes) -> str:
    """The hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


class CandidateMatchesRecord:
    """The release candidate check: a current candidate exists and was rendered from the record as it is now."""

    def __init__(self, cache: ProcedureCache) -> None:
        self._cache = cache

    def blocker(self, uow: UnitOfWork, batch_pk: int) -> str | None:
        """Why release must wait for the candidate PDF, or None when it matches the current record hash."""
        current = uow.documents.current(batch_pk, CANDIDATE)
        if current is None:
            return "no release candidate PDF has been rendered yet"
        batch_id = uow.batches.by_pk(batch_pk).batch.id
        if record_digest(build_record(gather(uow, self._cache, batch_id))) != current.record_hash:
            return f"the release candidate PDF (revision {current.revision}) shows an earlier state of the record"
        return None


class DocumentService:
    """Renders, stores, hands out and verifies the copies of batch records."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        records: RecordService,
        renderer: RecordRenderer,
        exporter: BatchRecordExporter,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._records = records
        self._renderer = renderer
        self._exporter = exporter

    def _system(self, reason: str = "", batch_id: str = "") -> AuditContext:
        return AuditContext(Actor.system(), self._clock.now(), reason, extra={"batch": batch_id} if batch_id else {})

    def snapshot(self, batch_id: str) -> Snapshot:
        """The record, its hash and its BatchML from one read of the batch."""
        record = self._records.record(batch_id)
        batchml = self._exporter.to_batchml(record)
        return Snapshot(batch_id, record, record_digest(record), batchml, self._step_files(batch_id, record))

    def _step_files(self, batch_id: str, record: Mapping[str, object]) -> dict[str, bytes]:
        """The bytes of the files the record names as attached to its steps (label specimens), to embed."""
        listed = record.get("attachments")
        named = {int(str(a["id"])) for a in listed if isinstance(a, dict)} if isinstance(listed, list) else set()
        if not named:
            return {}
        with self._uow(self._system()) as uow:
            stored = [a for a in uow.attachments.for_batch(uow.batches.get(batch_id).id) if a.id in named]
            return {
                f"{STEP_FILE_PREFIX}{a.id}{STEP_FILE_SUFFIX[a.media_type]}": uow.attachments.content(a.id)
                for a in stored
            }

    def _render(self, snapshot: Snapshot, actor: Actor, draft: bool) -> bytes:
        copy = self._records.copy_metadata(actor, self._clock.now(), snapshot.record_hash)
        try:
            return self._renderer.render(snapshot.record, copy, snapshot.attachments(), draft)
        except RenderFailed:
            log.exception("rendering the record of batch %s failed; nothing was stored", snapshot.batch_id)
            raise

    def _candidate_state(self, batch_id: str) -> tuple[bool, StoredDocument | None]:
        with self._uow(self._system()) as uow:
            batch = uow.batches.get(batch_id)
            return batch.batch.status is BatchStatus.IN_REVIEW, uow.documents.current(batch.id, CANDIDATE)

    def render_candidate(self, batch_id: str) -> StoredDocument | None:
        """Render and store the release candidate of a batch in review, unless the current one shows this record;
        a previous candidate becomes superseded. None when there was nothing to do."""
        in_review, current = self._candidate_state(batch_id)
        if not in_review:
            return None
        snapshot = self.snapshot(batch_id)
        if current is not None and current.record_hash == snapshot.record_hash:
            return None
        pdf = self._render(snapshot, Actor.system(), draft=False)  # outside any transaction: it takes seconds
        return self._store_candidate(snapshot, pdf)

    def _store_candidate(self, snapshot: Snapshot, pdf: bytes) -> StoredDocument | None:
        reason = f"release candidate rendered from record {snapshot.record_hash}"
        with self._uow(self._system(reason, snapshot.batch_id)) as uow:
            batch = uow.batches.lock(snapshot.batch_id)  # two workers on one batch: the second sees the first's
            current = uow.documents.current(batch.id, CANDIDATE)
            if batch.batch.status is not BatchStatus.IN_REVIEW or (
                current is not None and current.record_hash == snapshot.record_hash
            ):
                return None
            if current is not None:
                uow.documents.supersede(current.id)
            new = NewDocument(batch.id, CANDIDATE, snapshot.record_hash, pdf, sha256(pdf), self._clock.now(), None)
            stored = uow.documents.add(new)
            uow.commit()
            return stored

    def pending_candidates(self) -> list[str]:
        """Batches in review whose release candidate is missing or shows an earlier state of the record."""
        with self._uow(self._system()) as uow:
            waiting = [
                (b.batch.id, uow.documents.current(b.id, CANDIDATE))
                for b in uow.batches.active()
                if b.batch.status is BatchStatus.IN_REVIEW
            ]
        return [
            batch_id
            for batch_id, current in waiting
            if current is None or current.record_hash != self._records.record_hash(batch_id)
        ]

    def render_pending(self) -> RenderReport:
        """Render every pending candidate; one batch failing does not hold up the others (the worker job)."""
        report = RenderReport()
        for batch_id in self.pending_candidates():
            try:
                if self.render_candidate(batch_id) is not None:
                    report.rendered.append(batch_id)
            except RenderFailed as exc:
                report.failed[batch_id] = str(exc)
        return report

    def current_candidate(self, batch_pk: int) -> StoredDocument | None:
        """The batch's current release candidate, if one was rendered."""
        with self._uow(self._system()) as uow:
            return uow.documents.current(batch_pk, CANDIDATE)

    def documents(self, batch_id: str) -> list[StoredDocument]:
        """Every stored document of the batch, oldest first."""
        with self._uow(self._system()) as uow:
            return uow.documents.for_batch(uow.batches.get(batch_id).id)

    def document(self, document_id: int, batch_id: str | None = None) -> tuple[StoredDocument, str]:
        """A stored document and its batch id; NotFound when it belongs to another batch than the one named."""
        with self._uow(self._system()) as uow:
            stored = uow.documents.get(document_id)
            owner = uow.batches.by_pk(stored.batch_id).batch.id
        if batch_id is not None and owner != batch_id:
            raise NotFound(f"Batch {batch_id} has no document {document_id}.")
        return stored, owner

    def download(
        self, actor: Actor, document_id: int, batch_id: str | None = None, request: RequestInfo | None = None
    ) -> bytes:
        """The stored bytes, identical on every download; each download is audited with their SHA-256 (PDF-06)."""
        stored, owner = self.document(document_id, batch_id)
        ctx = AuditContext(actor, self._clock.now(), request=request or RequestInfo(), extra={"batch": owner})
        with self._uow(ctx) as uow:
            _require_view(uow, actor)
            pdf = uow.documents.content(stored.id)
            digest = sha256(pdf)
            if digest != stored.sha256:
                raise DocumentIntegrityError(f"document {stored.id} of batch {owner} no longer matches its SHA-256")
            detail = f"sha256 {digest}; {len(pdf)} bytes; {stored.kind} revision {stored.revision}"
            detail += f"; record {stored.record_hash}"
            uow.audit.append(Action.EXPORT, DOCUMENTS, str(stored.id), "pdf", new=detail)
            uow.commit()
        return pdf

    def draft(self, batch_id: str, actor: Actor, request: RequestInfo | None = None) -> bytes:
        """A watermarked draft PDF of the record as it is now, for review at any time; not stored, but audited."""
        snapshot = self.snapshot(batch_id)
        pdf = self._render(snapshot, actor, draft=True)
        self._audit_copy(actor, snapshot, "pdf-draft", pdf, request)
        return pdf

    def record_json(self, batch_id: str, actor: Actor, request: RequestInfo | None = None) -> bytes:
        """The electronic copy: the canonical record JSON, whose SHA-256 is the record hash (REC-01)."""
        snapshot = self.snapshot(batch_id)
        content = canonical_json(snapshot.record)
        self._audit_copy(actor, snapshot, "json", content, request)
        return content

    def record_json_as_of(
        self, batch_id: str, moment: datetime, actor: Actor, request: RequestInfo | None = None
    ) -> bytes:
        """The canonical record as it stood at a past moment (AUD-11); audited like any other copy."""
        record = self._records.as_of(batch_id, moment)
        snapshot = Snapshot(batch_id, record, record_digest(record), b"")
        content = canonical_json(record)
        self._audit_copy(actor, snapshot, f"json as of {to_utc_text(moment)}", content, request)
        return content

    def record_xml(self, batch_id: str, actor: Actor, request: RequestInfo | None = None) -> bytes:
        """The electronic copy as BatchML (ISA-88 Part 4)."""
        snapshot = self.snapshot(batch_id)
        self._audit_copy(actor, snapshot, "xml", snapshot.batchml, request)
        return snapshot.batchml

    def _audit_copy(
        self, actor: Actor, snapshot: Snapshot, form: str, content: bytes, request: RequestInfo | None
    ) -> None:
        ctx = AuditContext(
            actor, self._clock.now(), request=request or RequestInfo(), extra={"batch": snapshot.batch_id}
        )
        with self._uow(ctx) as uow:
            _require_view(uow, actor)
            detail = f"copy of record {snapshot.record_hash}; sha256 {sha256(content)}; {len(content)} bytes"
            uow.audit.append(Action.EXPORT, COPIES, snapshot.batch_id, form, new=detail)
            uow.commit()

    def verify(self, signature_check: SignatureCheck | None = None) -> list[DocumentFinding]:
        """Every stored document whose bytes no longer match their SHA-256 or size, or (with a signature check)
        whose embedded signatures fail (ebr verify documents)."""
        findings: list[DocumentFinding] = []
        with self._uow(self._system()) as uow:
            for document_id in uow.documents.ids():
                stored = uow.documents.get(document_id)
                findings += _findings(stored, uow.documents.content(document_id), signature_check)
        return findings


def _findings(stored: StoredDocument, pdf: bytes, signature_check: SignatureCheck | None) -> list[DocumentFinding]:
    found = []
    if sha256(pdf) != stored.sha256 or len(pdf) != stored.size:
        problem = f"SHA-256 {sha256(pdf)} ({len(pdf)} bytes) differs from the stored {stored.sha256} ({stored.size})"
        found.append(DocumentFinding(stored.id, stored.batch_id, problem))
    if signature_check is not None and stored.signature_id is not None:
        found += [DocumentFinding(stored.id, stored.batch_id, p) for p in signature_check(stored, pdf)]
    return found


def _require_view(uow: UnitOfWork, actor: Actor) -> None:
    if actor.user_id is not None:  # the system itself (worker, command line) needs no role
        require(uow.users.get(actor.user_id), Permission.BATCH_VIEW)
