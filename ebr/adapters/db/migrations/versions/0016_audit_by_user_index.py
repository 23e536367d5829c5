"""audit entries by user

Revision ID: 0016
Revises: 0015
The audit trail filtered by one user is found by index: without it a user with few entries makes the database scan
the whole trail, which grows with every batch.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_username_seq", "audit_entry", ["username", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entry_username_seq", table_name="audit_entry")
