"""Arrangements shared by the master data and order tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import AuditEntry
from ebr.domain.materials import Container, Material, MaterialLot, QcStatus
from tests.factories import actor_of, make_user

API = Material("PARA-API", "Paracetamol API", "kg")
LOT = MaterialLot("PARA-API", "L-0001", QcStatus.RELEASED, date(2027, 6, 30), Decimal("25"))
BOX = Container("C-0001", "PARA-API", "L-0001", Decimal("5"), "kg")


def trail(runtime: Runtime, object_type: str, object_id: str = "") -> list[AuditEntry]:
    """The audit entries of one kind of object (and one object, when given)."""
    return runtime.services.trail.query(AuditFilter(object_type=object_type, object_id=object_id), limit=None)


def seed_master_data(runtime: Runtime) -> None:
    """The API material with one released lot and one container, put by a supervisor."""
    supervisor = actor_of(make_user(runtime, Role.SUPERVISOR))
    md = runtime.services.masterdata
    md.put_material(supervisor, API, "ERP sync")
    md.put_lot(supervisor, LOT, "ERP sync")
    md.put_container(supervisor, BOX, "labelled at goods receipt")


def make_procedure_effective(runtime: Runtime, product: str, procedure_id: str = "quick_check") -> int:
    """An effective procedure version mapped to the product, arranged directly (the signed path is tested elsewhere)."""
    engineer = make_user(runtime, Role.ENGINEER)
    version = runtime.services.procedures.import_from_library(actor_of(engineer), procedure_id)
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        uow.procedures.set_status(version.id, "effective", now, "test set-up", now)
        uow.procedures.map_product(product, version.id, now)
        uow.commit()
    return version.id
