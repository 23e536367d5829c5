"""Equipment tables on SQLite and PostgreSQL: instances with an optimistic version and audited changes, a logbook whose
entries are never deleted, and append-only uses, scan checks and dispensed material with exact decimals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ebr.adapters.db.audit_guard import AuditTrailImmutable
from ebr.adapters.db.models import EquipmentUseRow
from ebr.adapters.db.uow import SqlAlchemyUnitOfWork
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import Dispensing, EquipmentUse, IdentityCheck, LogbookEntry, StoredValue, UnitOfWork
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.errors import Conflict, NotFound
from ebr.domain.orders import ProductionOrder
from tests.app.masterdata_support import make_procedure_effective, trail
from tests.factories import actor_of, effective_policy, make_user
from tests.fakes import FakeClock

BALANCE = EquipmentInstance(
    "BAL/01",
    "balance",
    "Floor balance 60 kg",
    "Dispensary 1",
    Endpoint("10.0.0.21", 5020, 3, 0.5, 2),
    in_service=True,
    clean=True,
    clean_until=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    calibration_due=date(2027, 1, 31),
    qualified_until=date(2027, 6, 30),
)


def uow_of(rt: Runtime, reason: str = "test set-up") -> UnitOfWork:
    return rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now(), reason))


def started_batch(rt: Runtime, batch_id: str = "B-EQ-1") -> tuple[int, int, int]:
    """A batch of the quick check started by an operator: (batch key, first step record key, operator id)."""
    make_procedure_effective(rt, "QC-SAMPLE")
    supervisor, operator = make_user(rt, Role.SUPERVISOR), make_user(rt, Role.OPERATOR)
    order = ProductionOrder(f"PO-{batch_id}", "QC-SAMPLE", Decimal("10"), "pcs", batch_id)
    stored = rt.services.orders.create(actor_of(supervisor), order)
    rt.services.orders.release(actor_of(supervisor), stored.id)
    started = rt.services.batches.start(actor_of(operator), stored.id)
    with uow_of(rt) as uow:
        step = uow.batches.steps(started.id)[0]
    return started.id, step.id, operator.id


def add_balance(rt: Runtime, instance: EquipmentInstance = BALANCE) -> None:
    with uow_of(rt, "balance installed") as uow:
        uow.equipment.add(instance, rt.services.clock.now())
        uow.commit()


def test_an_instance_round_trips_with_its_endpoint_zone_aware_expiry_and_dates(runtime: Runtime) -> None:
    add_balance(runtime)
    add_balance(runtime, EquipmentInstance("IBC-7", "ibc"))

    with uow_of(runtime) as uow:
        stored = uow.equipment.get("BAL/01")
        assert stored is not None
        assert stored.instance == BALANCE
        assert stored.instance.clean_until is not None and stored.instance.clean_until.tzinfo is not None
        assert (stored.version, stored.created_at, stored.updated_at) == (
            1,
            runtime.services.clock.now(),
            stored.created_at,
        )
        assert uow.equipment.get("IBC-7").instance.endpoint is None  # type: ignore[union-attr]
        assert uow.equipment.get("BAL-404") is None
        assert [s.instance.code for s in uow.equipment.list()] == ["BAL/01", "IBC-7"]
        assert [s.instance.code for s in uow.equipment.list("ibc")] == ["IBC-7"]


def test_an_equipment_id_is_stored_once(runtime: Runtime) -> None:
    add_balance(runtime)

    with pytest.raises(IntegrityError):
        add_balance(runtime, replace(BALANCE, class_id="other"))


def test_an_update_quoting_the_version_read_bumps_it_and_audits_each_changed_field_with_old_and_new(
    runtime: Runtime, clock: FakeClock
) -> None:
    add_balance(runtime)
    clock.advance(minutes=5)
    assert BALANCE.endpoint is not None
    moved = replace(BALANCE, location="Dispensary 2", endpoint=replace(BALANCE.endpoint, host="10.0.0.22"))

    with uow_of(runtime, "moved to dispensary 2") as uow:
        updated = uow.equipment.update(moved, 1, clock.now())
        uow.commit()

    assert (updated.instance, updated.version, updated.updated_at) == (moved, 2, clock.now())
    created, *changes = trail(runtime, "equipment")
    assert json.loads(created.draft.new_value or "{}")["code"] == "BAL/01"
    assert sorted((c.draft.field, c.draft.old_value, c.draft.new_value, c.draft.reason) for c in changes) == [
        ("host", "10.0.0.21", "10.0.0.22", "moved to dispensary 2"),
        ("location", "Dispensary 1", "Dispensary 2", "moved to dispensary 2"),
    ]


def test_an_update_quoting_a_stale_version_is_a_conflict_and_stores_nothing(runtime: Runtime) -> None:
    add_balance(runtime)
    with uow_of(runtime) as uow:
        uow.equipment.update(replace(BALANCE, in_service=False), 1, runtime.services.clock.now())
        uow.commit()
    before = trail(runtime, "equipment")

    with uow_of(runtime) as uow, pytest.raises(Conflict, match=r"BAL/01 changed meanwhile \(version 2"):
        uow.equipment.update(replace(BALANCE, location="elsewhere"), 1, runtime.services.clock.now())

    with uow_of(runtime) as uow:
        assert uow.equipment.get("BAL/01").instance.location == "Dispensary 1"  # type: ignore[union-attr]
    assert trail(runtime, "equipment") == before


def test_updating_an_unknown_instance_is_not_found(runtime: Runtime) -> None:
    with uow_of(runtime) as uow, pytest.raises(NotFound, match="BAL/01"):
        uow.equipment.update(BALANCE, 1, runtime.services.clock.now())


def _entry(user_id: int, kind: str = "cleaned", at: datetime | None = None) -> LogbookEntry:
    moment = at or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return LogbookEntry(0, "BAL/01", kind, "SOP-CL-01", "2026-11-26T09:00:00Z", user_id, moment, "pending")


def test_a_logbook_entry_moves_from_pending_to_applied_once_with_its_signature(runtime: Runtime) -> None:
    qa = effective_policy(runtime)  # its approval is a real signature to point at
    [approval] = runtime.services.signing.signatures_on("signature_policy", "1")
    add_balance(runtime)
    with uow_of(runtime) as uow:
        first = uow.logbook.add(_entry(qa.id))
        second = uow.logbook.add(_entry(qa.id, "calibrated"))
        uow.commit()
    at = runtime.services.clock.now()

    with uow_of(runtime) as uow:
        uow.logbook.set_applied(first.id, approval.id, at)
        uow.commit()
    with uow_of(runtime) as uow, pytest.raises(Conflict, match="applied already"):
        uow.logbook.set_applied(first.id, approval.id, at)

    with uow_of(runtime) as uow:
        assert uow.logbook.get(first.id) == replace(first, status="applied", signature_id=approval.id, applied_at=at)
        assert uow.logbook.for_equipment("BAL/01") == [uow.logbook.get(first.id), second]
        assert uow.logbook.for_equipment("IBC-7") == []
        with pytest.raises(NotFound):
            uow.logbook.get(999)


def _use(batch: int, step: int, user: int, at: datetime, field: str = "") -> EquipmentUse:
    return EquipmentUse(0, "BAL/01", "balance", batch, step, field, at, user, "kiosk-7", "in service, clean")


def test_uses_are_found_by_batch_step_and_equipment_in_the_order_they_happened(
    runtime: Runtime, clock: FakeClock
) -> None:
    batch, step, operator = started_batch(runtime)
    add_balance(runtime)
    add_balance(runtime, EquipmentInstance("IBC-7", "ibc"))
    with uow_of(runtime) as uow:
        first = uow.equipment_uses.add(_use(batch, step, operator, clock.now()))
        second = uow.equipment_uses.add(_use(batch, step, operator, clock.advance(minutes=1), "tare"))
        other = uow.equipment_uses.add(replace(_use(batch, step, operator, clock.now()), equipment_code="IBC-7"))
        uow.commit()

    with uow_of(runtime) as uow:
        assert first.id and first == replace(_use(batch, step, operator, first.used_at), id=first.id)
        assert uow.equipment_uses.for_equipment("BAL/01") == [first, second]
        assert uow.equipment_uses.for_batch(batch) == [first, second, other]
        assert uow.equipment_uses.for_step(step) == [first, second, other]
        assert uow.equipment_uses.for_batch(batch + 1000) == []


def test_scan_checks_keep_refused_scans_with_their_reason(runtime: Runtime) -> None:
    batch, step, operator = started_batch(runtime)
    now = runtime.services.clock.now()
    refused = IdentityCheck(0, batch, step, "scale", "equipment", "BAL-404" * 20, False, "Unknown", now, operator, "k")
    with uow_of(runtime) as uow:
        stored = uow.identity_checks.add(refused)
        passed = uow.identity_checks.add(replace(refused, barcode="BAL/01", passed=True, reason="ok"))
        uow.commit()

    with uow_of(runtime) as uow:
        assert stored == replace(refused, id=stored.id)
        assert uow.identity_checks.for_batch(batch) == [stored, passed]
        assert uow.identity_checks.for_step(step) == [stored, passed]


def _dispensing(batch: int, step: int, user: int, label: str, lot: str = "L-1") -> Dispensing:
    return Dispensing(
        0,
        batch,
        step,
        "MCC-101",
        lot,
        "C-0001",
        label,
        Decimal("1.250"),
        Decimal("11.750"),
        Decimal("10.50"),
        "kg",
        Decimal("10.5"),
        Decimal("0.000001"),
        True,
        "BAL/01",
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        user,
        "kiosk-7",
    )


def test_dispensed_quantities_come_back_exactly_as_weighed_and_are_found_by_label_lot_batch_and_step(
    runtime: Runtime,
) -> None:
    batch, step, operator = started_batch(runtime)
    with uow_of(runtime) as uow:
        first = uow.dispensings.add(_dispensing(batch, step, operator, "D-1"))
        second = uow.dispensings.add(_dispensing(batch, step, operator, "D-2", lot="L-2"))
        uow.commit()

    with uow_of(runtime) as uow:
        found = uow.dispensings.by_label("D-1")
        assert found == replace(_dispensing(batch, step, operator, "D-1"), id=first.id)
        assert found is not None
        assert (str(found.net), str(found.tare), str(found.tolerance)) == ("10.50", "1.250", "0.000001")
        assert uow.dispensings.by_label("D-404") is None
        assert uow.dispensings.for_lot("MCC-101", "L-2") == [second]
        assert uow.dispensings.for_batch(batch) == [first, second]
        assert uow.dispensings.for_step(step) == [first, second]


def test_a_device_value_keeps_its_instance_tag_quality_and_read_detail(runtime: Runtime) -> None:
    batch, step, operator = started_batch(runtime)
    detail = json.dumps({"endpoint": "10.0.0.21:5020", "register": 0, "type": "float32"}, sort_keys=True)
    value = StoredValue(
        0, batch, step, "gross", "11.750", "kg", "device", runtime.services.clock.now(), operator, "kiosk-7"
    )
    read = replace(value, equipment_code="BAL/01", tag="weight", quality="good", device_detail=detail)
    with uow_of(runtime) as uow:
        stored = uow.step_values.add(read)
        typed = uow.step_values.add(replace(value, field_id="note", source="manual"))
        uow.commit()

    with uow_of(runtime) as uow:
        assert uow.step_values.for_step(step) == [stored, typed]
    assert (stored.equipment_code, stored.tag, stored.quality, stored.device_detail) == (
        "BAL/01",
        "weight",
        "good",
        detail,
    )
    assert (typed.equipment_code, typed.tag, typed.quality, typed.device_detail) == ("", "", "", "")


def _refusal(runtime: Runtime, sqlite: str) -> str:
    # SQLite: the triggers abort; PostgreSQL: the application role was never granted the right.
    return sqlite if runtime.engine.dialect.name == "sqlite" else "permission denied"


@pytest.mark.parametrize("table", ["equipment", "equipment_log"])
def test_instances_and_logbook_entries_are_never_deleted(runtime: Runtime, table: str) -> None:
    qa = effective_policy(runtime)
    add_balance(runtime)
    with uow_of(runtime) as uow:
        uow.logbook.add(_entry(qa.id))
        uow.commit()

    with pytest.raises(DBAPIError, match=_refusal(runtime, "never deleted")), runtime.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {table}"))  # a fixed table name from the parametrisation


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE equipment_use SET status = 'forged'",
        "DELETE FROM equipment_use",
        "UPDATE identity_check SET passed = true",
        "DELETE FROM identity_check",
        "UPDATE dispensing SET net = '99'",
        "DELETE FROM dispensing",
    ],
)
def test_uses_scan_checks_and_dispensing_are_append_only_in_the_database(runtime: Runtime, statement: str) -> None:
    batch, step, operator = started_batch(runtime)
    add_balance(runtime)
    now = runtime.services.clock.now()
    with uow_of(runtime) as uow:
        uow.equipment_uses.add(_use(batch, step, operator, now))
        uow.identity_checks.add(IdentityCheck(0, batch, step, "", "equipment", "BAL/01", True, "ok", now, operator, ""))
        uow.dispensings.add(_dispensing(batch, step, operator, "D-1"))
        uow.commit()

    with pytest.raises(DBAPIError, match=_refusal(runtime, "append-only")), runtime.engine.begin() as conn:
        conn.execute(text(statement))


def test_changing_a_recorded_use_through_the_orm_is_refused_before_any_sql(runtime: Runtime) -> None:
    batch, step, operator = started_batch(runtime)
    add_balance(runtime)
    with uow_of(runtime) as uow:
        use = uow.equipment_uses.add(_use(batch, step, operator, runtime.services.clock.now()))
        uow.commit()

    with uow_of(runtime) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        row = uow.session.get(EquipmentUseRow, use.id)
        assert row is not None
        row.used_at = row.used_at - timedelta(hours=1)
        with pytest.raises(AuditTrailImmutable, match="equipment_use"):
            uow.session.flush()


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("equipment", ["class_id"]),
        ("equipment_log", ["equipment_code", "id"]),
        ("equipment_use", ["equipment_code", "id"]),
        ("equipment_use", ["batch_id"]),
        ("equipment_use", ["step_record_id"]),
        ("identity_check", ["batch_id"]),
        ("identity_check", ["step_record_id"]),
        ("dispensing", ["batch_id"]),
        ("dispensing", ["step_record_id"]),
        ("dispensing", ["label"]),
        ("dispensing", ["material_code", "lot_number"]),
    ],
)
def test_every_lookup_of_the_repositories_is_served_by_an_index(
    runtime: Runtime, table: str, columns: list[str]
) -> None:
    indexed = [index["column_names"] for index in inspect(runtime.engine).get_indexes(table)]

    assert columns in indexed
