"""TIME-01 and TIME-02: timestamps are stored zone-aware in UTC; clock anomalies are flagged and alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, insert, inspect, select
from sqlalchemy.exc import StatementError

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.base import Base, UtcDateTime
from ebr.adapters.db.models import AlertRow, AuditEntryRow, UserRow
from ebr.app.context import Actor
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import Action
from tests.factories import make_user
from tests.fakes import FakeClock

CEST = timezone(timedelta(hours=2), "CEST")


def _datetime_columns() -> list[tuple[str, str, object]]:
    found = []
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, DateTime | UtcDateTime) or column.type.python_type is datetime:
                found.append((table.name, column.name, column.type))
    return found


@pytest.mark.req("TIME-01")
def test_every_datetime_column_of_every_mapped_table_is_a_zone_aware_utc_column() -> None:
    columns = _datetime_columns()
    assert len(columns) >= 10, "the scan must see the timestamp columns"
    plain = [f"{t}.{c}" for t, c, kind in columns if not isinstance(kind, UtcDateTime)]
    assert plain == [], "every timestamp column must use UtcDateTime"
    assert all(kind.impl.timezone for _, _, kind in columns if isinstance(kind, UtcDateTime))


@pytest.mark.req("TIME-01")
def test_on_postgresql_every_timestamp_column_is_created_with_time_zone(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no time zone type: UtcDateTime stores UTC wall time and re-attaches UTC on reading")
    inspector = inspect(runtime.engine)
    for table, column, _ in _datetime_columns():
        [reflected] = [c for c in inspector.get_columns(table) if c["name"] == column]
        assert reflected["type"].timezone, f"{table}.{column} is timestamp without time zone"


@pytest.mark.req("TIME-01")
def test_timestamps_written_in_another_zone_read_back_as_the_same_instant_in_utc(
    runtime: Runtime, clock: FakeClock
) -> None:
    local = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=CEST)
    clock.set(local)

    user = make_user(runtime, Role.OPERATOR)

    read = runtime.services.accounts.get(user.id)
    [entry] = runtime.services.trail.query(AuditFilter(object_type="user", object_id=str(user.id)))
    with runtime.engine.connect() as conn:
        raw_created = conn.execute(select(UserRow.created_at).where(UserRow.id == user.id)).scalar_one()
        raw_entry_at = conn.execute(select(AuditEntryRow.at).where(AuditEntryRow.seq == entry.seq)).scalar_one()
    for moment in (read.created_at, read.password_changed_at, entry.draft.at, raw_created, raw_entry_at):
        assert moment is not None
        assert moment.utcoffset() == timedelta(0)
        assert moment.tzinfo == UTC
        assert moment == local
        assert moment.hour == 1, "stored as the UTC wall time"


@pytest.mark.req("TIME-01")
def test_a_naive_datetime_is_refused_before_it_reaches_the_database(runtime: Runtime) -> None:
    naive = datetime(2026, 11, 25, 9, 0, 0)

    with pytest.raises(StatementError, match="naive datetime refused") as refused, runtime.engine.begin() as conn:
        conn.execute(insert(AlertRow).values(kind="test", message="naive", at=naive))

    assert isinstance(refused.value.orig, ValueError)
    with runtime.engine.connect() as conn:
        assert conn.execute(select(AlertRow.id)).all() == []


@pytest.mark.req("TIME-01")
def test_a_naive_clock_reading_cannot_enter_the_audit_trail(runtime: Runtime, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 25, 9, 0, 0))

    with pytest.raises((StatementError, ValueError), match="naive datetime"):
        make_user(runtime, Role.OPERATOR)

    assert runtime.services.trail.query(AuditFilter()) == []


@pytest.mark.req("TIME-02")
def test_a_backward_clock_step_flags_the_new_entry_and_alerts(
    runtime: Runtime, clock: FakeClock, alerts: RecordingAlertSink
) -> None:
    first = make_user(runtime, Role.OPERATOR)
    before = runtime.services.trail.query(AuditFilter(), None)
    assert not any(e.clock_anomaly for e in before)
    earlier = clock.now() - timedelta(hours=1)
    clock.set(earlier)

    runtime.services.accounts.set_roles(Actor.system(), first.id, frozenset({Role.SUPERVISOR}), "promoted")
    runtime.services.alerts.deliver_pending()

    [stepped] = runtime.services.trail.query(AuditFilter(), None)[len(before) :]
    assert stepped.clock_anomaly
    assert stepped.draft.at == earlier
    [clock_alert] = [a for a in alerts.received if a.kind == "clock"]
    assert f"audit entry {stepped.seq}" in clock_alert.message
    assert runtime.services.trail.verify() == [], "a flagged entry is still a valid entry"


def test_entries_after_a_backward_step_stay_flagged_until_the_clock_passes_the_latest_entry(
    runtime: Runtime, clock: FakeClock
) -> None:
    start = clock.now()
    user = make_user(runtime, Role.OPERATOR)
    created = len(runtime.services.trail.query(AuditFilter(), None))
    clock.set(start - timedelta(minutes=10))
    runtime.services.accounts.set_roles(Actor.system(), user.id, frozenset({Role.SUPERVISOR}), "promoted")
    clock.set(start - timedelta(minutes=5))
    runtime.services.accounts.set_roles(Actor.system(), user.id, frozenset({Role.QA}), "moved to QA")
    clock.set(start + timedelta(minutes=1))
    runtime.services.accounts.set_roles(Actor.system(), user.id, frozenset({Role.ENGINEER}), "moved to engineering")

    flags = [e.clock_anomaly for e in runtime.services.trail.query(AuditFilter(), None)]
    assert flags == [False] * created + [True, True, False]


@pytest.mark.req("TIME-02")
def test_a_large_skew_against_the_database_clock_is_reported_and_alerted(
    runtime: Runtime, clock: FakeClock, alerts: RecordingAlertSink
) -> None:
    assert runtime.services.system.check_clock(clock.now() + timedelta(seconds=30)) is True
    assert runtime.services.trail.query(AuditFilter()) == []

    database_time = clock.now() - timedelta(hours=3)
    assert runtime.services.system.check_clock(database_time) is False
    runtime.services.alerts.deliver_pending()

    [entry] = runtime.services.trail.query(AuditFilter(action=str(Action.CLOCK_ANOMALY)))
    assert "10800 s" in entry.draft.reason
    [clock_alert] = [a for a in alerts.received if a.kind == "clock"]
    assert "10800 s" in clock_alert.message


def test_the_real_database_clock_is_read_as_an_aware_utc_instant(runtime: Runtime) -> None:
    db_now = runtime.database_now()

    assert db_now.utcoffset() is not None
    assert abs(db_now - datetime.now(UTC)) < timedelta(minutes=5)
