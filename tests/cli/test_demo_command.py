"""`ebr demo` as a newcomer runs it: one command brings up the web app, the fake ERP with its page of what it
received, and the simulated Modbus plant, all on 127.0.0.1; Ctrl-C stops every part with exit status 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ebr.bootstrap import build
from ebr.config import from_env
from ebr.domain.orders import OrderStatus

pytestmark = pytest.mark.slow

# A shell that starts the test run in the background leaves SIGINT ignored, and exec keeps it ignored; a terminal's
# Ctrl-C reaches a process whose SIGINT raises KeyboardInterrupt. The launcher restores that, then runs `ebr`.
LAUNCHER = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); from ebr.cli import main; main()"
)
STARTUP_S = 90
ERP_LINE = re.compile(r"Fake ERP on http://127\.0\.0\.1:(\d+)/postings; what it received: (\S+/)$", re.MULTILINE)


@dataclass
class Demo:
    """A running `ebr demo` process and where its parts listen."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    out: Path
    err: Path
    web_port: int
    modbus_port: int

    def output(self) -> str:
        return self.out.read_text("utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answer(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # a loopback http:// URL built here
        return response.status, response.read()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def wait_for_health(demo: Demo) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert demo.process.poll() is None, f"ebr demo exited early:\n{demo.err.read_text('utf-8')}"
        try:
            if answer(f"http://127.0.0.1:{demo.web_port}/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"/health did not answer within {STARTUP_S} s")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    web_port, modbus_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EBR_")},
        "EBR_INSTANCE_PATH": str(tmp_path / "instance"),
        "EBR_DEMO_MODBUS_PORT": str(modbus_port),
        "EBR_FAST_HASHING": "1",
        "EBR_WORKER_INTERVAL": "1",
    }
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "demo", "--port", str(web_port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    running = Demo(process, env, out, err, web_port, modbus_port)
    try:
        wait_for_health(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_ebr_demo_serves_the_plant_on_loopback_and_ctrl_c_stops_it_cleanly(demo: Demo) -> None:
    printed = demo.output()
    assert "Demo users (password Demo-Passw0rd!): olivia (operator), sam (supervisor), quinn (qa)" in printed
    found = ERP_LINE.search(printed)
    assert found, printed
    erp_port, received_url = int(found.group(1)), found.group(2)
    status, body = answer(received_url)
    assert status == 200 and b"Fake ERP: postings received" in body  # the fake ERP's page of what it received
    assert listening(demo.modbus_port)  # the simulated plant's Modbus TCP server takes connections
    status, _ = answer(f"http://127.0.0.1:{demo.web_port}/login")
    assert status == 200

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=30) == 0
    errors = demo.err.read_text("utf-8")
    assert "Traceback" not in errors and "Exception in thread" not in errors, errors
    assert "Demo stopped" in demo.output()
    for port in (demo.web_port, erp_port, demo.modbus_port):
        assert not listening(port), f"port {port} still listens after Ctrl-C"


def test_ebr_demo_seeds_effective_procedures_and_orders_waiting_from_the_erp(demo: Demo) -> None:
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=30) == 0
    rt = build(from_env(demo.env))
    try:
        waiting = {o.order.order_number for o in rt.services.orders.list(OrderStatus.PLANNED)}
        assert waiting == {"PO-1001", "PO-1002"}
        in_force = {(product, v.procedure_id, v.status) for product, v in rt.services.procedures.product_mapping()}
        assert in_force == {("PARA-500", "granulation", "effective"), ("QC-SAMPLE", "quick_check", "effective")}
        usernames = {u.username for u in rt.services.accounts.list_users()}
        assert {"olivia", "sam", "quinn", "erin", "adam"} <= usernames
    finally:
        rt.engine.dispose()
