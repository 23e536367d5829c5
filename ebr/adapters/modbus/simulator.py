"""SimulatedPlant: the demo plant's Modbus TCP gateway, a real pymodbus server in a thread of its own.

Each instrument is a pymodbus SimDevice whose registers are filled, on every read, from the plant's current state
(the SimDevice action callback): so a value placed on the balance, a drifting temperature, an injected exception
code or a muted unit is what the next read sees, exactly as a client on the network would. Nothing here is a mock of
pymodbus: the demo and the tests talk to it through ModbusReader over a loopback socket.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimAction, SimData, SimDevice

from ebr.adapters.modbus.devices import BALANCE, SimulatedDevice, demo_devices
from ebr.domain.equipment import WIDTH, Endpoint, encode
from ebr.domain.steps import TagDefinition

START_TIMEOUT_S = 5.0
READ_INPUT_REGISTERS = 4
GATEWAY = 0  # pymodbus answers requests for unit ids it does not know from device 0, as a gateway would


@dataclass
class _Unit:
    """One instrument's state: its values (engineering units), when it comes to rest, and any injected failure."""

    device: SimulatedDevice
    values: dict[str, Decimal]
    settle_until: float = 0.0
    fault: int | None = None
    muted: bool = False


class SimulatedPlant:
    """Instruments by unit id behind one Modbus TCP port, with controls to move values and to inject failures.

    The default instruments (see devices.py): 1 balance, 2 dryer temperature probe, 3 pH probe, 4 granulator,
    5 fluid-bed dryer. A unit id with no instrument answers exception 11, as a gateway does.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        devices: Sequence[SimulatedDevice] | None = None,
        moving: bool = True,
        settle_s: float = 1.5,
    ) -> None:
        """Port 0 picks a free port at the first start() and keeps it, so the plant can go down and come back."""
        self.host = host
        self._port = port
        self._units = {
            d.unit_id: _Unit(d, dict(d.values)) for d in (devices if devices is not None else demo_devices())
        }
        self._moving = moving
        self._settle_s = settle_s
        self._epoch = time.monotonic()
        self._muted_all = False
        self._lock = threading.Lock()  # state is changed from the caller's thread and read on the server's loop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The TCP port (0 until the first start() when none was given)."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._thread is not None and self._thread.is_alive()

    def endpoint(self, unit_id: int, timeout_s: float = 0.5, retries: int = 1) -> Endpoint:
        """Where a unit of this plant answers."""
        return Endpoint(self.host, self._port, unit_id, timeout_s, retries)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> int:
        """Listen and return the port once connections are accepted; a second call is a no-op."""
        if self.running:
            return self._port
        if self._port == 0:
            self._port = _free_port(self.host)
        ready = threading.Event()
        self._failure = None
        self._thread = threading.Thread(target=self._run, args=(ready,), name=f"plant-{self._port}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"the simulated plant could not listen on {self.host}:{self._port}: {self._failure}")
        return self._port

    def stop(self) -> None:
        """Close the port and every connection; requests a muted unit was holding are dropped unanswered."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with suppress(RuntimeError):  # the loop already closed: the server died on its own
                loop.call_soon_threadsafe(stopping.set)
        thread.join(START_TIMEOUT_S)
        self._thread, self._loop, self._stopping = None, None, None

    def __enter__(self) -> SimulatedPlant:
        """Start, for a with block."""
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        """Stop at the end of the with block."""
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(ready))
        except Exception as exc:  # handed to start(), which raises it in the caller's thread
            self._failure = exc
            ready.set()
        finally:
            _drop_pending(loop)
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        devices = [self._sim_device(unit_id, unit.device) for unit_id, unit in self._units.items()]
        server = ModbusTcpServer([*devices, self._gateway()], address=(self.host, self._port))
        await server.serve_forever(background=True)
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            await server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated

    # ---- controls --------------------------------------------------------------------------------------------

    def place(self, gross: Decimal | float | str, tare: Decimal | float | str = 0, unit_id: int = BALANCE) -> None:
        """Put a load on a balance: net = gross - tare; it reads 'not stable' for the settle time, then stable."""
        masses = {"gross_mass": _decimal(gross), "tare_mass": _decimal(tare)}
        masses["net_mass"] = masses["gross_mass"] - masses["tare_mass"]
        with self._lock:
            unit = self._unit(unit_id)
            for tag_id, mass in masses.items():
                encode(self._tag(unit, tag_id), mass)  # raises ValueError here, not later on the server's loop
            unit.values.update(masses)
            unit.settle_until = time.monotonic() + self._settle_s

    def set_value(
        self, unit_id: int, tag: str | int, value: Decimal | float | str, register_type: str = "holding"
    ) -> None:
        """Set a value in engineering units, by tag id or register (NaN and infinity too, for float tags).

        Setting a unit's age tag (e.g. value_age = 30) is how a frozen, stale instrument is simulated.
        """
        number = _decimal(value)
        with self._lock:
            unit = self._unit(unit_id)
            definition = self._tag(unit, tag, register_type)
            encode(definition, number)  # raises ValueError here, not later on the server's loop
            unit.values[definition.id] = number

    def fail(self, unit_id: int, exception_code: int) -> None:
        """From now on every read of this unit answers this Modbus exception code (e.g. 6, device busy)."""
        code = int(ExcCodes(exception_code))  # refuses codes Modbus does not define
        with self._lock:
            self._unit(unit_id).fault = code

    def mute(self, unit_id: int | None = None) -> None:
        """The unit (or, with None, every unit) keeps accepting requests and never answers them."""
        with self._lock:
            if unit_id is None:
                self._muted_all = True
            else:
                self._unit(unit_id).muted = True

    def clear_faults(self) -> None:
        """Every unit answers normally again (injected exception codes and mutes are lifted)."""
        with self._lock:
            self._muted_all = False
            for unit in self._units.values():
                unit.fault, unit.muted = None, False

    def reset(self) -> None:
        """Every unit back to its starting values and at rest, with no injected failure."""
        self.clear_faults()
        with self._lock:
            for unit in self._units.values():
                unit.values, unit.settle_until = dict(unit.device.values), 0.0

    def _unit(self, unit_id: int) -> _Unit:
        unit = self._units.get(unit_id)
        if unit is None:
            raise ValueError(f"the simulated plant has no unit {unit_id} (it has {sorted(self._units)})")
        return unit

    @staticmethod
    def _tag(unit: _Unit, tag: str | int, register_type: str = "holding") -> TagDefinition:
        cls = unit.device.equipment
        found = next(
            (t for t in cls.tags if t.id == tag or (t.register == tag and t.register_type == register_type)), None
        )
        if found is None:
            raise ValueError(f"{cls.id} has no tag {tag!r}")
        return found

    # ---- what a read sees ------------------------------------------------------------------------------------

    def _sim_device(self, unit_id: int, device: SimulatedDevice) -> SimDevice:
        """Non-shared tables: holding and input registers are separate, as on the instruments."""
        tags = device.equipment.tags
        # pymodbus needs a coil and a discrete-input table; one unused bit each, read-only like everything else.
        bits = [SimData(0, values=False, datatype=DataType.BITS, readonly=True)]
        return SimDevice(
            unit_id,
            simdata=(bits, list(bits), _table(tags, "holding"), _table(tags, "input")),
            action=self._action(unit_id),
        )

    def _gateway(self) -> SimDevice:
        everything = [SimData(0, count=65536, values=0, datatype=DataType.REGISTERS, readonly=True)]
        bits = [SimData(0, values=False, datatype=DataType.BITS, readonly=True)]

        async def no_such_unit(*_: object) -> ExcCodes | None:
            await self._wait_if_muted(None)
            return ExcCodes.GATEWAY_NO_RESPONSE

        return SimDevice(GATEWAY, simdata=(bits, list(bits), everything, list(everything)), action=no_such_unit)

    def _action(self, unit_id: int) -> SimAction:
        async def on_access(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            await self._wait_if_muted(unit_id)
            table = "input" if function_code == READ_INPUT_REGISTERS else "holding"
            with self._lock:
                unit = self._units[unit_id]
                if unit.fault is not None:
                    return ExcCodes(unit.fault)
                words = self._words(unit, table, time.monotonic())
            for register, values in words:
                registers[register - start_address : register - start_address + len(values)] = values
            return None

        return on_access

    async def _wait_if_muted(self, unit_id: int | None) -> None:
        with self._lock:
            muted = self._muted_all or (unit_id is not None and self._units[unit_id].muted)
        if muted:
            # A future nobody completes: the request stays unanswered until stop() cancels what is pending.
            await asyncio.get_running_loop().create_future()

    def _words(self, unit: _Unit, table: str, now: float) -> list[tuple[int, tuple[int, ...]]]:
        """The registers of every tag in one table, from the unit's values at this moment."""
        cls = unit.device.equipment
        found: list[tuple[int, tuple[int, ...]]] = []
        for tag in cls.tags:
            if tag.register_type != table:
                continue
            value = unit.values[tag.id]
            drift = unit.device.drift.get(tag.id)
            if self._moving and drift is not None and value.is_finite():
                value += drift.offset_at(now - self._epoch)
            if tag.id == cls.stable_tag and now < unit.settle_until:
                value = Decimal(0)
            found.append((tag.register, encode(tag, value)))
        return found


def _table(tags: Sequence[TagDefinition], register_type: str) -> list[SimData]:
    """One block per tag; gaps between them are undefined, so reading one answers exception 2 like a device."""
    blocks = [
        SimData(t.register, values=[0] * WIDTH[t.type], datatype=DataType.REGISTERS, readonly=True)
        for t in tags
        if t.register_type == register_type
    ]
    # A unit without this table still needs one block; an invalid one makes every address answer exception 2.
    return blocks or [SimData(0, datatype=DataType.INVALID)]


def _decimal(value: Decimal | float | str) -> Decimal:
    """Floats through their repr, so 72.5 stays 72.5 and NaN and infinity stay what they are."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _drop_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still waiting (requests held by a muted unit), so the loop closes without warnings."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
