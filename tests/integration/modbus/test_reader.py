"""ModbusReader against a real pymodbus server: every encoding, and every way a read fails (DEV-02)."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import BALANCE, FLUID_BED_DRYER, GRANULATOR, TEMPERATURE_PROBE
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.domain.equipment import DeviceFault, Endpoint, FaultKind, decode
from ebr.domain.steps import TagDefinition
from tests.integration.modbus.conftest import CODEC, CODEC_TABLE, TIMEOUT_S, endpoint

SLACK_S = 0.25  # scheduling noise on a loaded machine; the bound itself is what is asserted
NET_MASS = TagDefinition("net_mass", 0, "float32", unit="kg")


@pytest.mark.parametrize(("tag", "value", "registers"), CODEC_TABLE, ids=[tag.id for tag, _, _ in CODEC_TABLE])
def test_each_data_type_and_order_arrives_as_the_registers_the_device_holds(
    plant: SimulatedPlant, reader: ModbusReader, tag: TagDefinition, value: str, registers: tuple[int, ...]
) -> None:
    (read,) = reader.read(endpoint(plant, CODEC), [tag])
    assert read.tag_id == tag.id
    assert read.registers == registers
    assert decode(tag, read.registers) == Decimal(value)
    assert read.read_at.utcoffset() is not None


def test_several_tags_come_back_in_the_order_asked(plant: SimulatedPlant, reader: ModbusReader) -> None:
    tags = [tag for tag, _, _ in reversed(CODEC_TABLE)]
    reads = reader.read(endpoint(plant, CODEC), tags)
    assert [r.tag_id for r in reads] == [t.id for t in tags]
    assert [r.registers for r in reads] == [registers for _, _, registers in reversed(CODEC_TABLE)]


def test_input_registers_are_read_with_their_own_function_code(plant: SimulatedPlant, reader: ModbusReader) -> None:
    speed = TagDefinition("impeller_speed", 0, "uint16", register_type="input")
    bowl = TagDefinition("bowl_temp", 0, "uint16", byte_order="little", scale="0.01", offset="-273.15")
    speed_read, bowl_read = reader.read(endpoint(plant, GRANULATOR), [speed, bowl])
    assert decode(speed, speed_read.registers) == 250  # input register 0
    assert decode(bowl, bowl_read.registers) == Decimal("24.50")  # holding register 0, a different table


@pytest.mark.error_handling
def test_an_address_the_device_does_not_have_answers_exception_2(plant: SimulatedPlant, reader: ModbusReader) -> None:
    nowhere = TagDefinition("nowhere", 100, "uint16")
    with pytest.raises(DeviceFault) as caught:
        reader.read(endpoint(plant, BALANCE), [NET_MASS, nowhere])
    assert caught.value.kind is FaultKind.EXCEPTION_RESPONSE
    assert str(caught.value) == (
        f"127.0.0.1:{plant.port} unit 1 answered the read of nowhere (holding register 100) with Modbus exception 2, "
        "illegal data address; check the device and capture again."
    )


@pytest.mark.error_handling
def test_a_table_the_device_does_not_have_answers_exception_2(plant: SimulatedPlant, reader: ModbusReader) -> None:
    as_input = TagDefinition("net_mass", 0, "float32", register_type="input")
    with pytest.raises(DeviceFault, match=r"net_mass \(input register 0\) with Modbus exception 2, illegal data"):
        reader.read(endpoint(plant, BALANCE), [as_input])


@pytest.mark.error_handling
@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1, "illegal function"),
        (2, "illegal data address"),
        (3, "illegal data value"),
        (4, "server device failure"),
        (6, "server device busy"),
        (10, "gateway path unavailable"),
        (11, "gateway target device failed to respond"),
    ],
)
def test_an_exception_response_is_named_by_code_and_standard_name(
    plant: SimulatedPlant, reader: ModbusReader, code: int, name: str
) -> None:
    plant.fail(BALANCE, code)
    with pytest.raises(
        DeviceFault, match=f"unit 1 answered the read of net_mass .* exception {code}, {name}; "
    ) as caught:
        reader.read(endpoint(plant, BALANCE), [NET_MASS])
    assert caught.value.kind is FaultKind.EXCEPTION_RESPONSE


@pytest.mark.error_handling
def test_a_fault_on_one_unit_leaves_the_others_answering(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.fail(BALANCE, 6)
    product = TagDefinition("product_temp", 0, "int16", scale="0.1")
    (read,) = reader.read(endpoint(plant, TEMPERATURE_PROBE), [product])
    assert decode(product, read.registers) == Decimal("45.0")
    plant.clear_faults()
    assert reader.read(endpoint(plant, BALANCE), [NET_MASS])[0].registers == (0, 0)


@pytest.mark.error_handling
def test_a_unit_id_with_no_device_behind_the_gateway_answers_exception_11(
    plant: SimulatedPlant, reader: ModbusReader
) -> None:
    with pytest.raises(DeviceFault, match="unit 42 answered .* exception 11, gateway target device failed"):
        reader.read(endpoint(plant, 42), [NET_MASS])


@pytest.mark.error_handling("device_timeout")
@pytest.mark.parametrize("retries", [0, 1, 2])
def test_a_device_that_never_answers_times_out_within_timeout_times_attempts(
    plant: SimulatedPlant, reader: ModbusReader, retries: int
) -> None:
    plant.mute(BALANCE)
    bound = TIMEOUT_S * (retries + 1)
    started = time.monotonic()
    with pytest.raises(DeviceFault) as caught:
        reader.read(endpoint(plant, BALANCE, retries=retries), [NET_MASS])
    elapsed = time.monotonic() - started
    assert caught.value.kind is FaultKind.TIMEOUT
    assert bound - 0.05 <= elapsed <= bound + SLACK_S
    attempts = f"{retries + 1} attempt{'s' if retries else ''}"
    assert str(caught.value) == (
        f"127.0.0.1:{plant.port} unit 1 did not answer for net_mass within {bound:g} s ({attempts} of 0.2 s); "
        "check the device and capture again."
    )


@pytest.mark.error_handling
def test_a_muted_gateway_times_out_for_every_unit(plant: SimulatedPlant, reader: ModbusReader) -> None:
    plant.mute()
    for unit_id in (BALANCE, FLUID_BED_DRYER, 42):
        with pytest.raises(DeviceFault) as caught:
            reader.read(endpoint(plant, unit_id, retries=0), [NET_MASS])
        assert caught.value.kind is FaultKind.TIMEOUT
    plant.clear_faults()
    assert reader.read(endpoint(plant, BALANCE), [NET_MASS])[0].registers == (0, 0)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # closed again on leaving: nothing listens there


@pytest.mark.error_handling
def test_nothing_listening_is_unreachable_at_once(reader: ModbusReader) -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(DeviceFault) as caught:
        reader.read(Endpoint("127.0.0.1", port, 1, timeout_s=TIMEOUT_S, retries=2), [NET_MASS])
    assert time.monotonic() - started < TIMEOUT_S
    assert caught.value.kind is FaultKind.UNREACHABLE
    assert str(caught.value) == (
        f"127.0.0.1:{port} unit 1 cannot be reached (no connection could be made, waited at most 0.2 s); "
        "check that the device is on and connected, then capture again."
    )


@pytest.mark.error_handling
def test_reads_fail_while_the_plant_is_down_and_work_when_it_is_back(
    plant: SimulatedPlant, reader: ModbusReader
) -> None:
    port = plant.port
    assert reader.read(endpoint(plant, BALANCE), [NET_MASS])[0].registers == (0, 0)
    plant.stop()
    assert not plant.running
    with pytest.raises(DeviceFault) as caught:
        reader.read(endpoint(plant, BALANCE), [NET_MASS])
    assert caught.value.kind is FaultKind.UNREACHABLE
    assert plant.start() == port
    assert reader.read(endpoint(plant, BALANCE), [NET_MASS])[0].registers == (0, 0)
