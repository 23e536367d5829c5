"""The demo plant's instruments: register maps (copies of equipment/classes/*.toml), set points and how values move.

The maps are repeated here rather than read from the library because an adapter does not know the library; a test
holds the two equal. A plant with other instruments passes its own SimulatedDevice list to SimulatedPlant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from ebr.domain.steps import EquipmentClass, TagDefinition

BALANCE, TEMPERATURE_PROBE, PH_PROBE, GRANULATOR, FLUID_BED_DRYER = 1, 2, 3, 4, 5  # unit ids on the plant's gateway


@dataclass(frozen=True)
class Drift:
    """A value that wanders around its set point like a live process value: a slow sine, rounded to a step."""

    amplitude: Decimal
    step: Decimal
    period_s: float = 40.0

    def offset_at(self, seconds: float) -> Decimal:
        """How far from the set point the value is at this moment."""
        wave = Decimal(str(round(math.sin(2 * math.pi * seconds / self.period_s), 6)))
        return (self.amplitude * wave).quantize(self.step)


@dataclass(frozen=True)
class SimulatedDevice:
    """One instrument behind the gateway: its unit id, register map, starting values and drifting tags."""

    unit_id: int
    equipment: EquipmentClass
    values: dict[str, Decimal]
    drift: dict[str, Drift] = field(default_factory=dict)


def _tag(
    tag_id: str,
    register: int,
    data_type: str,
    unit: str,
    span: tuple[str, str],
    *,
    scale: str = "1",
    offset: str = "0",
    word_order: str = "big",
    byte_order: str = "big",
    register_type: str = "holding",
) -> TagDefinition:
    return TagDefinition(
        tag_id, register, data_type, word_order, scale, unit, span[0], span[1], register_type, byte_order, offset
    )


def _age(register: int) -> TagDefinition:
    return _tag("value_age", register, "uint16", "s", ("0", "65535"))


def _drift(amplitude: str, step: str, period_s: float) -> Drift:
    return Drift(Decimal(amplitude), Decimal(step), period_s)


def balance() -> SimulatedDevice:
    """A floor scale: masses as big-endian float32, a stable flag and the age of its display (unit 1)."""
    tags = (
        _tag("net_mass", 0, "float32", "kg", ("0", "150")),
        _tag("gross_mass", 2, "float32", "kg", ("0", "200")),
        _tag("tare_mass", 4, "float32", "kg", ("0", "50")),
        _tag("stable", 6, "uint16", "", ("0", "1")),
        _age(7),
    )
    cls = EquipmentClass("balance", "Balance", tags, stable_tag="stable", age_tag="value_age", max_age_s=5)
    zero = Decimal(0)
    values = {"net_mass": zero, "gross_mass": zero, "tare_mass": zero, "stable": Decimal(1), "value_age": zero}
    return SimulatedDevice(BALANCE, cls, values)


def temperature_probe() -> SimulatedDevice:
    """The dryer's Pt100 transmitter: int16 tenths of a degree (unit 2)."""
    celsius = ("-20", "150")
    tags = (
        _tag("product_temp", 0, "int16", "°C", celsius, scale="0.1"),
        _tag("inlet_air_temp", 1, "int16", "°C", celsius, scale="0.1"),
        _tag("exhaust_air_temp", 2, "int16", "°C", celsius, scale="0.1"),
        _age(3),
    )
    cls = EquipmentClass("temperature_probe", "Dryer temperature transmitter", tags, age_tag="value_age", max_age_s=10)
    values = {
        "product_temp": Decimal("45.0"),
        "inlet_air_temp": Decimal("60.0"),
        "exhaust_air_temp": Decimal("38.0"),
        "value_age": Decimal(0),
    }
    drift = {
        "product_temp": _drift("0.3", "0.1", 41),
        "inlet_air_temp": _drift("0.5", "0.1", 53),
        "exhaust_air_temp": _drift("0.4", "0.1", 47),
    }
    return SimulatedDevice(TEMPERATURE_PROBE, cls, values, drift)


