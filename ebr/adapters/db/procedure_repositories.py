"""Row ⇄ domain translation for procedure versions and their bundles."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import BundleFileRow, ProcedureVersionRow, ProductProcedureRow
from ebr.app.ports import StoredVersion
from ebr.domain.errors import NotFound
from ebr.domain.procedure import ProcedureBundle, VersionStatus


def _version(r: ProcedureVersionRow) -> StoredVersion:
    return StoredVersion(
        r.id,
        r.procedure_id,
        r.version,
        r.title,
        r.content_hash,
        r.status,
        r.created_by,
        r.created_at,
        r.effective_from,
        r.status_changed_at,
        r.status_reason,
    )


class SqlProcedureRepository:
    """Procedure versions."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, version_id: int) -> ProcedureVersionRow:
        row = self._s.get(ProcedureVersionRow, version_id)
        if row is None:
            raise NotFound(f"No procedure version {version_id}.")
        return row

    def add(self, bundle: ProcedureBundle, created_by: int | None, at: datetime) -> StoredVersion:
        last = self._s.scalar(
            select(func.max(ProcedureVersionRow.version)).where(ProcedureVersionRow.procedure_id == bundle.procedure_id)
        )
        row = ProcedureVersionRow(
            procedure_id=bundle.procedure_id,
            version=(last or 0) + 1,
            title=bundle.title,
            content_hash=bundle.content_hash,
            status=str(VersionStatus.DRAFT),
            created_by=created_by,
            created_at=at,
            status_changed_at=at,
        )
        self._s.add(row)
        self._s.flush()  # the id keys the bundle files
        for path, content in sorted(bundle.files.items()):
            self._s.add(
                BundleFileRow(version_id=row.id, path=path, content=content, sha256=hashlib.sha256(content).hexdigest())
            )
        return _version(row)

    def get(self, version_id: int) -> StoredVersion:
        return _version(self._row(version_id))

    def bundle(self, version_id: int) -> ProcedureBundle:
        row = self._row(version_id)
        files = {
            f.path: f.content
            for f in self._s.scalars(select(BundleFileRow).where(BundleFileRow.version_id == version_id))
        }
        return ProcedureBundle(row.procedure_id, row.title, files, row.content_hash)

    def versions(self, procedure_id: str | None = None) -> list[StoredVersion]:
        stmt = select(ProcedureVersionRow).order_by(ProcedureVersionRow.procedure_id, ProcedureVersionRow.version)
        if procedure_id is not None:
            stmt = stmt.where(ProcedureVersionRow.procedure_id == procedure_id)
        return [_version(r) for r in self._s.scalars(stmt)]

    def by_hash(self, procedure_id: str, content_hash: str) -> StoredVersion | None:
        row = self._s.scalars(
            select(ProcedureVersionRow).where(
                ProcedureVersionRow.procedure_id == procedure_id, ProcedureVersionRow.content_hash == content_hash
            )
        ).first()
        return _version(row) if row else None

    def set_status(
        self, version_id: int, status: str, at: datetime, reason: str, effective_from: datetime | None = None
    ) -> None:
        row = self._row(version_id)
        row.status, row.status_changed_at, row.status_reason = status, at, reason
        if effective_from is not None:
            row.effective_from = effective_from

    def map_product(self, product_code: str, version_id: int, at: datetime) -> None:
        for current in self._s.scalars(
            select(ProductProcedureRow).where(
                ProductProcedureRow.product_code == product_code, ProductProcedureRow.ended_at.is_(None)
            )
        ):
            current.ended_at = at
        self._s.flush()  # end the current mapping before the unique index sees the new one
        self._s.add(ProductProcedureRow(product_code=product_code, version_id=version_id, effective_from=at))

    def product_version(self, product_code: str) -> StoredVersion | None:
        row = self._s.scalars(
            select(ProductProcedureRow).where(
                ProductProcedureRow.product_code == product_code, ProductProcedureRow.ended_at.is_(None)
            )
        ).first()
        return self.get(row.version_id) if row else None

    def products(self) -> list[tuple[str, StoredVersion]]:
        rows = self._s.scalars(
            select(ProductProcedureRow)
            .where(ProductProcedureRow.ended_at.is_(None))
            .order_by(ProductProcedureRow.product_code)
        )
        return [(r.product_code, self.get(r.version_id)) for r in rows]
