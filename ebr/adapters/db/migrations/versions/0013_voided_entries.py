"""voided entries

Revision ID: 0013
Revises: 0012
An entry of a step not yet signed may be voided with a reason: a new step_value row superseding it, marked by
its void reason (REC-02, REC-04). Nothing is deleted; step_value stays append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch-mode copy of step_value on SQLite would drop its append-only triggers.
    op.add_column("step_value", sa.Column("void_reason", sa.Text(), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    # Void reasons are part of the GMP record of the batches that hold them.
    raise RuntimeError("step_value.void_reason holds GMP records and cannot be downgraded.")
