"""The schema the Alembic migration builds is the schema the models describe, on both backends."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SAWarning

from ebr.adapters.db.base import Base
from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.migrate import current_revision
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import make_user

# lower(username) cannot be expressed as a plain column index; Alembic does not compare expression indexes.
EXPRESSION_INDEXES = {"uq_user_account_username_ci"}


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        # Column-level changes arrive as a list of tuples; table-level ones as a single tuple.
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def _is_expression_index(diff: tuple[Any, ...]) -> bool:
    return diff[0] in ("add_index", "remove_index") and diff[1].name in EXPRESSION_INDEXES


def test_the_migrated_schema_matches_the_models(owner_url: str) -> None:
    engine = make_engine(owner_url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite cannot reflect the expression index and says so: that index is checked separately below.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diffs = _flatten(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()

    assert [d for d in diffs if not _is_expression_index(d)] == []


def test_the_migrated_database_is_at_the_newest_revision(runtime: Runtime) -> None:
    from alembic.script import ScriptDirectory

    from ebr.adapters.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(str(runtime.engine.url))).get_heads()
    assert [current_revision(runtime.engine)] == heads


def test_the_case_insensitive_user_id_index_exists_in_the_migrated_schema(runtime: Runtime) -> None:
    if runtime.engine.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'uq_user_account_username_ci'"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_user_account_username_ci'"
    with runtime.engine.connect() as conn:
        definition = conn.execute(text(query)).scalar_one()

    assert "UNIQUE" in definition.upper()
    assert re.search(r"lower\(\(?username\)?", definition.lower()), definition


def test_user_accounts_cannot_be_deleted_through_the_application_connection(runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    refusal = "never deleted" if runtime.engine.dialect.name == "sqlite" else "permission denied"

    with pytest.raises(DBAPIError, match=refusal), runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": user.id})

    assert runtime.services.accounts.get(user.id).username == user.username


@pytest.mark.parametrize("table", ["user_account", "gmp_setting", "api_client"])
def test_on_postgresql_the_application_role_holds_no_delete_or_truncate_right_on_gmp_tables(
    runtime: Runtime, table: str
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: the triggers refuse deletion for everyone")
    with runtime.engine.connect() as conn:
        rights = {
            privilege: conn.execute(text(f"SELECT has_table_privilege('{table}', '{privilege}')")).scalar_one()
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
    assert rights == {"SELECT": True, "INSERT": True, "UPDATE": True, "DELETE": False, "TRUNCATE": False}


def test_on_postgresql_the_application_role_may_only_read_and_append_the_trail(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: the triggers make the trail append-only")
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "ebr_app"
        rights = {
            privilege: conn.execute(text(f"SELECT has_table_privilege('audit_entry', '{privilege}')")).scalar_one()
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
    assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}
