"""Row ⇄ port translation for samples and step attachments; both only ever added."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import BatchSampleRow, StepAttachmentRow
from ebr.app.ports import StoredAttachment, StoredSample
from ebr.domain.errors import NotFound


def _sample(r: BatchSampleRow) -> StoredSample:
    return StoredSample(**{f.name: getattr(r, f.name) for f in dataclasses.fields(StoredSample)})


def _attachment(r: StepAttachmentRow) -> StoredAttachment:
    return StoredAttachment(**{f.name: getattr(r, f.name) for f in dataclasses.fields(StoredAttachment)})


def _columns(item: Any) -> dict[str, Any]:
    values = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    values.pop("id")  # the database assigns it
    return values


class SqlSampleRepository:
    """Samples of batches."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, sample: StoredSample) -> StoredSample:
        row = BatchSampleRow(**_columns(sample))
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _sample(row)

    def for_batch(self, batch_pk: int) -> list[StoredSample]:
        stmt = select(BatchSampleRow).where(BatchSampleRow.batch_id == batch_pk).order_by(BatchSampleRow.id)
        return [_sample(r) for r in self._s.scalars(stmt)]

    def by_sample_id(self, sample_id: str) -> StoredSample | None:
        row = self._s.scalars(select(BatchSampleRow).where(BatchSampleRow.sample_id == sample_id)).first()
        return _sample(row) if row else None


class SqlAttachmentRepository:
    """Files attached to step fields; the bytes are a deferred column, read by content() only."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, attachment: StoredAttachment, content: bytes) -> StoredAttachment:
        row = StepAttachmentRow(**_columns(attachment), content=content)
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _attachment(row)

    def find(self, step_record_id: int, field_id: str, sha256: str) -> StoredAttachment | None:
        stmt = select(StepAttachmentRow).where(
            StepAttachmentRow.step_record_id == step_record_id,
            StepAttachmentRow.field_id == field_id,
            StepAttachmentRow.sha256 == sha256,
        )
        row = self._s.scalars(stmt).first()
        return _attachment(row) if row else None

    def for_batch(self, batch_pk: int) -> list[StoredAttachment]:
        stmt = select(StepAttachmentRow).where(StepAttachmentRow.batch_id == batch_pk).order_by(StepAttachmentRow.id)
        return [_attachment(r) for r in self._s.scalars(stmt)]

    def content(self, attachment_pk: int) -> bytes:
        content = self._s.scalars(
            select(StepAttachmentRow.content).where(StepAttachmentRow.id == attachment_pk)
        ).first()
        if content is None:
            raise NotFound(f"No attachment {attachment_pk}.")
        return bytes(content)
