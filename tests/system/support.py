"""Real processes for the fault tests: `ebr` commands and gunicorn run as an operator starts them, over the test's
database and instance folder; waits are for conditions, each with a bound."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from ebr.config import Settings
from tests.factories import CSRF_RE, PASSWORD

REPO = Path(__file__).resolve().parents[2]  # the repository's content folders are the demo plant's library
BIN = Path(sys.executable).parent


def ebr_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment an operator sets for this instance: the same database, instance folder and library."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EBR_")}
    env |= {
        "EBR_ENV": "test",
        "EBR_INSTANCE_PATH": str(settings.instance_path),
        "EBR_DATABASE_URL": settings.database_url,
        "EBR_FAST_HASHING": "1",
        "EBR_LIBRARY_DIR": str(REPO),
        "EBR_BUILD_COMMIT": settings.build_commit,
    }
    return env | extra


def ebr(settings: Settings, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `ebr ARGS` to its end in its own process (extra: more environment, e.g. EBR_ERP_URL)."""
    return subprocess.run(
        [str(BIN / "ebr"), *args],
        env=ebr_env(settings, **extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_verify_clean(settings: Settings) -> None:
    """The full verifier (audit chain, signatures, stored documents) finds nothing."""
    result = ebr(settings, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout and "FAIL" not in result.stdout + result.stderr, result.stdout + result.stderr


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until the condition holds; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> set[int]:
    """The live child processes of pid (gunicorn's workers of its master)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def kill_hard(pid: int) -> None:
    """kill -9: no handler runs, no transaction is finished, nothing is flushed."""
    os.kill(pid, signal.SIGKILL)


def follow(stream: IO[str]) -> list[str]:
    """The lines a process writes to this pipe, collected as they come by a thread of their own, which closes the
    pipe when the process ends."""
    lines: list[str] = []

    def read() -> None:
        with stream:
            for line in stream:
                lines.append(line)

    threading.Thread(target=read, name="follow", daemon=True).start()
    return lines


def stop(process: subprocess.Popen[str], log: IO[str] | None = None) -> None:
    """End a process this test started (politely, then for good) and close its log."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
    if log is not None:
        log.close()


@dataclass
class Gunicorn:
    """A gunicorn master serving the app with its workers."""

    process: subprocess.Popen[str]
    url: str
    log: Path

    def workers(self) -> set[int]:
        return children(self.process.pid)

    def serving(self) -> bool:
        try:
            return httpx.get(f"{self.url}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def gunicorn(settings: Settings, log: Path, workers: int = 2) -> Iterator[Gunicorn]:
    """`gunicorn -w N 'ebr.web.wsgi:create()'` on a free loopback port, stopped at the end."""
    url = f"127.0.0.1:{free_port()}"
    out = log.open("w")
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", url, "--graceful-timeout", "5", "ebr.web.wsgi:create()"]
    process = subprocess.Popen(
        command, env=ebr_env(settings), cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True
    )
    server = Gunicorn(process, f"http://{url}", log)
    try:
        wait_for(lambda: len(server.workers()) == workers and server.serving(), 60, "gunicorn to serve")
        yield server
    finally:
        stop(process, out)


class Browser:
    """A person's browser over real HTTP: cookies kept, forms posted with the CSRF token the page carries."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=20)

    def token(self, path: str) -> str:
        match = CSRF_RE.search(self.http.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, username: str) -> None:
        form = {"csrf_token": self.token("/login"), "username": username, "password": PASSWORD}
        assert self.http.post("/login", data=form).status_code == 302

    def close(self) -> None:
        self.http.close()
