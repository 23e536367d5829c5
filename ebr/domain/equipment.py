"""Values from the plant: where a device is, what a read returns, and what makes a reading trustworthy (DEV-01, DEV-02).

A read is turned into a value here, purely: registers → number by data type, word and byte order, then scale and
offset; NaN, infinity, a value outside the instrument's physical range, an unstable balance or a stale value are faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ebr.domain.errors import DomainError


class FaultKind(StrEnum):
    """Why a capture failed; each has its own message for the operator."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    EXCEPTION_RESPONSE = "exception_response"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    STALE = "stale"
    UNSTABLE = "unstable"


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
