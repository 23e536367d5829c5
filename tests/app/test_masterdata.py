"""Master data copied from the ERP: idempotent, audited upserts with a reason, and identity checks by scan."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ebr.app.context import Actor
from ebr.app.masterdata import Outcome
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, PermissionDenied
from ebr.domain.materials import Container, Material, QcStatus
from tests.app.masterdata_support import API, BOX, LOT, seed_master_data, trail
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock


def test_a_material_is_created_once_and_the_same_data_again_writes_nothing(runtime: Runtime) -> None:
    supervisor = actor_of(make_user(runtime, Role.SUPERVISOR))
    md = runtime.services.masterdata
    assert md.put_material(supervisor, API, "ERP sync") is Outcome.CREATED
    created = trail(runtime, "material", "PARA-API")
    assert [(e.draft.action, e.draft.reason, e.draft.username) for e in created] == [
        ("create", "ERP sync", supervisor.username)
    ]
    assert md.put_material(supervisor, Material("PARA-API", "Paracetamol API", "kg"), "ERP sync") is Outcome.UNCHANGED
    assert trail(runtime, "material", "PARA-API") == created
    assert md.materials() == [API]


def test_the_same_lot_again_writes_no_second_audit_entry(runtime: Runtime) -> None:
    seed_master_data(runtime)
    before = trail(runtime, "material_lot")
    same = replace(LOT, quantity=Decimal("25.000"))  # the same quantity written differently
    assert runtime.services.masterdata.put_lot(Actor.system(), same, "ERP sync") is Outcome.UNCHANGED
    assert trail(runtime, "material_lot") == before
    assert len(before) == 1


def test_a_changed_qc_status_writes_one_entry_with_old_new_and_reason(runtime: Runtime, clock: FakeClock) -> None:
    seed_master_data(runtime)
    clock.advance(hours=1)
    supervisor = actor_of(make_user(runtime, Role.SUPERVISOR))
    blocked = replace(LOT, qc_status=QcStatus.BLOCKED)
    assert runtime.services.masterdata.put_lot(supervisor, blocked, "QC hold: OOS assay") is Outcome.UPDATED
    updates = [e.draft for e in trail(runtime, "material_lot", "PARA-API:L-0001") if e.draft.action == "update"]
    assert [(d.field, d.old_value, d.new_value, d.reason, d.username) for d in updates] == [
        ("qc_status", "released", "blocked", "QC hold: OOS assay", supervisor.username)
    ]
    assert updates[0].at == clock.now()
    assert runtime.services.masterdata.lots("PARA-API") == [blocked]


def test_an_update_without_a_reason_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    seed_master_data(runtime)
    before = trail(runtime, "material_lot")
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.masterdata.put_lot(Actor.system(), replace(LOT, qc_status=QcStatus.REJECTED), " ")
    assert runtime.services.masterdata.lots() == [LOT]
    assert trail(runtime, "material_lot") == before


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN, Role.QA, Role.ENGINEER])
def test_only_the_supervisor_or_the_system_may_change_master_data(runtime: Runtime, role: Role) -> None:
    who = actor_of(make_user(runtime, role))
    with pytest.raises(PermissionDenied, match="masterdata.manage"):
        runtime.services.masterdata.put_material(who, API, "ERP sync")
    assert runtime.services.masterdata.materials() == []
    assert runtime.services.masterdata.put_material(Actor.system(), API, "ERP sync") is Outcome.CREATED


def test_a_lot_of_an_unknown_material_and_a_container_of_an_unknown_lot_are_refused(runtime: Runtime) -> None:
    md = runtime.services.masterdata
    with pytest.raises(InvalidInput, match="Unknown material 'PARA-API'"):
        md.put_lot(Actor.system(), LOT, "ERP sync")
    md.put_material(Actor.system(), API, "ERP sync")
    with pytest.raises(InvalidInput, match="Unknown lot 'L-0001'"):
        md.put_container(Actor.system(), BOX, "labelled")
    assert md.lots() == [] and md.containers() == []


def test_a_container_counted_in_another_unit_than_its_material_is_refused(runtime: Runtime) -> None:
    seed_master_data(runtime)
    with pytest.raises(InvalidInput, match="PARA-API is counted in kg, not g"):
        runtime.services.masterdata.put_container(Actor.system(), replace(BOX, barcode="C-2", unit="g"), "labelled")
    assert runtime.services.masterdata.containers() == [BOX]


def test_a_changed_container_quantity_is_one_audited_update(runtime: Runtime) -> None:
    seed_master_data(runtime)
    smaller = Container("C-0001", "PARA-API", "L-0001", Decimal("4.25"), "kg")
    assert runtime.services.masterdata.put_container(Actor.system(), smaller, "partial issue") is Outcome.UPDATED
    updates = [e.draft for e in trail(runtime, "container", "C-0001") if e.draft.action == "update"]
    assert [(d.field, d.old_value, d.new_value) for d in updates] == [("quantity", "5", "4.25")]


def test_identity_checks_by_barcode(runtime: Runtime, clock: FakeClock) -> None:
    seed_master_data(runtime)
    md = runtime.services.masterdata
    assert md.identify("C-0001", "PARA-API").ok
    assert md.identify("C-0001", "MCC-101").reason.startswith("Container C-0001: Wrong material")
    assert md.identify("C-9999", "PARA-API").reason == "Unknown barcode 'C-9999': no such container."
    assert not md.identify("C-0001", "PARA-API", today=date(2027, 6, 30))  # expiry day
    md.put_lot(Actor.system(), replace(LOT, qc_status=QcStatus.QUARANTINE), "re-test")
    assert "quarantine" in md.identify("C-0001", "PARA-API").reason
