"""incident correlation and paper forms

Revision ID: 0014
Revises: 0013
An incident names the request or act it came from (a correlation id) and counts how often the same fault recurred
(OPS-01). During a system outage a step is recorded on a controlled, numbered paper form issued in advance; an entry
transcribed from it names the form (OPS-02). Issued forms are append-only, like the values that name them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLE = "paper_form"


def _dt() -> ebr.adapters.db.base.UtcDateTime:
    return ebr.adapters.db.base.UtcDateTime(timezone=True)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{TABLE}_{column}_{target}"))


def upgrade() -> None:
    # Plain ADD COLUMN: a batch-mode copy on SQLite would drop step_value's append-only triggers.
    op.add_column("incident", sa.Column("correlation_id", sa.String(64), server_default=sa.text("''"), nullable=False))
    op.add_column("incident", sa.Column("occurrences", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.add_column("incident", sa.Column("last_seen_at", _dt(), nullable=True))
    op.add_column("step_value", sa.Column("paper_form", sa.String(32), server_default=sa.text("''"), nullable=False))
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step_record_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=False),
        sa.Column("issued_at", _dt(), nullable=False),
        _fk("batch_id", "batch"),
        _fk("step_record_id", "step_record"),
        _fk("issued_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("number", name=op.f(f"uq_{TABLE}_number")),
        sa.UniqueConstraint("sequence", name=op.f(f"uq_{TABLE}_sequence")),
    )
    op.create_index(op.f(f"ix_{TABLE}_step_record_id"), TABLE, ["step_record_id"], unique=False)
    _guard()


def _guard() -> None:
    """Append-only on both backends; on PostgreSQL the application role may only read and insert."""
    if op.get_bind().dialect.name == "postgresql":
        role = context.config.attributes.get("app_role", "ebr_app")
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION ebr_refuse('append-only')"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('append-only')"
        )
        op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {verb} refused'); END"
        )


def downgrade() -> None:
    # Issued paper forms and the entries transcribed from them are GMP records of their batches.
    raise RuntimeError("paper_form and step_value.paper_form hold GMP records and cannot be downgraded.")
