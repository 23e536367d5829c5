"""product procedure assignments are never deleted

Revision ID: 0015
Revises: 0014
Which procedure version a product is made by is a GMP record (REC-04): on SQLite no trigger refused its DELETE,
and on PostgreSQL only the missing grant did. Both now refuse it like every other GMP table.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLE = "product_procedure"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE OR TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ebr_refuse('never deleted')"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are never deleted'); END"
        )


def downgrade() -> None:
    # The assignments are GMP records: this schema is never downgraded.
    raise RuntimeError("The product procedure assignments are GMP records and cannot be downgraded.")
