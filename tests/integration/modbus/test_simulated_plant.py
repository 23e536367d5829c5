"""The simulated plant itself: its register maps are the library's, values move, and it goes down and comes back."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import BALANCE, PH_PROBE, Drift, SimulatedDevice, demo_devices
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.domain.equipment import DeviceFault, FaultKind, decode, tags_to_read, validate
from ebr.domain.steps import EquipmentClass, TagDefinition
from ebr.library import equipment
from tests.integration.modbus.conftest import TIMEOUT_S

ROOT = Path(__file__).resolve().parents[3]
LEVEL = TagDefinition("level", 0, "int16", scale="0.1", unit="%")


@pytest.mark.parametrize("device", demo_devices(), ids=lambda d: d.equipment.id)
def test_each_simulated_instrument_has_the_register_map_of_its_library_class(device: SimulatedDevice) -> None:
    path = f"equipment/classes/{device.equipment.id}.toml"
    library_class = equipment.read(path, (ROOT / path).read_bytes())
    assert replace(device.equipment, description="") == replace(library_class, description="")
    assert set(device.values) == {tag.id for tag in library_class.tags}


def test_the_demo_plant_has_its_instruments_on_unit_ids_1_to_5() -> None:
    ids = {d.unit_id: d.equipment.id for d in demo_devices()}
    assert ids == {1: "balance", 2: "temperature_probe", 3: "ph_probe", 4: "granulator", 5: "fluid_bed_dryer"}


def one_tag_plant(drift: Drift | None, moving: bool = True, port: int = 0) -> SimulatedPlant:
    cls = EquipmentClass("tank", "tank", (LEVEL,))
    device = SimulatedDevice(1, cls, {"level": Decimal("50.0")}, {"level": drift} if drift else {})
    return SimulatedPlant(port=port, devices=[device], moving=moving)


def read_level(reader: ModbusReader, plant: SimulatedPlant) -> Decimal:
    return decode(LEVEL, reader.read(plant.endpoint(1, TIMEOUT_S, 1), [LEVEL])[0].registers)


def test_a_drifting_value_moves_around_its_set_point(reader: ModbusReader) -> None:
    with one_tag_plant(Drift(Decimal("2.0"), Decimal("0.1"), period_s=0.4)) as plant:
        seen = set()
        for _ in range(12):
            seen.add(read_level(reader, plant))
            time.sleep(0.03)
    assert len(seen) > 3
    assert all(Decimal("48.0") <= level <= Decimal("52.0") for level in seen)


def test_values_hold_still_when_the_plant_is_not_moving(reader: ModbusReader) -> None:
    with one_tag_plant(Drift(Decimal("2.0"), Decimal("0.1"), period_s=0.4), moving=False) as plant:
        levels = set()
        for _ in range(5):
            levels.add(read_level(reader, plant))
            time.sleep(0.03)
    assert levels == {Decimal("50.0")}


def test_the_demo_plants_live_values_stay_near_their_set_points(reader: ModbusReader) -> None:
    with SimulatedPlant() as plant:
        ph = next(d.equipment for d in demo_devices() if d.unit_id == PH_PROBE)
        reading = validate(ph, "ph", reader.read(plant.endpoint(PH_PROBE), tags_to_read(ph, "ph")), datetime.now(UTC))
    assert Decimal("6.97") <= reading.value <= Decimal("7.03")
    assert reading.value == reading.value.quantize(Decimal("0.01"))  # a pH meter shows two places


def test_a_given_port_is_used_and_kept_across_restarts(reader: ModbusReader) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert one_tag_plant(None).port == 0  # none given: chosen at the first start
    plant = one_tag_plant(None, port=port)
    assert plant.port == port
    try:
        assert plant.start() == port
        assert plant.start() == port  # already running: nothing happens
        plant.stop()
        plant.stop()  # already down: nothing happens
        assert plant.start() == port
        assert read_level(reader, plant) == Decimal("50.0")
    finally:
        plant.stop()


def test_a_port_already_taken_is_a_clear_error() -> None:
    with one_tag_plant(None) as first:
        second = SimulatedPlant(port=first.port)
        with pytest.raises(RuntimeError, match=f"could not listen on 127.0.0.1:{first.port}"):
            second.start()
        assert not second.running


def test_stopping_drops_the_requests_a_muted_unit_holds(reader: ModbusReader) -> None:
    with one_tag_plant(None) as plant:
        plant.mute(1)
        with pytest.raises(DeviceFault) as caught:
            read_level(reader, plant)
        assert caught.value.kind is FaultKind.TIMEOUT
        started = time.monotonic()
        plant.stop()
        assert time.monotonic() - started < 1
        plant.start()
        plant.clear_faults()
        assert read_level(reader, plant) == Decimal("50.0")


def test_controls_refuse_what_the_instruments_cannot_do() -> None:
    plant = SimulatedPlant()
    with pytest.raises(ValueError, match="cannot be held"):
        plant.set_value(BALANCE, "stable", -1)  # a uint16
    with pytest.raises(ValueError, match="cannot be held"):
        plant.set_value(BALANCE, "value_age", float("nan"))
    with pytest.raises(ValueError, match="balance has no tag 'colour'"):
        plant.set_value(BALANCE, "colour", 1)
    with pytest.raises(ValueError, match="no unit 9"):
        plant.fail(9, 6)
    with pytest.raises(ValueError, match="9 is not a valid ExcCodes"):
        plant.fail(BALANCE, 9)
    with pytest.raises(ValueError, match="ph_probe has no tag 'gross_mass'"):
        plant.place(10, unit_id=PH_PROBE)
