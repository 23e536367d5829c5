"""samples and attachments

Revision ID: 0012
Revises: 0011
Samples pulled at sampling steps, each with its own ID (211.188(b)(10)), and files attached to step fields (label
specimens, 211.188(b)(8)) with the SHA-256 of their bytes. Both are append-only: the database refuses every UPDATE
and DELETE, and the application role may only read and insert them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APPEND_ONLY = ("batch_sample", "step_attachment")


def _dt() -> ebr.adapters.db.base.UtcDateTime:
    return ebr.adapters.db.base.UtcDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    _batch_sample()
    _step_attachment()
    _guard()


def _batch_sample() -> None:
    op.create_table(
        "batch_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=2000), nullable=False),
        sa.Column("result_required", sa.Boolean(), nullable=False),
        sa.Column("taken_at", _dt(), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", _dt(), nullable=False),
        _fk("batch_sample", "batch_id", "batch"),
        _fk("batch_sample", "step_record_id", "step_record"),
        _fk("batch_sample", "taken_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_sample")),
        sa.UniqueConstraint("sample_id", name=op.f("uq_batch_sample_sample_id")),
    )
    op.create_index(op.f("ix_batch_sample_batch_id"), "batch_sample", ["batch_id"], unique=False)
    op.create_index(op.f("ix_batch_sample_step_record_id"), "batch_sample", ["step_record_id"], unique=False)


def _step_attachment() -> None:
    op.create_table(
        "step_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", _dt(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=200), nullable=False),
        _fk("step_attachment", "batch_id", "batch"),
        _fk("step_attachment", "step_record_id", "step_record"),
        _fk("step_attachment", "uploaded_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_attachment")),
        sa.UniqueConstraint("step_record_id", "field_id", "sha256", name="uq_step_attachment_file"),
    )
    op.create_index(op.f("ix_step_attachment_batch_id"), "step_attachment", ["batch_id"], unique=False)
    op.create_index(op.f("ix_step_attachment_step_record_id"), "step_attachment", ["step_record_id"], unique=False)


def _guard() -> None:
    """Append-only on both backends; on PostgreSQL the application role may only read and insert."""
    if op.get_bind().dialect.name == "postgresql":
        role = context.config.attributes.get("app_role", "ebr_app")
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('append-only')"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('append-only')"
            )
        op.execute(f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    # Samples and label specimens are GMP records of the batches that hold them.
    raise RuntimeError("The sample and attachment tables hold GMP records and cannot be downgraded.")
