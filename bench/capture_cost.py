"""What one Capture costs on the server, against the simulated balance on loopback: a table, not a test.

The demo plant is seeded into a fresh database (users, signed policy, effective procedures, master data, equipment
cleaned and calibrated through signed logbook entries); its simulated Modbus gateway runs in this process on a free
loopback port. A quick check batch is started, its container and balance scanned and the step signed; at the
weighing step the balance holds 1.000 kg, at rest. Then, alternately, the operator's Capture of the net mass
(CaptureService.capture: a short read of the step, the Modbus read with no transaction open, a short write of the
value with its source) and, for comparison, a typed manual override of the same field (ExecutionService.enter).
The Modbus read alone (ModbusReader.read of the value, stable and age tags) is timed apart.

Run from the repository root:

    .venv/bin/python bench/capture_cost.py                       # 300 of each on SQLite, about 20 seconds
    .venv/bin/python bench/capture_cost.py --database-url URL    # an empty PostgreSQL database instead
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ebr.adapters.modbus.client import ModbusReader
from ebr.adapters.modbus.devices import balance as balance_device
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, RequestInfo
from ebr.app.execution_corrections import Entry
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime, build, migrate
from ebr.config import Settings
from ebr.demo.plant import DEMO_PASSWORD, seed
from ebr.domain.equipment import tags_to_read

REPO = Path(__file__).resolve().parent.parent
KIOSK = RequestInfo("10.0.0.7", "kiosk-7", "bench")


@dataclass(frozen=True)
class Floor:
    """The weighing step of a started quick check, and who performs it."""

    rt: Runtime
    operator: Actor
    batch_id: str
    step_pk: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def person(rt: Runtime, username: str) -> Actor:
    user = next(u for u in rt.services.accounts.list_users() if u.username == username)
    return Actor(user.id, user.username, user.full_name)


def weighing_step(rt: Runtime) -> Floor:
    """Release the demo's quick check order, start it, scan and sign the identification: the weighing is next."""
    olivia, sam = person(rt, "olivia"), person(rt, "sam")
    order = next(o for o in rt.services.orders.list() if o.order.product_code == "QC-SAMPLE")
    rt.services.orders.release(sam, order.id)
    batch_id = rt.services.batches.start(olivia, order.id).batch.id
    step = rt.services.execution.batch(batch_id).open_steps[0].record
    for field, barcode in (("qc_lot", "C-MC-0001"), ("qc_balance_id", "BAL-01")):
        rt.services.execution.enter(olivia, batch_id, step.id, Entry(field, barcode), KIOSK)
    token = rt.services.auth.login("olivia", DEMO_PASSWORD, KIOSK).token
    challenge = rt.services.signing.request(olivia, token, "batch_step", str(step.id), "performed").challenge
    credentials = Credentials(DEMO_PASSWORD, "olivia", acknowledged=True)
    rt.services.signing.sign(olivia, token, challenge.id, challenge.content_hash, credentials)
    return Floor(rt, olivia, batch_id, rt.services.execution.batch(batch_id).open_steps[0].record.id)


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def row(name: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.2f} | {p95:.2f} | {statistics.fmean(ms):.2f} | {max(ms):.2f} |"
    )


def run(database_url: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            env="development",
            instance_path=Path(folder) / "instance",
            database_url=database_url,
            library_dir=REPO,
            fast_password_hashing=True,
            demo_modbus_port=free_port(),
        )
        migrate(settings)
        rt = build(settings)
        seed(rt)
        with SimulatedPlant("127.0.0.1", settings.demo_modbus_port, moving=False, settle_s=0.0) as plant:
            plant.place(gross="1.000", tare="0")
            floor = weighing_step(rt)
            report(floor, plant, rounds)
        rt.engine.dispose()


def report(floor: Floor, plant: SimulatedPlant, rounds: int) -> None:
    rt, services = floor.rt, floor.rt.services
    capture = lambda: services.capture.capture(floor.operator, floor.batch_id, floor.step_pk, "qc_mass", KIOSK)  # noqa: E731
    texts = iter(f"1.00{n % 10}" for n in range(10**6))
    typed = lambda: services.execution.enter(  # noqa: E731
        floor.operator,
        floor.batch_id,
        floor.step_pk,
        Entry("qc_mass", next(texts), "kg", override_reason="bench"),
        KIOSK,
    )
    endpoint = plant.endpoint(1)
    reader = ModbusReader(services.clock.now)
    tags = tags_to_read(balance_device().equipment, "net_mass")
    timed(capture, 20)  # warm-up: caches, connections, first imports
    timed(typed, 20)
    read_ms = timed(lambda: reader.read(endpoint, tags), rounds)
    capture_ms, typed_ms = [], []
    for _ in range(rounds):
        capture_ms += timed(capture, 1)
        typed_ms += timed(typed, 1)
    print(f"{rt.engine.dialect.name}, {rounds} of each, alternating; ms per call")
    print("| call | n | median | p95 | mean | max |")
    print("|---|---|---|---|---|---|")
    print(row("Modbus read alone (value, stable, age)", read_ms))
    print(row("Capture (server side, end to end)", capture_ms))
    print(row("typed override (ExecutionService.enter)", typed_ms))
    ratio = statistics.median(capture_ms) / statistics.median(typed_ms)
    goal = "met" if statistics.median(capture_ms) < 20 else "missed"
    print(f"capture / typed entry, medians: {ratio:.2f}; capture median under 20 ms: {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite in a temp folder)")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    run(args.database_url, args.rounds)


if __name__ == "__main__":
    main()
