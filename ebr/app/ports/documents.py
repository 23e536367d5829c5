"""Ports of the rendered batch record: the renderer of the human-readable copy, and the store of rendered PDFs.

A stored document is append-only; only its status moves, once, from current to superseded (PDF-06).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CANDIDATE = "candidate"
RELEASED = "released"
REJECTED = "rejected"
ADDENDUM = "addendum"
KINDS = (CANDIDATE, RELEASED, REJECTED, ADDENDUM)
CURRENT = "current"
SUPERSEDED = "superseded"
# Files attached to the batch's steps (label specimens) are embedded in its PDF as attachment-<id>.<png|jpg|pdf>.
STEP_FILE_PREFIX = "attachment-"
STEP_FILE_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}


class RenderFailed(Exception):
    """The record could not be rendered (a template, style or font problem); nothing was produced."""


@dataclass(frozen=True)
class NewDocument:
    """A rendered PDF about to be stored, with what it was rendered from."""

    batch_id: int
    kind: str
    record_hash: str
    pdf: bytes
    sha256: str
    created_at: datetime
    created_by: int | None
    signature_id: int | None = None


@dataclass(frozen=True)
class StoredDocument:
    """A stored PDF without its bytes: which batch, which kind and revision, the record it shows, its hash."""

    id: int
    batch_id: int
    kind: str
    revision: int
    record_hash: str
    sha256: str
    size: int
    created_at: datetime
    created_by: int | None
    status: str
    signature_id: int | None


class DocumentRepository(Protocol):
    """Rendered batch-record PDFs; rows are never changed except a current one becoming superseded."""

    def add(self, document: NewDocument) -> StoredDocument: ...
    def get(self, document_pk: int) -> StoredDocument: ...
    def content(self, document_pk: int) -> bytes: ...
    def current(self, batch_pk: int, kind: str) -> StoredDocument | None: ...
    def for_batch(self, batch_pk: int) -> list[StoredDocument]: ...
    def supersede(self, document_pk: int) -> None: ...
    def ids(self) -> list[int]: ...


class RecordRenderer(Protocol):
    """Renders the canonical record as a PDF/A-3b copy with the machine-readable record embedded (REC-01, PDF-05)."""

    def render(
        self,
        record: Mapping[str, object],
        copy: Mapping[str, object],
        attachments: Mapping[str, bytes],
        draft: bool,
    ) -> bytes:
        """The PDF bytes; raises RenderFailed naming the template or asset at fault."""
        ...
