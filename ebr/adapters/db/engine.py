"""Engine factory: SQLite with WAL, busy timeout and IMMEDIATE write transactions; PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the URL; SQLite gets the pysqlite transaction recipe (ARCHITECTURE.md pitfall 2)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (pysqlite savepoint recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two workers never both read then fail to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def database_now(engine: Engine) -> Any:
    """The database server's clock, for the clock-skew check (TIME-02)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.exec_driver_sql("SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00','now')").scalar_one()
        return conn.exec_driver_sql("SELECT now()").scalar_one()
