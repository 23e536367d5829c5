"""Values from the plant: where a device is, what a read returns, and what makes a reading trustworthy (DEV-01, DEV-02).

A read is turned into a value here, purely: registers → number by data type, word and byte order, then scale and
offset; NaN, infinity, a value outside the instrument's physical range, an unstable balance or a stale value are faults.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from ebr.domain.errors import DomainError, InvalidInput
from ebr.domain.steps import EquipmentClass, TagDefinition

# 16-bit registers a value of each data type occupies; the library checks register maps against the same table.
WIDTH: Mapping[str, int] = MappingProxyType(
    {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
)
ORDERS = ("big", "little")
_STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}


class FaultKind(StrEnum):
    """Why a capture failed; each has its own message for the operator."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    EXCEPTION_RESPONSE = "exception_response"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    STALE = "stale"
    UNSTABLE = "unstable"
    BAD_RESPONSE = "bad_response"  # an answer that is not what was asked for (wrong register count)


class DeviceFault(DomainError):
    """A read that cannot be trusted; nothing is stored from it and the capture may be retried (DEV-02)."""

    def __init__(self, kind: FaultKind, message: str) -> None:
        """Keep the kind for the audit trail and the message for the operator."""
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class Endpoint:
    """Where an instance answers on Modbus TCP, and how long to wait: at most timeout x (retries + 1)."""

    host: str
    port: int = 502
    unit_id: int = 1
    timeout_s: float = 1.0
    retries: int = 1


@dataclass(frozen=True)
class RawRead:
    """The registers of one tag as the device returned them, and when they arrived."""

    tag_id: str
    registers: tuple[int, ...]
    read_at: datetime


@dataclass(frozen=True)
class Reading:
    """A validated reading: the engineering value with its unit, the raw registers and the read time."""

    tag_id: str
    value: Decimal
    unit: str
    registers: tuple[int, ...]
    read_at: datetime
    quality: str = "good"
    raw: Decimal | None = None  # the number in the registers before scale and offset (DEV-01)


def decode_raw(tag: TagDefinition, registers: Sequence[int]) -> Decimal:
    """The number the device holds in these registers, before scale and offset; NaN and infinity are faults."""
    data = _to_bytes(tag, registers)
    (number,) = struct.unpack(f">{_STRUCT[tag.type]}", data)
    if isinstance(number, int):
        return Decimal(number)
    if not math.isfinite(number):
        what = "NaN (not a number)" if math.isnan(number) else f"{'-' if number < 0 else '+'}infinity"
        raise DeviceFault(
            FaultKind.NOT_A_NUMBER,
            f"{tag.id} reads {what}: the instrument reports no valid measurement; check it and capture again.",
        )
    return _float_decimal(number, tag.type)


def decode(tag: TagDefinition, registers: Sequence[int]) -> Decimal:
    """The engineering value of a tag: raw x scale + offset, exact in Decimal."""
    return decode_raw(tag, registers) * Decimal(tag.scale) + Decimal(tag.offset)


def encode(tag: TagDefinition, value: Decimal) -> tuple[int, ...]:
    """The registers a device holds for this engineering value (the inverse of decode; used by simulated devices).

    Integers are rounded half-even to the tag's resolution; a value its data type cannot hold raises ValueError.
    """
    if tag.type not in _STRUCT:
        raise ValueError(f"tag {tag.id!r} has an unknown data type {tag.type!r}")
    raw = (value - Decimal(tag.offset)) / Decimal(tag.scale)
    try:
        number = float(raw) if tag.type.startswith("float") else int(raw.to_integral_value(ROUND_HALF_EVEN))
        data = struct.pack(f">{_STRUCT[tag.type]}", number)
    except (ValueError, OverflowError, struct.error) as exc:
        raise ValueError(f"{value} cannot be held by {tag.id} ({tag.type}, scale {tag.scale})") from exc
    byteorder = _order(tag.byte_order, "byte")
    words = [int.from_bytes(data[i : i + 2], byteorder) for i in range(0, len(data), 2)]
    return tuple(words if _order(tag.word_order, "word") == "big" else reversed(words))


def _to_bytes(tag: TagDefinition, registers: Sequence[int]) -> bytes:
    """The value's bytes most significant first, whatever order the device keeps its words and bytes in."""
    width = WIDTH.get(tag.type)
    if width is None:
        raise ValueError(f"tag {tag.id!r} has an unknown data type {tag.type!r}")
    if len(registers) != width or any(not 0 <= word <= 0xFFFF for word in registers):
        raise DeviceFault(
            FaultKind.BAD_RESPONSE,
            f"{tag.id} ({tag.type}) needs {width} register(s) of 16 bits; the device returned {list(registers)}. "
            "Capture again; if it repeats, check the equipment class's register map.",
        )
    words = list(registers) if _order(tag.word_order, "word") == "big" else list(reversed(registers))
    byteorder = _order(tag.byte_order, "byte")
    return b"".join(word.to_bytes(2, byteorder) for word in words)


