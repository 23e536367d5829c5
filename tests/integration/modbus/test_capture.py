"""A capture end to end at the adapter level: the plant's state, read over Modbus, validated by the domain (DEV-02)."""

from __future__ import annotations

import math
import time
from decimal import Decimal

import pytest

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import BALANCE, FLUID_BED_DRYER, GRANULATOR, PH_PROBE, TEMPERATURE_PROBE
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.domain.equipment import DeviceFault, FaultKind
from tests.integration.modbus.conftest import SETTLE_S, capture


def fault_of(reader: ModbusReader, plant: SimulatedPlant, unit_id: int, tag_id: str) -> DeviceFault:
    with pytest.raises(DeviceFault) as caught:
        capture(reader, plant, unit_id, tag_id)
    return caught.value


@pytest.mark.parametrize(
    ("unit_id", "tag_id", "value", "unit"),
    [
        (BALANCE, "net_mass", "0", "kg"),
        (TEMPERATURE_PROBE, "inlet_air_temp", "60.0", "°C"),
        (PH_PROBE, "ph", "7", "pH"),
        (GRANULATOR, "impeller_power", "5.200", "kW"),
        (GRANULATOR, "impeller_torque", "198.5", "N·m"),
        (GRANULATOR, "bowl_temp", "24.50", "°C"),
        (FLUID_BED_DRYER, "airflow", "1200.0", "m³/h"),
        (FLUID_BED_DRYER, "air_volume", "12345", "m³"),
    ],
)
def test_each_demo_instrument_gives_a_good_reading(
    plant: SimulatedPlant, reader: ModbusReader, unit_id: int, tag_id: str, value: str, unit: str
) -> None:
    reading = capture(reader, plant, unit_id, tag_id)
    assert (reading.tag_id, reading.value, reading.unit, reading.quality) == (tag_id, Decimal(value), unit, "good")


def test_a_load_is_refused_while_the_balance_settles_then_captured(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.place("12.345", tare="1.2")
    fault = fault_of(reader, plant, BALANCE, "net_mass")
    assert fault.kind is FaultKind.UNSTABLE
    assert str(fault) == "net_mass is not stable yet (stable reads 0): wait and capture again."
    time.sleep(SETTLE_S + 0.05)
    reading = capture(reader, plant, BALANCE, "net_mass")
    assert reading.value == Decimal("11.145")
    assert capture(reader, plant, BALANCE, "gross_mass").value == Decimal("12.345")
    assert capture(reader, plant, BALANCE, "tare_mass").value == Decimal("1.2")


@pytest.mark.error_handling
@pytest.mark.parametrize(
    ("unit_id", "tag_id", "value", "shown"),
    [
        (PH_PROBE, "ph", math.nan, "NaN (not a number)"),
        (PH_PROBE, "temperature", -math.inf, "-infinity"),
        (FLUID_BED_DRYER, "airflow", math.inf, "+infinity"),
    ],
)
def test_nan_or_infinity_from_the_device_is_refused(
    plant: SimulatedPlant, reader: ModbusReader, unit_id: int, tag_id: str, value: float, shown: str
) -> None:
    plant.set_value(unit_id, tag_id, value)
    fault = fault_of(reader, plant, unit_id, tag_id)
    assert fault.kind is FaultKind.NOT_A_NUMBER
    assert str(fault).startswith(f"{tag_id} reads {shown}: the instrument reports no valid measurement")


@pytest.mark.limits
@pytest.mark.error_handling
def test_a_value_outside_the_instruments_range_is_refused(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.set_value(PH_PROBE, "ph", "14")
    assert capture(reader, plant, PH_PROBE, "ph").value == 14
    plant.set_value(PH_PROBE, "ph", "14.5")
    fault = fault_of(reader, plant, PH_PROBE, "ph")
    assert fault.kind is FaultKind.OUT_OF_RANGE
    assert str(fault) == (
        "ph reads 14.5 pH, outside the instrument's range of 0 to 14 pH; check the device and capture again."
    )


@pytest.mark.error_handling
def test_an_instrument_that_stopped_refreshing_gives_a_stale_value(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.set_value(BALANCE, 7, 5)  # the age register, by its address: 5 s is still allowed
    assert capture(reader, plant, BALANCE, "net_mass").value == 0
    plant.set_value(BALANCE, "value_age", 30)
    fault = fault_of(reader, plant, BALANCE, "net_mass")
    assert fault.kind is FaultKind.STALE
    assert str(fault).startswith("net_mass is 30 s old (value_age), more than the 5 s allowed")


@pytest.mark.error_handling
def test_a_capture_works_again_once_the_fault_is_cleared(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.fail(TEMPERATURE_PROBE, 6)
    assert fault_of(reader, plant, TEMPERATURE_PROBE, "product_temp").kind is FaultKind.EXCEPTION_RESPONSE
    plant.clear_faults()
    assert capture(reader, plant, TEMPERATURE_PROBE, "product_temp").value == Decimal("45.0")
