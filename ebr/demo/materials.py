"""The demo plant's master data, as the ERP would send it: materials, lots (released, quarantined, expired),
labelled containers, and two planned production orders. Seeding again changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.materials import Container, Material, MaterialLot, QcStatus
from ebr.domain.orders import ProductionOrder

REASON = "demo plant seed (ERP master data)"
GOOD_UNTIL = date(2030, 12, 31)

DEMO_MATERIALS = (
    Material("PARA-API", "Paracetamol API", "kg"),
    Material("MCC-101", "Microcrystalline cellulose PH-101", "kg"),
    Material("PVP-K30", "Povidone K30", "kg"),
    Material("CCS-01", "Croscarmellose sodium", "kg"),
    Material("MGST-01", "Magnesium stearate", "kg"),
)
DEMO_LOTS = (
    MaterialLot("PARA-API", "PA-24001", QcStatus.RELEASED, GOOD_UNTIL, Decimal("250")),
    MaterialLot("PARA-API", "PA-24002", QcStatus.QUARANTINE, GOOD_UNTIL, Decimal("250")),
    MaterialLot("PARA-API", "PA-21007", QcStatus.RELEASED, date(2024, 12, 31), Decimal("40")),  # expired
    MaterialLot("MCC-101", "MC-24011", QcStatus.RELEASED, GOOD_UNTIL, Decimal("500")),
    MaterialLot("PVP-K30", "PV-24003", QcStatus.RELEASED, GOOD_UNTIL, Decimal("50")),
    MaterialLot("CCS-01", "CC-24005", QcStatus.RELEASED, GOOD_UNTIL, Decimal("25")),
    MaterialLot("MGST-01", "MG-24002", QcStatus.RELEASED, GOOD_UNTIL, Decimal("10")),
    MaterialLot("MGST-01", "MG-23009", QcStatus.REJECTED, GOOD_UNTIL, Decimal("10")),
)
DEMO_CONTAINERS = (
    Container("C-PA-0001", "PARA-API", "PA-24001", Decimal("25"), "kg"),
    Container("C-PA-0002", "PARA-API", "PA-24001", Decimal("25"), "kg"),
    Container("C-PA-0101", "PARA-API", "PA-24002", Decimal("25"), "kg"),
    Container("C-PA-0201", "PARA-API", "PA-21007", Decimal("20"), "kg"),
    Container("C-MC-0001", "MCC-101", "MC-24011", Decimal("50"), "kg"),
    Container("C-PV-0001", "PVP-K30", "PV-24003", Decimal("10"), "kg"),
    Container("C-CC-0001", "CCS-01", "CC-24005", Decimal("5"), "kg"),
    Container("C-MG-0001", "MGST-01", "MG-24002", Decimal("2.5"), "kg"),
)
DEMO_ORDERS = (
    ProductionOrder("PO-1001", "PARA-500", Decimal("120"), "kg", "B-PARA-0001", due_date=date(2026, 12, 15)),
    ProductionOrder("PO-1002", "QC-SAMPLE", Decimal("10"), "pcs", "B-QC-0001", due_date=date(2026, 12, 20)),
)


def seed_master_data(rt: Runtime) -> None:
    """Put the demo master data as the ERP (the system actor) and plan the demo orders once."""
    md, system = rt.services.masterdata, Actor.system()
    for material in DEMO_MATERIALS:
        md.put_material(system, material, REASON)
    for lot in DEMO_LOTS:
        md.put_lot(system, lot, REASON)
    for container in DEMO_CONTAINERS:
        md.put_container(system, container, REASON)
    planned = {stored.order.order_number for stored in rt.services.orders.list()}
    for order in DEMO_ORDERS:
        if order.order_number not in planned:
            rt.services.orders.create(system, order, "demo plant seed (ERP order)")
