"""One simulated plant (a real pymodbus server) on a free loopback port for the whole session, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import SimulatedDevice, demo_devices
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.domain.equipment import Endpoint, Reading, tags_to_read, validate
from ebr.domain.steps import EquipmentClass, TagDefinition

TIMEOUT_S = 0.2  # short waits keep the failure tests fast; the bound under test is timeout x (retries + 1)
SETTLE_S = 0.3
CODEC = 7  # the unit id of a test instrument holding one value of every data type, order, scale and offset


def codec_tag(
    tag_id: str,
    register: int,
    data_type: str,
    *,
    word_order: str = "big",
    byte_order: str = "big",
    scale: str = "1",
    offset: str = "0",
    register_type: str = "holding",
) -> TagDefinition:
    return TagDefinition(
        tag_id,
        register,
        data_type,
        word_order=word_order,
        byte_order=byte_order,
        scale=scale,
        offset=offset,
        register_type=register_type,
    )


# tag, the value the instrument holds, and the registers worked out by hand (float32 72.5 = 0x42910000).
CODEC_TABLE = [
    (codec_tag("int16", 0, "int16"), "-1234", (0xFB2E,)),
    (codec_tag("int16_byte_swapped", 1, "int16", byte_order="little"), "-1234", (0x2EFB,)),
    (codec_tag("uint16", 2, "uint16"), "65535", (0xFFFF,)),
    (codec_tag("int32", 3, "int32"), "-123456", (0xFFFE, 0x1DC0)),
    (codec_tag("int32_word_swapped", 5, "int32", word_order="little"), "-123456", (0x1DC0, 0xFFFE)),
    (codec_tag("uint32", 7, "uint32"), "4000000000", (0xEE6B, 0x2800)),
    (codec_tag("float32_abcd", 9, "float32"), "72.5", (0x4291, 0x0000)),
    (codec_tag("float32_cdab", 11, "float32", word_order="little"), "72.5", (0x0000, 0x4291)),
    (codec_tag("float32_badc", 13, "float32", byte_order="little"), "72.5", (0x9142, 0x0000)),
    (codec_tag("float32_dcba", 15, "float32", word_order="little", byte_order="little"), "72.5", (0x0000, 0x9142)),
    (codec_tag("float64", 17, "float64"), "1200.5", (0x4092, 0xC200, 0x0000, 0x0000)),
    (codec_tag("float64_words_reversed", 21, "float64", word_order="little"), "1200.5", (0, 0, 0xC200, 0x4092)),
    (codec_tag("kelvin_to_celsius", 25, "uint16", scale="0.01", offset="-273.15"), "24.50", (0x7445,)),
    (codec_tag("input_tenths", 0, "int16", scale="0.1", register_type="input"), "45.2", (0x01C4,)),
]


def codec_device() -> SimulatedDevice:
    tags = tuple(tag for tag, _, _ in CODEC_TABLE)
    values = {tag.id: Decimal(value) for tag, value, _ in CODEC_TABLE}
    return SimulatedDevice(CODEC, EquipmentClass("codec", "every encoding", tags), values)


@pytest.fixture(scope="session")
def session_plant() -> Iterator[SimulatedPlant]:
    with SimulatedPlant(devices=[*demo_devices(), codec_device()], moving=False, settle_s=SETTLE_S) as plant:
        yield plant


@pytest.fixture
def plant(session_plant: SimulatedPlant) -> Iterator[SimulatedPlant]:
    session_plant.start()  # a no-op unless a test left it down
    session_plant.reset()
    yield session_plant
    session_plant.reset()


@pytest.fixture
def reader() -> ModbusReader:
    return ModbusReader(lambda: datetime.now(UTC))


def endpoint(plant: SimulatedPlant, unit_id: int, retries: int = 1) -> Endpoint:
    return plant.endpoint(unit_id, timeout_s=TIMEOUT_S, retries=retries)


def capture(reader: ModbusReader, plant: SimulatedPlant, unit_id: int, tag_id: str) -> Reading:
    """What the application does for one device-bound field: read the capture's tags, then validate them."""
    cls = next(d.equipment for d in demo_devices() if d.unit_id == unit_id)
    reads = reader.read(endpoint(plant, unit_id), tags_to_read(cls, tag_id))
    return validate(cls, tag_id, reads, datetime.now(UTC))
