"""procedure library

Revision ID: 0003
Revises: 0002
Procedure versions with their frozen bundle files (append-only) and the product → procedure mapping.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "procedure_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_procedure_version_created_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_version")),
        sa.UniqueConstraint("procedure_id", "version", name="uq_procedure_version_number"),
    )
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procedure_version_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_procedure_version_procedure_id"), ["procedure_id"], unique=False)

    op.create_table(
        "bundle_file",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["procedure_version.id"], name=op.f("fk_bundle_file_version_id_procedure_version")
        ),
        sa.PrimaryKeyConstraint("version_id", "path", name=op.f("pk_bundle_file")),
    )
    op.create_table(
        "product_procedure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["procedure_version.id"], name=op.f("fk_product_procedure_version_id_procedure_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_procedure")),
    )
    with op.batch_alter_table("product_procedure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_procedure_product_code"), ["product_code"], unique=False)
        batch_op.create_index(
            "uq_product_procedure_current",
            ["product_code"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    if op.get_bind().dialect.name == "postgresql":
        role = context.config.attributes.get("app_role", "ebr_app")
        op.execute(
            "CREATE TRIGGER bundle_file_append_only BEFORE UPDATE OR DELETE ON bundle_file "
            "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('append-only')"
        )
        op.execute(
            "CREATE TRIGGER procedure_version_no_delete BEFORE DELETE OR TRUNCATE ON procedure_version "
            "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('never deleted')"
        )
        op.execute(f"GRANT SELECT, INSERT ON bundle_file TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON procedure_version, product_procedure TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bundle_file_no_{verb.lower()} BEFORE {verb} ON bundle_file "
                f"BEGIN SELECT RAISE(ABORT, 'bundle_file is append-only: {verb} refused'); END"
            )
        op.execute(
            "CREATE TRIGGER procedure_version_no_delete BEFORE DELETE ON procedure_version "
            "BEGIN SELECT RAISE(ABORT, 'procedure_version rows are never deleted'); END"
        )


def downgrade() -> None:
    # Procedure versions are GMP records: this schema is never downgraded.
    raise RuntimeError("The procedure tables hold GMP records and cannot be downgraded.")