def ph_probe() -> SimulatedDevice:
    """A pH transmitter with word-swapped float32 values (unit 3)."""
    tags = (
        _tag("ph", 0, "float32", "pH", ("0", "14"), word_order="little"),
        _tag("temperature", 2, "float32", "°C", ("-5", "130"), word_order="little"),
        _age(4),
    )
    cls = EquipmentClass("ph_probe", "pH transmitter", tags, age_tag="value_age", max_age_s=10)
    values = {"ph": Decimal("7.00"), "temperature": Decimal("25.0"), "value_age": Decimal(0)}
    drift = {"ph": _drift("0.03", "0.01", 37), "temperature": _drift("0.2", "0.1", 59)}
    return SimulatedDevice(PH_PROBE, cls, values, drift)


def granulator() -> SimulatedDevice:
    """A high-shear granulator's PLC: drive values as input registers, a byte-swapped bowl temperature (unit 4)."""
    tags = (
        _tag("impeller_speed", 0, "uint16", "rpm", ("0", "600"), register_type="input"),
        _tag("chopper_speed", 1, "uint16", "rpm", ("0", "3600"), register_type="input"),
        _tag("impeller_power", 2, "uint32", "kW", ("0", "75"), scale="0.001", register_type="input"),
        _tag("impeller_torque", 4, "int32", "N·m", ("-2000", "2000"), scale="0.1", register_type="input"),
        _tag("bowl_temp", 0, "uint16", "°C", ("-20", "120"), scale="0.01", offset="-273.15", byte_order="little"),
    )
    cls = EquipmentClass("granulator", "High-shear granulator", tags)
    values = {
        "impeller_speed": Decimal(250),
        "chopper_speed": Decimal(1500),
        "impeller_power": Decimal("5.200"),
        "impeller_torque": Decimal("198.5"),
        "bowl_temp": Decimal("24.50"),
    }
    drift = {
        "impeller_speed": _drift("2", "1", 29),
        "chopper_speed": _drift("10", "1", 31),
        "impeller_power": _drift("0.150", "0.001", 43),
        "impeller_torque": _drift("3", "0.1", 43),
        "bowl_temp": _drift("0.2", "0.01", 61),
    }
    return SimulatedDevice(GRANULATOR, cls, values, drift)


def fluid_bed_dryer() -> SimulatedDevice:
    """A fluid-bed dryer's PLC: float64 airflow, float32, int16 and uint32 values and an age counter (unit 5)."""
    tags = (
        _tag("airflow", 0, "float64", "m³/h", ("0", "5000")),
        _tag("inlet_air_temp", 4, "float32", "°C", ("-20", "150")),
        _tag("product_temp", 6, "int16", "°C", ("-20", "150"), scale="0.1"),
        _tag("filter_dp", 7, "int16", "Pa", ("0", "5000")),
        _tag("air_volume", 8, "uint32", "m³", ("0", "4294967295")),
        _age(10),
    )
    cls = EquipmentClass("fluid_bed_dryer", "Fluid-bed dryer", tags, age_tag="value_age", max_age_s=10)
    values = {
        "airflow": Decimal("1200.0"),
        "inlet_air_temp": Decimal("60.0"),
        "product_temp": Decimal("42.0"),
        "filter_dp": Decimal(850),
        "air_volume": Decimal(12345),
        "value_age": Decimal(0),
    }
    drift = {
        "airflow": _drift("15", "0.1", 37),
        "inlet_air_temp": _drift("0.4", "0.1", 53),
        "product_temp": _drift("0.3", "0.1", 47),
        "filter_dp": _drift("20", "1", 71),
    }
    return SimulatedDevice(FLUID_BED_DRYER, cls, values, drift)


def demo_devices() -> tuple[SimulatedDevice, ...]:
    """Every instrument of the demo plant, one unit id each."""
    return (balance(), temperature_probe(), ph_probe(), granulator(), fluid_bed_dryer())
