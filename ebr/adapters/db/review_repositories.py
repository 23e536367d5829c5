"""Row ⇄ port translation for QA review and release, and the read side of a batch review."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, String, and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ebr.adapters.db.models import (
    AuditEntryRow,
    BatchAddendumRow,
    BatchDecisionRow,
    ReviewMarkRow,
    SignatureRow,
    TrailReviewRow,
)

# The one translation of a stored entry, with its check of the unsealed batch column: shared, not copied.
from ebr.adapters.db.repositories import _entry as audit_entry
from ebr.app.ports.review import Addendum, BatchDecision, ReviewMark, SignatureRef, TrailReview
from ebr.domain.audit import AuditEntry
from ebr.domain.errors import NotFound

T = TypeVar("T")
CHUNK = 500  # ids per IN list: far below every database's limit on bound parameters


def _to(cls: type[T], row: Any) -> T:
    """The port dataclass with the row's columns of the same names."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def _columns(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "id"}


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class SqlReviewRepository:
    """Review marks and audit-trail reviews (append-only) and the evidence queries of a review."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _add(self, row: Any, cls: type[T]) -> T:
        self._s.add(row)
        self._s.flush()  # the id names the new row to the caller and, for a signed one, to its signature
        return _to(cls, row)

    def add_mark(self, mark: ReviewMark) -> ReviewMark:
        return self._add(ReviewMarkRow(**_columns(mark)), ReviewMark)

    def marks(self, batch_pk: int) -> list[ReviewMark]:
        rows = self._s.scalars(select(ReviewMarkRow).where(ReviewMarkRow.batch_id == batch_pk).order_by("id"))
        return [_to(ReviewMark, r) for r in rows]

    def add_trail_review(self, review: TrailReview) -> TrailReview:
        return self._add(TrailReviewRow(**_columns(review)), TrailReview)

    def trail_review(self, review_pk: int) -> TrailReview:
        row = self._s.get(TrailReviewRow, review_pk)
        if row is None:
            raise NotFound(f"No audit-trail review {review_pk}.")
        return _to(TrailReview, row)

    def trail_reviews(self, batch_pk: int) -> list[TrailReview]:
        rows = self._s.scalars(select(TrailReviewRow).where(TrailReviewRow.batch_id == batch_pk).order_by("id"))
        return [_to(TrailReview, r) for r in rows]

    def trail(self, objects: Mapping[str, Collection[str]]) -> list[AuditEntry]:
        """Every entry about the named objects (type → ids), oldest first."""
        conditions: list[ColumnElement[bool]] = [
            and_(AuditEntryRow.object_type == object_type, among)
            for object_type, ids in sorted(objects.items())
            for among in self._among(ids)
        ]
        if not conditions:
            return []
        # Plain rows, not ORM objects: a batch's trail is thousands of entries, read only, and building and
        # identity-mapping an object per entry was most of the review page's time.
        query = select(*AuditEntryRow.__table__.columns).where(or_(*conditions)).order_by(AuditEntryRow.seq)
        return [audit_entry(cast(AuditEntryRow, r)) for r in self._s.execute(query)]

    def _among(self, ids: Collection[str]) -> list[ColumnElement[bool]]:
        # PostgreSQL takes a batch's thousands of ids as one array parameter: a bound parameter per id made the
        # driver's parsing of the statement cost more than the query itself.
        if self._s.get_bind().dialect.name == "postgresql":
            return (
                [AuditEntryRow.object_id == any_(bindparam(None, sorted(set(ids)), type_=ARRAY(String)))] if ids else []
            )
        return [AuditEntryRow.object_id.in_(chunk) for chunk in _chunks(ids)]

    def signatures(self, object_type: str, object_ids: Collection[str]) -> list[SignatureRef]:
        """The signatures on these objects of one type, oldest first (found by the signature object index)."""
        found: list[SignatureRef] = []
        for chunk in _chunks(object_ids):
            query = select(SignatureRow).where(
                SignatureRow.object_type == object_type, SignatureRow.object_id.in_(chunk)
            )
            found.extend(_to(SignatureRef, r) for r in self._s.scalars(query))
        return sorted(found, key=lambda s: s.id)


class SqlDecisionRepository:
    """Release and rejection requests and addenda (append-only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _add(self, row: Any, cls: type[T]) -> T:
        self._s.add(row)
        self._s.flush()  # the id is the object id its signature names
        return _to(cls, row)

    def _one(self, row_class: type[Any], pk: int, cls: type[T], what: str) -> T:
        row = self._s.get(row_class, pk)
        if row is None:
            raise NotFound(f"No {what} {pk}.")
        return _to(cls, row)

    def _of_batch(self, row_class: Any, batch_pk: int, cls: type[T]) -> list[T]:
        rows = self._s.scalars(select(row_class).where(row_class.batch_id == batch_pk).order_by("id"))
        return [_to(cls, r) for r in rows]

    def add_decision(self, decision: BatchDecision) -> BatchDecision:
        return self._add(BatchDecisionRow(**_columns(decision)), BatchDecision)

    def decision(self, decision_pk: int) -> BatchDecision:
        return self._one(BatchDecisionRow, decision_pk, BatchDecision, "release decision")

    def decisions(self, batch_pk: int) -> list[BatchDecision]:
        return self._of_batch(BatchDecisionRow, batch_pk, BatchDecision)

    def add_addendum(self, addendum: Addendum) -> Addendum:
        return self._add(BatchAddendumRow(**_columns(addendum)), Addendum)

    def addendum(self, addendum_pk: int) -> Addendum:
        return self._one(BatchAddendumRow, addendum_pk, Addendum, "addendum")

    def addenda(self, batch_pk: int) -> list[Addendum]:
        return self._of_batch(BatchAddendumRow, batch_pk, Addendum)
