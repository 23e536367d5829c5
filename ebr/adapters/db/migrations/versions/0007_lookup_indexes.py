"""lookup indexes

Revision ID: 0007
Revises: 0006
The earlier signatures of an object and the open steps of a batch are found by index, so their cost does not
grow with the number of signatures on the site or of steps in the batch.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_signature_object", "signature", ["object_type", "object_id"], unique=False)
    op.create_index("ix_step_record_batch_status", "step_record", ["batch_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_step_record_batch_status", table_name="step_record")
    op.drop_index("ix_signature_object", table_name="signature")
