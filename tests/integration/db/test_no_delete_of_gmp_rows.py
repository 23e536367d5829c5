"""At database level the application cannot DELETE from any GMP table (REC-04): on PostgreSQL its role holds no
DELETE grant, on SQLite (no roles) a BEFORE DELETE trigger aborts. Every mapped table is listed: a table that may
lose rows is in an explicit allow-list with its reason, so a new table is refused until someone decides."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    TypeDecorator,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError

from ebr.adapters.db.base import Base
from ebr.adapters.db.gmp import GMP_TABLES, IMMUTABLE_TABLES, NOT_GMP
from ebr.bootstrap import Runtime

# Reviewed by hand, not derived from the code under test: what the application itself deletes, and why.
DELETED_BY_THE_APPLICATION = {
    "order_component": "a planned order's BOM lines are the ERP's; a change before the batch starts replaces them",
    "rate_limit": "throttling counters expire; refusals are audited as failed attempts",
}
# Without roles on SQLite, tables that hold no GMP record stay deletable there; PostgreSQL refuses them to the role.
NOT_GMP_UNGUARDED_ON_SQLITE = {
    "alert",
    "audit_head",
    "batch_engine_state",
    "incident",
    "signing_challenge",
    "system_state",
    "user_session",
}
TABLES = sorted(Base.metadata.tables)


def _gmp_tables() -> list[str]:
    """Tables holding GMP records, including the append-only logs and the audit trail."""
    registry = {name for name, spec in GMP_TABLES.items() if not spec.deletable}
    return sorted(registry | IMMUTABLE_TABLES)


def test_every_table_is_either_protected_from_delete_or_on_the_reviewed_allow_list() -> None:
    deletable = {name for name, spec in GMP_TABLES.items() if spec.deletable}
    assert deletable <= set(DELETED_BY_THE_APPLICATION)
    assert set(NOT_GMP) - IMMUTABLE_TABLES >= NOT_GMP_UNGUARDED_ON_SQLITE
    unclassified = set(TABLES) - set(_gmp_tables()) - set(DELETED_BY_THE_APPLICATION) - NOT_GMP_UNGUARDED_ON_SQLITE
    assert unclassified == set()
    assert len(_gmp_tables()) >= 40


def _placeholder(column: Column[object]) -> object:
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Float | Numeric):
        return 1
    if isinstance(kind, DateTime | Date):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(kind, LargeBinary):
        return b"x"
    return "1"


def _plant_one_row_each(owner_url: str, tables: list[str]) -> None:
    """One row of placeholder values per table (SQLite, references unchecked): a trigger fires only for a row."""
    engine = create_engine(owner_url)  # the plain driver: foreign keys are not enforced on its connections
    try:
        with engine.begin() as conn:
            for name in tables:
                table = Base.metadata.tables[name]
                if conn.execute(select(func.count()).select_from(table)).scalar_one() == 0:
                    conn.execute(insert(table).values({c.name: _placeholder(c) for c in table.columns}))
    finally:
        engine.dispose()


def _delete_refusal(runtime: Runtime, table: str) -> str:
    """The database's refusal of an unqualified DELETE, or '' when it went through (rolled back either way)."""
    with runtime.engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(f"DELETE FROM {table}")  # table names from the mapped metadata
        except DBAPIError as exc:
            return str(exc.orig)
        finally:
            transaction.rollback()
    return ""


@pytest.mark.req("REC-04")
def test_a_delete_through_the_application_connection_fails_for_every_gmp_table(
    runtime: Runtime, owner_url: str
) -> None:
    dialect = runtime.engine.dialect.name
    if dialect == "sqlite":
        _plant_one_row_each(owner_url, _gmp_tables())
    expected = re.compile("permission denied" if dialect == "postgresql" else "never deleted|append-only")

    refusals = {table: _delete_refusal(runtime, table) for table in _gmp_tables()}

    assert {t: why for t, why in refusals.items() if not expected.search(why)} == {}
    if dialect == "sqlite":
        with runtime.engine.connect() as conn:
            counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in _gmp_tables()}
        assert set(counts.values()) == {1}  # nothing went


@pytest.mark.req("REC-04")
def test_on_sqlite_the_unguarded_tables_are_exactly_the_allow_listed_ones(runtime: Runtime, owner_url: str) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL: the grants are compared below")
    _plant_one_row_each(owner_url, TABLES)
    unguarded = {t for t in TABLES if not _delete_refusal(runtime, t)}
    assert unguarded == set(DELETED_BY_THE_APPLICATION) | NOT_GMP_UNGUARDED_ON_SQLITE


@pytest.mark.req("REC-04")
def test_on_postgresql_the_application_role_may_delete_only_from_the_allow_listed_tables(
    runtime: Runtime,
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: the triggers are proven table by table above")
    with runtime.engine.connect() as conn:
        granted = {
            t
            for t in TABLES
            if conn.exec_driver_sql(f"SELECT has_table_privilege(current_user, '{t}', 'DELETE')").scalar_one()
        }
    assert granted == set(DELETED_BY_THE_APPLICATION)
