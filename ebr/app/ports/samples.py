"""Ports of samples taken from a batch and of files attached to its steps (label specimens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredSample:
    """A sample pulled at a sampling step, with its own ID (211.188(b)(10); BatchML Sample); never changed."""

    id: int
    batch_id: int
    step_record_id: int
    sample_id: str  # <batch>-S<n>: printed on the sample's label
    quantity: str
    unit: str
    purpose: str
    reference: str  # the container or LIMS reference recorded with it ("" when none)
    result_required: bool
    taken_at: datetime
    taken_by: int
    terminal: str
    recorded_at: datetime  # when the step was signed (taken_at may be earlier, as the operator recorded it)


class SampleRepository(Protocol):
    """Samples of batches; append-only."""

    def add(self, sample: StoredSample) -> StoredSample: ...
    def for_batch(self, batch_pk: int) -> list[StoredSample]: ...
    def by_sample_id(self, sample_id: str) -> StoredSample | None: ...


@dataclass(frozen=True)
class StoredAttachment:
    """A file uploaded to an attachment field of a step, identified by its SHA-256; never changed."""

    id: int
    batch_id: int
    step_record_id: int
    field_id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: int
    terminal: str


class AttachmentRepository(Protocol):
    """Files attached to step fields; append-only. The bytes are read only when asked for."""

    def add(self, attachment: StoredAttachment, content: bytes) -> StoredAttachment: ...
    def find(self, step_record_id: int, field_id: str, sha256: str) -> StoredAttachment | None: ...
    def for_batch(self, batch_pk: int) -> list[StoredAttachment]: ...
    def content(self, attachment_pk: int) -> bytes: ...
