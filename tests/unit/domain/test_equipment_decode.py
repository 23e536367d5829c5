"""Registers to values and readings: data types, word and byte order, scale and offset, and the faults (DEV-02)."""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebr.domain.equipment import (
    WIDTH,
    DeviceFault,
    FaultKind,
    RawRead,
    decode,
    decode_raw,
    encode,
    tags_to_read,
    validate,
)
from ebr.domain.errors import InvalidInput
from ebr.domain.steps import EquipmentClass, TagDefinition

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def tag(
    data_type: str, word_order: str = "big", byte_order: str = "big", scale: str = "1", offset: str = "0"
) -> TagDefinition:
    return TagDefinition(
        "value", 0, data_type, word_order=word_order, byte_order=byte_order, scale=scale, offset=offset
    )


# Registers worked out by hand from the IEEE 754 and two's complement encodings, e.g. float32 72.5 = 0x42910000.
DECODE_TABLE = [
    ("int16 positive", tag("int16"), (0x01C4,), "452"),
    ("int16 negative, two's complement", tag("int16"), (0xFB2E,), "-1234"),
    ("int16 bytes swapped inside the word", tag("int16", byte_order="little"), (0x2EFB,), "-1234"),
    ("uint16 top of range", tag("uint16"), (0xFFFF,), "65535"),
    ("uint16 bytes swapped", tag("uint16", byte_order="little"), (0x3412,), "4660"),
    ("int32 high word first", tag("int32"), (0xFFFE, 0x1DC0), "-123456"),
    ("int32 low word first", tag("int32", "little"), (0x1DC0, 0xFFFE), "-123456"),
    ("uint32 high word first", tag("uint32"), (0xEE6B, 0x2800), "4000000000"),
    ("uint32 low word first, bytes swapped", tag("uint32", "little", "little"), (0x0028, 0x6BEE), "4000000000"),
    ("float32 big endian (ABCD)", tag("float32"), (0x4291, 0x0000), "72.5"),
    ("float32 word swapped (CDAB)", tag("float32", "little"), (0x0000, 0x4291), "72.5"),
    ("float32 byte swapped (BADC)", tag("float32", byte_order="little"), (0x9142, 0x0000), "72.5"),
    ("float32 little endian (DCBA)", tag("float32", "little", "little"), (0x0000, 0x9142), "72.5"),
    ("float32 negative", tag("float32"), (0xC221, 0x0000), "-40.25"),
    ("float32 reads as the decimal it was written as", tag("float32"), (0x40E0, 0x51EC), "7.01"),
    ("float64 big endian", tag("float64"), (0x4092, 0xC200, 0x0000, 0x0000), "1200.5"),
    ("float64 words reversed", tag("float64", "little"), (0x0000, 0x0000, 0xC200, 0x4092), "1200.5"),
    ("float64 shortest repr", tag("float64"), (0xBFB9, 0x9999, 0x9999, 0x999A), "-0.1"),
    ("tenths of a degree", tag("int16", scale="0.1"), (0x01C4,), "45.2"),
    ("watts shown in kW", tag("uint32", scale="0.001"), (0x0000, 0x1450), "5.200"),
    ("kelvin hundredths to °C by an offset", tag("uint16", scale="0.01", offset="-273.15"), (0x7445,), "24.50"),
    ("offset without scale", tag("int16", offset="100"), (0xFFFF,), "99"),
]
CASES = [pytest.param(definition, registers, text, id=name) for name, definition, registers, text in DECODE_TABLE]


@pytest.mark.parametrize(("definition", "registers", "expected"), CASES)
def test_registers_decode_to_the_engineering_value(
    definition: TagDefinition, registers: tuple[int, ...], expected: str
) -> None:
    value = decode(definition, registers)
    assert value == Decimal(expected)
    assert str(value) == expected  # exact: no binary noise, the scale's places kept


@pytest.mark.parametrize(("definition", "registers", "expected"), CASES)
def test_encoding_the_value_gives_back_the_same_registers(
    definition: TagDefinition, registers: tuple[int, ...], expected: str
) -> None:
    assert encode(definition, Decimal(expected)) == registers


def test_the_raw_value_is_the_number_before_scale_and_offset() -> None:
    assert decode_raw(tag("uint16", scale="0.01", offset="-273.15"), (0x7445,)) == Decimal(29765)


def test_every_data_type_has_a_register_width() -> None:
    assert dict(WIDTH) == {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}