def _order(order: str, what: str) -> Literal["big", "little"]:
    if order == "big":
        return "big"
    if order == "little":
        return "little"
    raise ValueError(f"unknown {what} order {order!r}")


def _float_decimal(number: float, data_type: str) -> Decimal:
    """The shortest decimal that is this float: a float32 7.01 is 7.01, not 7.010000228881836."""
    if data_type == "float32":
        packed = struct.pack(">f", number)
        for digits in range(1, 10):
            text = f"{number:.{digits}g}"
            try:
                if struct.pack(">f", float(text)) == packed:
                    return Decimal(text)
            except OverflowError:  # rounding up past the largest float32: take more digits
                continue
    return Decimal(repr(number))


def tags_to_read(cls: EquipmentClass, tag_id: str) -> tuple[TagDefinition, ...]:
    """What one capture reads: the value tag, then the class's stable tag and age tag if it has them."""
    wanted = dict.fromkeys(name for name in (tag_id, cls.stable_tag, cls.age_tag) if name)
    return tuple(_tag(cls, name) for name in wanted)


def validate(cls: EquipmentClass, tag_id: str, reads: Sequence[RawRead], now: datetime) -> Reading:
    """Turn the reads of one capture into a trustworthy Reading, or raise DeviceFault saying why not (DEV-02).

    Checked in order: a number (not NaN or infinity), within the instrument's range, at rest (the stable tag),
    fresh (the age tag and the read time against max_age_s).
    """
    by_tag = {read.tag_id: read for read in reads}
    tag = _tag(cls, tag_id)
    read = _read_of(by_tag, tag_id)
    raw = decode_raw(tag, read.registers)
    value = raw * Decimal(tag.scale) + Decimal(tag.offset)
    _check_range(tag, value)
    if cls.stable_tag:
        _check_stable(cls, tag, by_tag)
    if cls.max_age_s is not None:
        _check_age(cls, tag, read, by_tag, now)
    return Reading(tag.id, value, tag.unit, tuple(read.registers), read.read_at, raw=raw)


def _tag(cls: EquipmentClass, tag_id: str) -> TagDefinition:
    tag = cls.tag(tag_id)
    if tag is None:
        raise InvalidInput(f"{tag_id!r} is not a tag of equipment class {cls.id!r}.")
    return tag


def _read_of(by_tag: Mapping[str, RawRead], tag_id: str) -> RawRead:
    read = by_tag.get(tag_id)
    if read is None:
        raise DeviceFault(FaultKind.BAD_RESPONSE, f"{tag_id} was not read from the device; capture again.")
    return read


def _with_unit(value: object, unit: str) -> str:
    return f"{value} {unit}" if unit else str(value)


def _check_range(tag: TagDefinition, value: Decimal) -> None:
    """Outside the instrument's physical range (inclusive) the value is a device fault, not a process result."""
    low = None if tag.minimum is None else Decimal(tag.minimum)
    high = None if tag.maximum is None else Decimal(tag.maximum)
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        span = f"{low} to {_with_unit(high, tag.unit)}"
    else:
        span = f"at least {_with_unit(low, tag.unit)}" if low is not None else f"at most {_with_unit(high, tag.unit)}"
    raise DeviceFault(
        FaultKind.OUT_OF_RANGE,
        f"{tag.id} reads {_with_unit(value, tag.unit)}, outside the instrument's range of {span}; "
        "check the device and capture again.",
    )


def _check_stable(cls: EquipmentClass, tag: TagDefinition, by_tag: Mapping[str, RawRead]) -> None:
    stable = _tag(cls, cls.stable_tag)
    if decode(stable, _read_of(by_tag, stable.id).registers) == 0:
        raise DeviceFault(
            FaultKind.UNSTABLE, f"{tag.id} is not stable yet ({stable.id} reads 0): wait and capture again."
        )


def _check_age(
    cls: EquipmentClass, tag: TagDefinition, read: RawRead, by_tag: Mapping[str, RawRead], now: datetime
) -> None:
    """Stale if the instrument says its value is old (the age tag, in seconds) or the read itself is old."""
    limit = Decimal(cls.max_age_s or 0)
    if cls.age_tag:
        age_tag = _tag(cls, cls.age_tag)
        age = decode(age_tag, _read_of(by_tag, age_tag.id).registers)
        if age > limit:
            raise DeviceFault(
                FaultKind.STALE,
                f"{tag.id} is {age} s old ({age_tag.id}), more than the {limit} s allowed: the instrument has not "
                "refreshed it; check the device and capture again.",
            )
    waited = Decimal(str((now - read.read_at).total_seconds()))
    if waited > limit:
        raise DeviceFault(
            FaultKind.STALE,
            f"{tag.id} was read {waited.quantize(Decimal('0.1'))} s ago, more than the {limit} s allowed; "
            "capture again.",
        )
