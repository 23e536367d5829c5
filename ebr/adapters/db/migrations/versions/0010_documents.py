"""documents

Revision ID: 0010
Revises: 0009
Rendered batch-record PDFs (release candidates, released and rejected records, addenda) with the SHA-256 of their
bytes. Append-only except the status, which moves once from current to superseded (PDF-06).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLE = "batch_document"
# Every column but the status: the bytes, their hash and what they were rendered from never change.
FROZEN = (
    "id",
    "batch_id",
    "kind",
    "revision",
    "record_hash",
    "pdf",
    "sha256",
    "size",
    "created_at",
    "created_by",
    "signature_id",
)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{TABLE}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", ebr.adapters.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        _fk("batch_id", "batch"),
        _fk("created_by", "user_account"),
        _fk("signature_id", "signature"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("batch_id", "kind", "revision", name="uq_batch_document_revision"),
    )
    op.create_index(op.f(f"ix_{TABLE}_batch_id"), TABLE, ["batch_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guard()
    else:
        _sqlite_guard()


def _postgresql_guard() -> None:
    """The application role may read, insert and change the status only; triggers refuse the rest for everyone."""
    role = context.config.attributes.get("app_role", "ebr_app")
    op.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OF {', '.join(FROZEN)} OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('append-only except the status')"
    )
    op.execute(
        "CREATE TRIGGER batch_document_status_once BEFORE UPDATE OF status ON batch_document FOR EACH ROW "
        "WHEN (OLD.status <> 'current' OR NEW.status <> 'superseded') "
        "EXECUTE FUNCTION ebr_refuse('the status only moves from current to superseded')"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('append-only')"
    )
    op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {role}")
    op.execute(f"GRANT UPDATE (status) ON {TABLE} TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def _sqlite_guard() -> None:
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE OF {', '.join(FROZEN)} ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only except the status: UPDATE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER batch_document_status_once BEFORE UPDATE OF status ON batch_document "
        "WHEN OLD.status <> 'current' OR NEW.status <> 'superseded' "
        "BEGIN SELECT RAISE(ABORT, 'batch_document status only moves from current to superseded'); END"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END"
    )


def downgrade() -> None:
    # Rendered records and their hashes are GMP evidence of what was reviewed and released.
    raise RuntimeError("The document table holds GMP records and cannot be downgraded.")