@pytest.mark.parametrize(
    ("definition", "registers", "shown"),
    [
        (tag("float32"), (0x7FC0, 0x0000), "NaN"),
        (tag("float32", "little"), (0x0000, 0x7F80), "+infinity"),
        (tag("float32"), (0xFF80, 0x0000), "-infinity"),
        (tag("float64"), (0x7FF8, 0, 0, 0), "NaN"),
        (tag("float64"), (0x7FF0, 0, 0, 0), "+infinity"),
    ],
)
def test_nan_and_infinity_are_not_a_number_faults_naming_the_tag(
    definition: TagDefinition, registers: tuple[int, ...], shown: str
) -> None:
    with pytest.raises(DeviceFault, match=f"value reads {re.escape(shown)}") as caught:
        decode(definition, registers)
    assert caught.value.kind is FaultKind.NOT_A_NUMBER


@pytest.mark.parametrize(
    ("definition", "registers"),
    [(tag("float32"), (0x4291,)), (tag("int16"), (1, 2)), (tag("float64"), (0, 0)), (tag("uint16"), (70000,))],
)
def test_a_wrong_register_count_or_a_word_over_16_bits_is_a_bad_response(
    definition: TagDefinition, registers: tuple[int, ...]
) -> None:
    with pytest.raises(DeviceFault, match="value") as caught:
        decode(definition, registers)
    assert caught.value.kind is FaultKind.BAD_RESPONSE


@pytest.mark.parametrize(
    ("definition", "value"),
    [(tag("uint16"), "-1"), (tag("int16"), "40000"), (tag("int16", scale="0.1"), "3276.8"), (tag("int16"), "NaN")],
)
def test_encode_refuses_a_value_the_registers_cannot_hold(definition: TagDefinition, value: str) -> None:
    with pytest.raises(ValueError, match="cannot be held"):
        encode(definition, Decimal(value))


ORDERS = st.sampled_from(["big", "little"])


@given(st.sampled_from(["int16", "uint16", "int32", "uint32"]), ORDERS, ORDERS, st.integers(-(2**31), 2**32 - 1))
def test_integers_round_trip_in_every_order(data_type: str, word_order: str, byte_order: str, number: int) -> None:
    definition = tag(data_type, word_order, byte_order)
    try:
        registers = encode(definition, Decimal(number))
    except ValueError:
        return  # outside the data type's range
    assert len(registers) == WIDTH[data_type]
    assert decode(definition, registers) == number


@given(st.floats(allow_nan=False, allow_infinity=False), ORDERS, ORDERS)
def test_float64_round_trips_in_every_order(number: float, word_order: str, byte_order: str) -> None:
    definition = tag("float64", word_order, byte_order)
    assert float(decode(definition, encode(definition, Decimal(repr(number))))) == number


@given(st.floats(width=32, allow_nan=False, allow_infinity=False), ORDERS, ORDERS)
def test_float32_reads_back_as_the_same_float32(number: float, word_order: str, byte_order: str) -> None:
    definition = tag("float32", word_order, byte_order)
    value = decode(definition, encode(definition, Decimal(repr(number))))
    (again,) = struct.unpack(">f", struct.pack(">f", float(value)))
    assert again == number


# ---- a capture: which tags, and what makes it trustworthy -------------------------------------------------------

BALANCE = EquipmentClass(
    "balance",
    "Floor scale",
    (
        TagDefinition("net_mass", 0, "float32", unit="kg", minimum="0", maximum="150"),
        TagDefinition("stable", 6, "uint16"),
        TagDefinition("value_age", 7, "uint16", unit="s"),
    ),
    stable_tag="stable",
    age_tag="value_age",
    max_age_s=5,
)
PROBE = EquipmentClass(
    "temperature_probe",
    "Probe",
    (TagDefinition("product_temp", 0, "int16", scale="0.1", unit="°C", minimum="-20", maximum="150"),),
)


def reads(net: tuple[int, int] = (0x4291, 0x0000), stable: int = 1, age: int = 0, at: datetime = NOW) -> list[RawRead]:
    return [RawRead("net_mass", net, at), RawRead("stable", (stable,), at), RawRead("value_age", (age,), at)]


