"""batches

Revision ID: 0005
Revises: 0004
Batches pinned to their procedure version, their engine cursor and their step records: never deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("batch", "batch_engine_state", "step_record")
NEVER_DELETED = ("batch", "step_record")


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("procedure_version_id", sa.Integer(), nullable=False),
        sa.Column("procedure_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["production_order.id"], name=op.f("fk_batch_order_id_production_order")),
        sa.ForeignKeyConstraint(
            ["procedure_version_id"],
            ["procedure_version.id"],
            name=op.f("fk_batch_procedure_version_id_procedure_version"),
        ),
        sa.ForeignKeyConstraint(["started_by"], ["user_account.id"], name=op.f("fk_batch_started_by_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_batch_batch_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_batch_order_id")),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_product_code"), ["product_code"], unique=False)

    op.create_table(
        "batch_engine_state",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("state_sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_batch_engine_state_batch_id_batch")),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_engine_state")),
    )
    op.create_table(
        "step_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("engine_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("became_ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_step_record_batch_id_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_record")),
        sa.UniqueConstraint("batch_id", "process_id", "step_id", "iteration", name="uq_step_record_pass"),
    )
    with op.batch_alter_table("step_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_record_batch_id"), ["batch_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        role = context.config.attributes.get("app_role", "ebr_app")
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('never deleted')"
            )
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {', '.join(TABLES)} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    else:
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )


def downgrade() -> None:
    # Batches and their step records are GMP records: this schema is never downgraded.
    raise RuntimeError("The batch tables hold GMP records and cannot be downgraded.")
