"""AUD-02 (schema part): each entry holds who, when, what, old and new value, why and the request context."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, select

from ebr.adapters.db.models import AuditEntryRow
from ebr.app.context import RequestInfo
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock

WHO = {"user_id", "username", "user_name"}
WHEN = {"at"}
WHAT = {"object_type", "object_id", "field", "action"}
VALUES = {"old_value", "new_value"}
WHY = {"reason"}
CONTEXT = {"context", "batch"}
ENTRY = AuditEntryRow.__table__


@pytest.mark.req("AUD-02")
def test_the_audit_entry_table_has_a_column_for_every_required_element(runtime: Runtime) -> None:
    columns = {c["name"]: c for c in inspect(runtime.engine).get_columns("audit_entry")}

    missing = (WHO | WHEN | WHAT | VALUES | WHY | CONTEXT) - set(columns)

    assert missing == set()
    # Only the values may be empty: a creation has no old value; everything else is always recorded.
    assert {name for name, c in columns.items() if c["nullable"]} == {"user_id", "old_value", "new_value"}


@pytest.mark.req("AUD-02")
def test_an_entry_written_through_the_services_carries_who_when_what_values_why_and_context(
    runtime: Runtime, clock: FakeClock
) -> None:
    admin = make_user(runtime, Role.ADMIN, username="admin7", full_name="Ada Admin")
    target = make_user(runtime, Role.OPERATOR, username="oper7")
    clock.advance(minutes=3)
    request = RequestInfo(address="192.0.2.15", workstation="qa-office-pc4", request_id="7f3c2a")

    runtime.services.accounts.set_roles(
        actor_of(admin), target.id, frozenset({Role.SUPERVISOR}), "promoted per HR-2026-118", request
    )

    with runtime.engine.connect() as conn:
        entry = conn.execute(select(ENTRY).order_by(ENTRY.c.seq.desc()).limit(1)).mappings().one()
    assert (entry["user_id"], entry["username"], entry["user_name"]) == (admin.id, "admin7", "Ada Admin")
    assert entry["at"] == clock.now()
    assert (entry["action"], entry["object_type"], entry["object_id"], entry["field"]) == (
        "update",
        "user",
        str(target.id),
        "roles",
    )
    assert (entry["old_value"], entry["new_value"]) == ("operator", "supervisor")
    assert entry["reason"] == "promoted per HR-2026-118"
    assert json.loads(entry["context"]) == {
        "address": "192.0.2.15",
        "workstation": "qa-office-pc4",
        "request_id": "7f3c2a",
    }
