"""ACC-04 (database part): user ids are unique case-insensitively even for raw SQL that bypasses the services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ebr.adapters.db.models import UserRow
from ebr.bootstrap import Runtime

USERS = UserRow.__table__
AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _raw_user(username: str) -> dict[str, object]:
    return {
        "username": username,
        "full_name": "John Doe",
        "roles": "operator",
        "active": True,
        "must_change_password": True,
        "password_hash": "x",
        "password_history": "[]",
        "failed_attempts": 0,
        "created_at": AT,
    }


@pytest.mark.req("ACC-04")
@pytest.mark.parametrize("second", ["JDoe", "JDOE", "jDoe"])
def test_a_raw_insert_of_a_user_id_differing_only_in_case_fails_at_the_database(runtime: Runtime, second: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(insert(USERS).values(**_raw_user("jdoe")))

    with pytest.raises(IntegrityError), runtime.engine.begin() as conn:
        conn.execute(insert(USERS).values(**_raw_user(second)))

    with runtime.engine.connect() as conn:
        assert conn.execute(select(USERS.c.username).where(func.lower(USERS.c.username) == "jdoe")).all() == [("jdoe",)]


def test_distinct_user_ids_can_be_inserted_side_by_side(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(insert(USERS).values(**_raw_user("jdoe")))
        conn.execute(insert(USERS).values(**_raw_user("jdoe2")))

    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(USERS)).scalar_one() == 2
