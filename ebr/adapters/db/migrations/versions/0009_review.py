"""review

Revision ID: 0009
Revises: 0008
QA review by exception and release: acknowledgements of exceptions, audit-trail reviews, release and rejection
decisions, and addenda; all append-only, so a released record and what QA said about it never change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import ebr.adapters.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY = ("review_mark", "trail_review", "batch_decision", "batch_addendum")


def _dt() -> ebr.adapters.db.base.UtcDateTime:
    return ebr.adapters.db.base.UtcDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "review_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=False),
        sa.Column("marked_at", _dt(), nullable=False),
        _fk("review_mark", "batch_id", "batch"),
        _fk("review_mark", "marked_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_mark")),
    )
    op.create_index("ix_review_mark_batch_key", "review_mark", ["batch_id", "key"], unique=False)
    op.create_table(
        "trail_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", _dt(), nullable=False),
        _fk("trail_review", "batch_id", "batch"),
        _fk("trail_review", "requested_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trail_review")),
    )
    op.create_index(op.f("ix_trail_review_batch_id"), "trail_review", ["batch_id"], unique=False)
    _decisions()
    _guard()


def _decisions() -> None:
    op.create_table(
        "batch_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", _dt(), nullable=False),
        _fk("batch_decision", "batch_id", "batch"),
        _fk("batch_decision", "requested_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_decision")),
    )
    op.create_index(op.f("ix_batch_decision_batch_id"), "batch_decision", ["batch_id"], unique=False)
    op.create_table(
        "batch_addendum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", _dt(), nullable=False),
        _fk("batch_addendum", "batch_id", "batch"),
        _fk("batch_addendum", "added_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_addendum")),
    )
    op.create_index(op.f("ix_batch_addendum_batch_id"), "batch_addendum", ["batch_id"], unique=False)


def _guard() -> None:
    """Append-only on both databases; on PostgreSQL the application role may only read and insert."""
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
    # What QA acknowledged, reviewed, released and added are GMP records: this schema is never downgraded.
    raise RuntimeError("The review tables hold GMP records and cannot be downgraded.")
