"""The demo plant's equipment: instances behind the simulated Modbus gateway, cleaned and calibrated through their
logbooks with real signatures, plus two that a scan must refuse (never calibrated, not clean). Seeding again
changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ebr.adapters.modbus.devices import BALANCE, FLUID_BED_DRYER, GRANULATOR, PH_PROBE, TEMPERATURE_PROBE
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance

REASON = "demo plant seed (equipment register)"
Sign = Callable[[Runtime, str, str, str, str], None]

# code, class, description, location, unit id on the simulated gateway (None: no device to read)
DEMO_EQUIPMENT: tuple[tuple[str, str, str, str, int | None], ...] = (
    ("BAL-01", "balance", "Floor scale 150 kg", "Dispensary", BALANCE),
    ("TP-01", "temperature_probe", "Dryer FBD-01 temperature transmitter", "Granulation suite", TEMPERATURE_PROBE),
    ("PH-01", "ph_probe", "Binder vessel pH transmitter", "Granulation suite", PH_PROBE),
    ("GRN-01", "granulator", "High-shear granulator 300 L", "Granulation suite", GRANULATOR),
    ("FBD-01", "fluid_bed_dryer", "Fluid-bed dryer 200 kg", "Granulation suite", FLUID_BED_DRYER),
    ("MIL-01", "mill", "Conical mill", "Granulation suite", None),
    ("BLD-01", "bin_blender", "Bin blender", "Blending room", None),
    ("IBC-01", "ibc", "IBC 300 L no. 1", "Blending room", None),
    ("TPR-01", "tablet_press", "Rotary tablet press", "Compression room", None),
    ("BAL-02", "balance", "Floor scale 150 kg, spare (never calibrated)", "Dispensary", BALANCE),
    ("IBC-02", "ibc", "IBC 300 L no. 2 (awaiting cleaning)", "Wash bay", None),
)
DIRTY, UNCALIBRATED = frozenset({"IBC-02"}), frozenset({"BAL-02"})  # what a scan must refuse, and why


def seed_equipment(rt: Runtime, sign: Sign, supervisor: Actor) -> None:
    """Register each instance as the system; the supervisor records its cleaning and calibration and signs them."""
    known = {stored.instance.code for stored in rt.services.equipment.list()}
    for code, class_id, description, location, unit in DEMO_EQUIPMENT:
        if code in known:
            continue
        endpoint = Endpoint("127.0.0.1", rt.settings.demo_modbus_port, unit, 1.0, 1) if unit else None
        rt.services.equipment.register(
            Actor.system(), EquipmentInstance(code, class_id, description, location, endpoint), REASON
        )
        if code not in DIRTY:
            _log(rt, sign, supervisor, code, "cleaned", "cleaned per SOP-CL-001", days=30)
        if unit is not None and code not in UNCALIBRATED:
            _log(rt, sign, supervisor, code, "calibrated", "calibrated against reference standards", days=180)


def _log(rt: Runtime, sign: Sign, who: Actor, code: str, kind: str, detail: str, days: int) -> None:
    moment = rt.services.clock.now() + timedelta(days=days)
    until = moment if kind == "cleaned" else moment.date()  # a cleaning expires at a time, the others on a day
    entry = rt.services.equipment.request_log_entry(who, code, kind, detail, until, REASON)
    assert who.username
    sign(rt, who.username, "equipment_log", str(entry), kind)
