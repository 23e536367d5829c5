"""Row ⇄ port translation for the controlled paper forms (OPS-02)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ebr.adapters.db.models import PaperFormRow
from ebr.app.ports.paper_forms import StoredPaperForm
from ebr.domain.errors import Conflict


def _form(row: PaperFormRow) -> StoredPaperForm:
    return StoredPaperForm(
        row.id, row.number, row.sequence, row.batch_id, row.step_record_id, row.issued_by, row.issued_at
    )


class SqlPaperFormRepository:
    """Issued forms; inserted once, never updated (the database refuses it too)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def next_sequence(self) -> int:
        return int(self._s.scalar(select(func.coalesce(func.max(PaperFormRow.sequence), 0))) or 0) + 1

    def add(self, form: StoredPaperForm) -> StoredPaperForm:
        row = PaperFormRow(
            number=form.number,
            sequence=form.sequence,
            batch_id=form.batch_id,
            step_record_id=form.step_record_id,
            issued_by=form.issued_by,
            issued_at=form.issued_at,
        )
        try:
            # A savepoint: two forms issued at the same instant race for one sequence number; the loser's
            # transaction stays usable (PostgreSQL) and the person is told to issue again.
            with self._s.begin_nested():
                self._s.add(row)
                self._s.flush()  # the id, for the audit entry and the print page
        except IntegrityError:
            raise Conflict("Another paper form took this number at the same moment: issue the form again.") from None
        return _form(row)

    def by_number(self, number: str) -> StoredPaperForm | None:
        row = self._s.scalars(select(PaperFormRow).where(PaperFormRow.number == number)).first()
        return _form(row) if row is not None else None

    def for_step(self, step_pk: int) -> list[StoredPaperForm]:
        rows = self._s.scalars(
            select(PaperFormRow).where(PaperFormRow.step_record_id == step_pk).order_by(PaperFormRow.id)
        )
        return [_form(r) for r in rows]
