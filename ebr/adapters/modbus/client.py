"""ModbusReader: the DeviceReader port on a synchronous pymodbus TCP client, with every wait bounded.

One connection per capture, closed afterwards: a capture is rare (an operator presses a button), so holding sockets
open would only add reconnect states to reason about. Each tag's read waits at most timeout x (retries + 1).
Decoding and validation are the domain's; this module only moves registers and names what went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ebr.domain.equipment import WIDTH, DeviceFault, Endpoint, FaultKind, RawRead
from ebr.domain.steps import TagDefinition

# The standard Modbus exception codes, as the Modbus Application Protocol specification names them.
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge (still processing)",
    6: "server device busy",
    7: "negative acknowledge",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
AGAIN = "check the device and capture again."


class ModbusReader:
    """Reads tags over Modbus TCP; every failure is a DeviceFault whose message an operator can act on (DEV-02)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        """Take the clock that stamps each read (timezone-aware UTC)."""
        self._now = now
        # pymodbus logs an ERROR for every refused connection and every unanswered retry. The fault raised here says
        # the same once, in words an operator understands, and the caller records it; the library's own lines would
        # only repeat it. Set here, not at import: nothing happens at import.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    def read(self, endpoint: Endpoint, tags: Sequence[TagDefinition]) -> tuple[RawRead, ...]:
        """The registers of each tag in order; stops at the first tag that fails."""
        client = ModbusTcpClient(
            endpoint.host, port=endpoint.port, timeout=endpoint.timeout_s, retries=endpoint.retries
        )
        try:
            if not client.connect():  # type: ignore[no-untyped-call]  # pymodbus leaves connect() unannotated
                raise _unreachable(endpoint, "no connection could be made")
            return tuple(self._read_tag(client, endpoint, tag) for tag in tags)
        finally:
            client.close()  # type: ignore[no-untyped-call]  # as connect()

    def _read_tag(self, client: ModbusTcpClient, endpoint: Endpoint, tag: TagDefinition) -> RawRead:
        read = client.read_input_registers if tag.register_type == "input" else client.read_holding_registers
        try:
            response = read(tag.register, count=WIDTH[tag.type], device_id=endpoint.unit_id)
        except ModbusIOException as exc:
            raise _timeout(endpoint, tag) from exc
        except ConnectionException as exc:
            raise _unreachable(endpoint, f"the connection was lost while reading {tag.id}") from exc
        except ModbusException as exc:
            raise DeviceFault(
                FaultKind.BAD_RESPONSE, f"{_where(endpoint)} gave an unreadable answer for {tag.id}; {AGAIN}"
            ) from exc
        if response.isError():
            raise _exception_response(endpoint, tag, int(getattr(response, "exception_code", 0)))
        return RawRead(tag.id, tuple(response.registers), self._now())


def _where(endpoint: Endpoint) -> str:
    return f"{endpoint.host}:{endpoint.port} unit {endpoint.unit_id}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _unreachable(endpoint: Endpoint, what: str) -> DeviceFault:
    return DeviceFault(
        FaultKind.UNREACHABLE,
        f"{_where(endpoint)} cannot be reached ({what}, waited at most {_seconds(endpoint.timeout_s)}); "
        "check that the device is on and connected, then capture again.",
    )


def _timeout(endpoint: Endpoint, tag: TagDefinition) -> DeviceFault:
    attempts = endpoint.retries + 1
    bound = endpoint.timeout_s * attempts
    plural = "attempt" if attempts == 1 else "attempts"
    return DeviceFault(
        FaultKind.TIMEOUT,
        f"{_where(endpoint)} did not answer for {tag.id} within {_seconds(bound)} "
        f"({attempts} {plural} of {_seconds(endpoint.timeout_s)}); {AGAIN}",
    )


def _exception_response(endpoint: Endpoint, tag: TagDefinition, code: int) -> DeviceFault:
    name = EXCEPTION_NAMES.get(code, "not a standard code")
    table = "input" if tag.register_type == "input" else "holding"
    return DeviceFault(
        FaultKind.EXCEPTION_RESPONSE,
        f"{_where(endpoint)} answered the read of {tag.id} ({table} register {tag.register}) with Modbus exception "
        f"{code}, {name}; {AGAIN}",
    )