def test_a_capture_reads_the_value_then_the_stable_and_age_tags() -> None:
    assert [t.id for t in tags_to_read(BALANCE, "net_mass")] == ["net_mass", "stable", "value_age"]
    assert [t.id for t in tags_to_read(BALANCE, "stable")] == ["stable", "value_age"]
    assert [t.id for t in tags_to_read(PROBE, "product_temp")] == ["product_temp"]


def test_a_tag_the_class_does_not_have_cannot_be_captured() -> None:
    with pytest.raises(InvalidInput, match="'gross' is not a tag of equipment class 'balance'"):
        tags_to_read(BALANCE, "gross")


def test_a_good_capture_keeps_value_unit_registers_raw_and_read_time() -> None:
    reading = validate(BALANCE, "net_mass", reads(), NOW + timedelta(seconds=1))
    assert (reading.tag_id, reading.value, reading.unit, reading.quality) == ("net_mass", Decimal("72.5"), "kg", "good")
    assert (reading.registers, reading.raw, reading.read_at) == ((0x4291, 0x0000), Decimal("72.5"), NOW)


def test_the_range_is_inclusive_at_both_ends() -> None:
    assert validate(BALANCE, "net_mass", reads(net=(0x4316, 0x0000)), NOW).value == 150
    assert validate(BALANCE, "net_mass", reads(net=(0x0000, 0x0000)), NOW).value == 0


@pytest.mark.parametrize(
    ("net", "shown"), [((0x4316, 0x8000), "150.5 kg"), ((0xBF80, 0x0000), "-1 kg")], ids=["above", "below"]
)
def test_a_value_outside_the_instruments_range_is_refused_naming_value_and_range(
    net: tuple[int, int], shown: str
) -> None:
    with pytest.raises(DeviceFault) as caught:
        validate(BALANCE, "net_mass", reads(net=net), NOW)
    assert caught.value.kind is FaultKind.OUT_OF_RANGE
    assert str(caught.value) == (
        f"net_mass reads {shown}, outside the instrument's range of 0 to 150 kg; check the device and capture again."
    )


def test_a_range_with_one_bound_says_which() -> None:
    probe = replace(PROBE, tags=(replace(PROBE.tags[0], minimum=None),))
    with pytest.raises(DeviceFault, match=r"reads 200\.0 °C, outside the instrument's range of at most 150 °C"):
        validate(probe, "product_temp", [RawRead("product_temp", (2000,), NOW)], NOW)


def test_a_balance_in_motion_is_refused_until_it_is_stable() -> None:
    with pytest.raises(DeviceFault, match="net_mass is not stable yet .*: wait and capture again") as caught:
        validate(BALANCE, "net_mass", reads(stable=0), NOW)
    assert caught.value.kind is FaultKind.UNSTABLE


def test_a_value_the_instrument_has_not_refreshed_for_too_long_is_stale() -> None:
    assert validate(BALANCE, "net_mass", reads(age=5), NOW).value == Decimal("72.5")
    with pytest.raises(DeviceFault, match=r"net_mass is 6 s old \(value_age\), more than the 5 s allowed") as caught:
        validate(BALANCE, "net_mass", reads(age=6), NOW)
    assert caught.value.kind is FaultKind.STALE


def test_a_read_older_than_the_maximum_age_is_stale() -> None:
    assert validate(BALANCE, "net_mass", reads(), NOW + timedelta(seconds=5)).value == Decimal("72.5")
    with pytest.raises(DeviceFault, match=r"net_mass was read 5\.5 s ago, more than the 5 s allowed") as caught:
        validate(BALANCE, "net_mass", reads(), NOW + timedelta(seconds=5.5))
    assert caught.value.kind is FaultKind.STALE


def test_a_class_without_a_maximum_age_never_calls_a_read_stale() -> None:
    reading = validate(PROBE, "product_temp", [RawRead("product_temp", (452,), NOW)], NOW + timedelta(hours=1))
    assert reading.value == Decimal("45.2")


def test_a_missing_read_is_a_bad_response_not_a_crash() -> None:
    with pytest.raises(DeviceFault, match="stable was not read") as caught:
        validate(BALANCE, "net_mass", reads()[:1], NOW)
    assert caught.value.kind is FaultKind.BAD_RESPONSE


def test_not_a_number_is_found_before_the_range() -> None:
    with pytest.raises(DeviceFault) as caught:
        validate(BALANCE, "net_mass", reads(net=(0x7FC0, 0x0000)), NOW)
    assert caught.value.kind is FaultKind.NOT_A_NUMBER
