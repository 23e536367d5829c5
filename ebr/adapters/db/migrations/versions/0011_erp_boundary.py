"""erp boundary

Revision ID: 0011
Revises: 0010
The transactional outbox of ERP postings and its delivery attempts, inbound messages by client and message id, BOM
lines and planned dates of production orders, and an index that finds the audit entries of one object.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# What an outbox row was made from and the bytes it sends never change once enqueued (ERP-03).
OUTBOX_FROZEN = (
    "id",
    "aggregate",
    "batch_id",
    "kind",
    "revision",
    "idempotency_key",
    "content_type",
    "payload",
    "payload_json",
    "payload_sha256",
    "record_hash",
    "reverses",
    "created_at",
)
OUTBOX_MOVING = (
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_by",
    "claimed_until",
    "last_error",
    "last_status",
    "sent_at",
)
APPEND_ONLY = ("outbox_attempt", "inbound_message")


def _dt() -> ebr.adapters.db.base.UtcDateTime:
    return ebr.adapters.db.base.UtcDateTime(timezone=True)


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_index("ix_audit_entry_object", "audit_entry", ["object_type", "object_id"], unique=False)
    _outbox()
    _inbound()
    _orders()
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guard()
    else:
        _sqlite_guard()


def _outbox() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aggregate", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=True),
        sa.Column("reverses", sa.String(length=64), nullable=True),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _dt(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", _dt(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("sent_at", _dt(), nullable=True),
        _fk("outbox_message", "batch_id", "batch"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_outbox_message_aggregate", "outbox_message", ["aggregate", "id"], unique=False)
    op.create_table(
        "outbox_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("dispatcher", sa.String(length=64), nullable=False),
        sa.Column("started_at", _dt(), nullable=False),
        sa.Column("finished_at", _dt(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        _fk("outbox_attempt", "message_id", "outbox_message"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attempt")),
        sa.UniqueConstraint("message_id", "attempt", name="uq_outbox_attempt_number"),
    )
    op.create_index(op.f("ix_outbox_attempt_message_id"), "outbox_attempt", ["message_id"], unique=False)


def _inbound() -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", _dt(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        _fk("inbound_message", "client_id", "api_client"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
        sa.UniqueConstraint("client_id", "message_id", name="uq_inbound_message_client_key"),
    )


def _orders() -> None:
    op.create_table(
        "order_component",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        _fk("order_component", "order_id", "production_order"),
        _fk("order_component", "material_code", "material", "code"),
        sa.PrimaryKeyConstraint("order_id", "line", name=op.f("pk_order_component")),
    )
    # Plain ADD COLUMN: a batch-mode copy of the table on SQLite would drop its no-delete trigger.
    op.add_column("production_order", sa.Column("planned_start", _dt(), nullable=True))
    op.add_column("production_order", sa.Column("planned_end", _dt(), nullable=True))
    op.add_column(
        "production_order", sa.Column("source", sa.String(length=16), server_default="manual", nullable=False)
    )
    op.add_column("production_order", sa.Column("content_sha256", sa.String(length=64), nullable=True))


def _postgresql_guard() -> None:
    role = context.config.attributes.get("app_role", "ebr_app")
    op.execute(
        f"CREATE TRIGGER outbox_message_frozen BEFORE UPDATE OF {', '.join(OUTBOX_FROZEN)} OR DELETE ON outbox_message "
        "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('a posting is frozen at enqueue')"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('append-only')"
        )
    for table in (*APPEND_ONLY, "outbox_message"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('append-only')"
        )
        op.execute(f"GRANT SELECT, INSERT ON {table} TO {role}")
    op.execute(f"GRANT UPDATE ({', '.join(OUTBOX_MOVING)}) ON outbox_message TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON order_component TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def _sqlite_guard() -> None:
    op.execute(
        f"CREATE TRIGGER outbox_message_frozen BEFORE UPDATE OF {', '.join(OUTBOX_FROZEN)} ON outbox_message "
        "BEGIN SELECT RAISE(ABORT, 'outbox_message: a posting is frozen at enqueue'); END"
    )
    for table in (*APPEND_ONLY, "outbox_message"):
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END"
        )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END"
        )


def downgrade() -> None:
    # Postings and their attempts are the proof of what the ERP was told.
    raise RuntimeError("The outbox holds the record of ERP postings and cannot be downgraded.")
