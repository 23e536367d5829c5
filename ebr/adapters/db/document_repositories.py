"""Row ⇄ port translation of the rendered batch-record PDFs."""

from __future__ import annotations

from sqlalchemy import RowMapping, func, select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import BatchDocumentRow
from ebr.app.ports.documents import CURRENT, SUPERSEDED, NewDocument, StoredDocument
from ebr.domain.errors import NotFound

# Every column but the bytes: listing documents never loads a PDF.
_META = (
    BatchDocumentRow.id,
    BatchDocumentRow.batch_id,
    BatchDocumentRow.kind,
    BatchDocumentRow.revision,
    BatchDocumentRow.record_hash,
    BatchDocumentRow.sha256,
    BatchDocumentRow.size,
    BatchDocumentRow.created_at,
    BatchDocumentRow.created_by,
    BatchDocumentRow.status,
    BatchDocumentRow.signature_id,
)


def _stored(row: RowMapping) -> StoredDocument:
    return StoredDocument(**row)  # the columns of _META carry the dataclass's field names


class SqlDocumentRepository:
    """Rendered PDFs: inserted once; only the status of a current one moves to superseded."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, document: NewDocument) -> StoredDocument:
        last = self._s.scalar(
            select(func.max(BatchDocumentRow.revision)).where(
                BatchDocumentRow.batch_id == document.batch_id, BatchDocumentRow.kind == document.kind
            )
        )
        row = BatchDocumentRow(
            batch_id=document.batch_id,
            kind=document.kind,
            revision=(last or 0) + 1,
            record_hash=document.record_hash,
            pdf=document.pdf,
            sha256=document.sha256,
            size=len(document.pdf),
            created_at=document.created_at,
            created_by=document.created_by,
            status=CURRENT,
            signature_id=document.signature_id,
        )
        self._s.add(row)
        self._s.flush()  # the id names the document to the caller and in its audit entry
        return self.get(row.id)

    def get(self, document_pk: int) -> StoredDocument:
        found = self._s.execute(select(*_META).where(BatchDocumentRow.id == document_pk)).one_or_none()
        if found is None:
            raise NotFound(f"No document {document_pk}.")
        return _stored(found._mapping)

    def content(self, document_pk: int) -> bytes:
        pdf = self._s.scalar(select(BatchDocumentRow.pdf).where(BatchDocumentRow.id == document_pk))
        if pdf is None:
            raise NotFound(f"No document {document_pk}.")
        return bytes(pdf)

    def current(self, batch_pk: int, kind: str) -> StoredDocument | None:
        query = select(*_META).where(
            BatchDocumentRow.batch_id == batch_pk, BatchDocumentRow.kind == kind, BatchDocumentRow.status == CURRENT
        )
        found = self._s.execute(query.order_by(BatchDocumentRow.revision.desc()).limit(1)).one_or_none()
        return _stored(found._mapping) if found is not None else None

    def for_batch(self, batch_pk: int) -> list[StoredDocument]:
        query = select(*_META).where(BatchDocumentRow.batch_id == batch_pk)
        return [_stored(r._mapping) for r in self._s.execute(query.order_by(BatchDocumentRow.id))]

    def supersede(self, document_pk: int) -> None:
        row = self._s.get(BatchDocumentRow, document_pk)
        if row is None:
            raise NotFound(f"No document {document_pk}.")
        row.status = SUPERSEDED

    def ids(self) -> list[int]:
        return list(self._s.scalars(select(BatchDocumentRow.id).order_by(BatchDocumentRow.id)))
