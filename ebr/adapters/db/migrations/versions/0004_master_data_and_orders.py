"""master data and orders

Revision ID: 0004
Revises: 0003
Materials, material lots and containers copied from the ERP, and production orders: audited, never deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("material", "material_lot", "container", "production_order")


def upgrade() -> None:
    op.create_table(
        "material",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_material")),
    )
    op.create_table(
        "material_lot",
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=False),
        sa.Column("qc_status", sa.String(length=16), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_code"], ["material.code"], name=op.f("fk_material_lot_material_code_material")
        ),
        sa.PrimaryKeyConstraint("material_code", "lot_number", name=op.f("pk_material_lot")),
    )
    op.create_table(
        "container",
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_code", "lot_number"],
            ["material_lot.material_code", "material_lot.lot_number"],
            name="fk_container_lot_material_lot",
        ),
        sa.PrimaryKeyConstraint("barcode", name=op.f("pk_container")),
    )
    op.create_table(
        "production_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("planned_quantity", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("procedure_version_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_production_order_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["procedure_version_id"],
            ["procedure_version.id"],
            name=op.f("fk_production_order_procedure_version_id_procedure_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_order")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_production_order_batch_id")),
        sa.UniqueConstraint("order_number", name=op.f("uq_production_order_order_number")),
    )
    with op.batch_alter_table("production_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_production_order_product_code"), ["product_code"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        role = context.config.attributes.get("app_role", "ebr_app")
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('never deleted')"
            )
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {', '.join(TABLES)} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    else:
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )


def downgrade() -> None:
    # Master data copies and production orders are GMP records: this schema is never downgraded.
    raise RuntimeError("The master data and order tables hold GMP records and cannot be downgraded.")
