"""AUD-05: the audit trail is append-only for the application's own database connection and for its ORM sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ebr.adapters.db.audit_guard import AuditTrailImmutable
from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.models import AuditEntryRow, LoginAttemptRow
from ebr.adapters.db.uow import SqlAlchemyUnitOfWork
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import AuthenticationFailed
from tests.factories import make_user
from tests.fakes import FakeClock

TAMPERING = {
    "update": "UPDATE audit_entry SET new_value = 'forged' WHERE seq = 1",
    "update every row": "UPDATE audit_entry SET reason = ''",
    "delete": "DELETE FROM audit_entry WHERE seq = 1",
    "delete every row": "DELETE FROM audit_entry",
    "truncate": "TRUNCATE audit_entry",
}


def _refusal(dialect: str) -> str:
    # SQLite: the triggers abort; PostgreSQL: the application role was never granted the right.
    return "append-only" if dialect == "sqlite" else "permission denied"


def _trail(rt: Runtime) -> list[tuple[int, str | None, str]]:
    with rt.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(AuditEntryRow.seq, AuditEntryRow.new_value, AuditEntryRow.hash).order_by(AuditEntryRow.seq)
            )
        ]


@pytest.fixture
def trail_with_entries(runtime: Runtime) -> list[tuple[int, str | None, str]]:
    make_user(runtime, Role.ADMIN)
    make_user(runtime, Role.QA)
    before = _trail(runtime)
    assert len(before) >= 2
    return before


@pytest.mark.req("AUD-05")
@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_raw_sql_through_the_application_connection_cannot_change_or_remove_audit_entries(
    runtime: Runtime, trail_with_entries: list[tuple[int, str | None, str]], statement: str
) -> None:
    dialect = runtime.engine.dialect.name
    if dialect == "sqlite" and statement.startswith("TRUNCATE"):
        pytest.skip("SQLite has no TRUNCATE; its equivalent, an unqualified DELETE, is covered")

    with pytest.raises(DBAPIError, match=_refusal(dialect)), runtime.engine.begin() as conn:
        conn.exec_driver_sql(statement)

    assert _trail(runtime) == trail_with_entries
    assert runtime.services.trail.verify() == []


@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_on_postgresql_even_the_owner_is_stopped_by_the_append_only_triggers(
    runtime: Runtime, owner_url: str, trail_with_entries: list[tuple[int, str | None, str]], statement: str
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the owner and the application share one connection: covered above")
    owner = make_engine(owner_url)
    try:
        with pytest.raises(DBAPIError, match="refused: append-only"), owner.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        owner.dispose()

    assert _trail(runtime) == trail_with_entries


@pytest.mark.req("AUD-05")
def test_the_orm_guard_refuses_editing_an_audit_entry_in_a_session(
    runtime: Runtime, clock: FakeClock, trail_with_entries: list[tuple[int, str | None, str]]
) -> None:
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "test")) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        row = uow.session.get(AuditEntryRow, 1)
        assert row is not None
        row.new_value = "forged"
        with pytest.raises(AuditTrailImmutable, match="append-only"):
            uow.commit()

    assert _trail(runtime) == trail_with_entries


@pytest.mark.req("AUD-05")
def test_the_orm_guard_refuses_deleting_an_audit_entry_in_a_session(
    runtime: Runtime, clock: FakeClock, trail_with_entries: list[tuple[int, str | None, str]]
) -> None:
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "test")) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        uow.session.delete(uow.session.get(AuditEntryRow, 1))
        with pytest.raises(AuditTrailImmutable, match="never deleted"):
            uow.commit()

    assert _trail(runtime) == trail_with_entries


def test_login_attempts_are_append_only_too(runtime: Runtime, clock: FakeClock) -> None:
    user = make_user(runtime)
    with pytest.raises(AuthenticationFailed):
        runtime.services.auth.login(user.username, "wrong password", RequestInfo(address="10.0.0.9"))
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LoginAttemptRow)).scalar_one() == 1

    with pytest.raises(DBAPIError, match=_refusal(runtime.engine.dialect.name)), runtime.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM login_attempt")
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "test")) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        attempt = uow.session.scalars(select(LoginAttemptRow)).one()
        attempt.success = True
        with pytest.raises(AuditTrailImmutable):
            uow.commit()
