"""equipment

Revision ID: 0008
Revises: 0007
Equipment instances and their logbook (never deleted), and the equipment evidence of execution: uses, scan checks
and dispensed material (append-only); a device value names its instance, tag, quality and how it was read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = ("equipment_use", "identity_check", "dispensing")
NEVER_DELETED = ("equipment", "equipment_log")
STEP_VALUE_COLUMNS = (
    ("equipment_code", sa.String(length=64)),
    ("tag", sa.String(length=64)),
    ("quality", sa.String(length=16)),
    ("device_detail", sa.Text()),
)


def _dt() -> ebr.adapters.db.base.UtcDateTime:
    return ebr.adapters.db.base.UtcDateTime(timezone=True)


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    _equipment()
    _equipment_log()
    _equipment_use()
    _identity_check()
    _dispensing()
    # Plain ADD COLUMN: a batch-mode copy of step_value on SQLite would drop its append-only triggers.
    for name, kind in STEP_VALUE_COLUMNS:
        op.add_column("step_value", sa.Column(name, kind, server_default=sa.text("''"), nullable=False))
    # The lots dispensed for a reconciled material, recorded with its balance (same reason: plain ADD COLUMN).
    op.add_column("material_reconciliation", sa.Column("lots", sa.Text(), server_default=sa.text("''"), nullable=False))
    _guard()


def _equipment() -> None:
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("clean_until", _dt(), nullable=True),
        sa.Column("calibration_due", sa.Date(), nullable=True),
        sa.Column("qualified_until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment")),
        sa.UniqueConstraint("code", name=op.f("uq_equipment_code")),
    )
    op.create_index(op.f("ix_equipment_class_id"), "equipment", ["class_id"], unique=False)


def _equipment_log() -> None:
    op.create_table(
        "equipment_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", _dt(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", _dt(), nullable=True),
        _fk("equipment_log", "equipment_code", "equipment", "code"),
        _fk("equipment_log", "requested_by", "user_account"),
        _fk("equipment_log", "signature_id", "signature"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_log")),
    )
    op.create_index("ix_equipment_log_equipment", "equipment_log", ["equipment_code", "id"], unique=False)


def _equipment_use() -> None:
    op.create_table(
        "equipment_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment_code", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.String(length=100), nullable=False),
        sa.Column("used_at", _dt(), nullable=False),
        sa.Column("used_by", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=200), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _fk("equipment_use", "batch_id", "batch"),
        _fk("equipment_use", "equipment_code", "equipment", "code"),
        _fk("equipment_use", "step_record_id", "step_record"),
        _fk("equipment_use", "used_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_use")),
    )
    op.create_index(op.f("ix_equipment_use_batch_id"), "equipment_use", ["batch_id"], unique=False)
    op.create_index(op.f("ix_equipment_use_step_record_id"), "equipment_use", ["step_record_id"], unique=False)
    op.create_index("ix_equipment_use_equipment", "equipment_use", ["equipment_code", "id"], unique=False)


def _identity_check() -> None:
    op.create_table(
        "identity_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("checked_at", _dt(), nullable=False),
        sa.Column("checked_by", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=200), nullable=False),
        sa.Column("deviation_id", sa.Integer(), nullable=True),
        _fk("identity_check", "batch_id", "batch"),
        _fk("identity_check", "checked_by", "user_account"),
        _fk("identity_check", "deviation_id", "deviation"),
        _fk("identity_check", "step_record_id", "step_record"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_check")),
    )
    op.create_index(op.f("ix_identity_check_batch_id"), "identity_check", ["batch_id"], unique=False)
    op.create_index(op.f("ix_identity_check_step_record_id"), "identity_check", ["step_record_id"], unique=False)


def _dispensing() -> None:
    op.create_table(
        "dispensing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=False),
        sa.Column("source_container", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.String(length=64), nullable=False) for name in ("tare", "gross", "net")),
        sa.Column("unit", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.String(length=64), nullable=False) for name in ("target", "tolerance")),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.Column("equipment_code", sa.String(length=64), nullable=False),
        sa.Column("dispensed_at", _dt(), nullable=False),
        sa.Column("dispensed_by", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=200), nullable=False),
        sa.Column("deviation_id", sa.Integer(), nullable=True),
        _fk("dispensing", "batch_id", "batch"),
        _fk("dispensing", "deviation_id", "deviation"),
        _fk("dispensing", "dispensed_by", "user_account"),
        _fk("dispensing", "step_record_id", "step_record"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispensing")),
    )
    op.create_index(op.f("ix_dispensing_batch_id"), "dispensing", ["batch_id"], unique=False)
    op.create_index(op.f("ix_dispensing_step_record_id"), "dispensing", ["step_record_id"], unique=False)
    op.create_index(op.f("ix_dispensing_label"), "dispensing", ["label"], unique=False)
    op.create_index("ix_dispensing_lot", "dispensing", ["material_code", "lot_number"], unique=False)


def _guard() -> None:
    """Append-only evidence, never-deleted master data and logbook, and the application role's grants."""
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
        for table in NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('never deleted')"
            )
        op.execute(f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {', '.join(NEVER_DELETED)} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
    for table in NEVER_DELETED:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
        )


def downgrade() -> None:
    # Equipment records and the evidence of its use are GMP records: this schema is never downgraded.
    raise RuntimeError("The equipment tables hold GMP records and cannot be downgraded.")
