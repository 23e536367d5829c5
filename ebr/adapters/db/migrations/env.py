"""Alembic environment: the schema exists only through these migrations."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ebr.adapters.db import models  # noqa: F401  # registers every table on Base.metadata
from ebr.adapters.db.base import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    from ebr.adapters.db.engine import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
else:
    _run(connection)
