"""The demo terminal drives the simulated plant: loads, values and faults typed there are what a capture reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import BALANCE, TEMPERATURE_PROBE, demo_devices
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.demo.console import HELP, run_command, serve_console
from ebr.domain.equipment import DeviceFault, FaultKind, decode, tags_to_read
from tests.fakes import FakeClock

CLASSES = {device.unit_id: device.equipment for device in demo_devices()}


def _read(plant: SimulatedPlant, unit: int, tag_id: str) -> Decimal:
    cls = CLASSES[unit]
    [raw, *_] = ModbusReader(FakeClock().now).read(plant.endpoint(unit, 0.2, 0), tags_to_read(cls, tag_id))
    tag = cls.tag(tag_id)
    assert tag is not None
    return decode(tag, raw.registers)


def test_typed_commands_place_a_load_move_a_value_and_inject_and_clear_a_fault(plant: SimulatedPlant) -> None:
    answers: list[str] = []
    serve_console(plant, ["place 14.5 0.5\n", "set 2 product_temp 41.5\n", "", "fail 1 6\n"], answers.append)
    assert answers[0].startswith("balance: gross 14.5 kg") and len(answers) == 3
    assert _read(plant, TEMPERATURE_PROBE, "product_temp") == Decimal("41.5")
    with pytest.raises(DeviceFault) as fault:
        _read(plant, BALANCE, "net_mass")
    assert fault.value.kind is FaultKind.EXCEPTION_RESPONSE
    assert run_command(plant, "clear") == "every unit answers again"
    assert _read(plant, BALANCE, "net_mass") == Decimal("14.0")


def test_a_bad_command_is_answered_with_the_help_and_changes_nothing(plant: SimulatedPlant) -> None:
    assert run_command(plant, "place lots").startswith("not done:")
    assert run_command(plant, "set 9 x 1").startswith("not done:")
    assert run_command(plant, "juggle") == HELP
    assert _read(plant, BALANCE, "net_mass") == Decimal("0")
