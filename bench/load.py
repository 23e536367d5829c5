"""Load: N simulated operators run quick-check batches through the HTTP interface at once; a table, not a test.

A fresh PostgreSQL database (dropped and created), `ebr db upgrade`, the demo plant seeded with N operators and
one supervisor per five operators (test hashing profile, EBR_FAST_HASHING=1), each operator's released orders;
then `gunicorn -w 4 'ebr.web.wsgi:create()'` and `ebr worker` as processes of their own and the demo's simulated
Modbus gateway (a real pymodbus server) in this process. Operators arrive at --arrival-rate per second, log in
(with their supervisor, at the same terminal) and run batches one after another with --think-time seconds
(uniform 0.5-1.5 times) before each step; every request is timed. Afterwards: every signature a client saw is in
the database exactly once and nothing else is, every step has one record, every batch a client finished is
completed, and `ebr verify` (audit chain, signatures, documents) exits 0.

Run from the repository root:

    .venv/bin/python bench/load.py --operators 10 --duration 60               # a short run, about 2 minutes
    .venv/bin/python bench/load.py --operators 50 --arrival-rate 1 --think-time 3 --duration 300
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from _load_client import Log, Operator, Refused, Terminal
from _load_report import documents, ebr_verify, integrity, table, verdict
from _load_setup import PASSWORD, REPO, VENV_BIN, Plan, environment, free_port, recreate_database, seed_plan, upgrade

from ebr.adapters.modbus.simulator import SimulatedPlant


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}: see its log")
        try:
            if httpx.get(f"{base}/login", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit("gunicorn did not answer within a minute")


def operate(index: int, plan: Plan, base: str, log: Log, args: argparse.Namespace) -> None:
    """One operator: arrive, log in (with the supervisor), run the orders until the time is up."""
    time.sleep(max(0.0, log.t0 + index / args.arrival_rate - time.perf_counter()))
    username = plan.operators[index]
    address = f"10.1.{index // 250}.{index % 250 + 1}"
    me, verifier = Terminal(base, address, log), Terminal(base, address, log)
    rng = random.Random(index)
    think = lambda: time.sleep(args.think_time * rng.uniform(0.5, 1.5))  # noqa: E731
    operator = Operator(username, plan.supervisor_of(index), PASSWORD, me, verifier)
    try:
        me.login(username, PASSWORD)
        verifier.login(operator.supervisor, PASSWORD)
        for order_pk, batch_id in plan.orders[username]:
            if args.duration and time.perf_counter() - log.t0 > args.duration:
                break
            try:
                operator.run_batch(order_pk, batch_id, think)
            except (Refused, httpx.HTTPError) as exc:
                log.note(log.failures, f"{username} {batch_id}: {exc}")
    except (Refused, httpx.HTTPError) as exc:
        log.note(log.failures, f"{username}: {exc}")
    finally:
        me.close()
        verifier.close()


def drive(plan: Plan, base: str, args: argparse.Namespace) -> Log:
    log = Log(time.perf_counter())
    threads = [
        threading.Thread(target=operate, args=(i, plan, base, log, args), name=f"operator-{i}", daemon=True)
        for i in range(len(plan.operators))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return log


def report(log: Log, args: argparse.Namespace, libpq_url: str, env: dict[str, str]) -> int:
    print(
        f"\n{args.operators} operators, arrival {args.arrival_rate}/s, think {args.think_time} s, "
        f"gunicorn -w {args.workers}, duration {args.duration or 'all orders'} s; "
        f"{len(log.completed)} batches completed, {len(log.signed)} step signatures"
    )
    for line in table(log.samples) + verdict(log.samples):
        print(line)
    for failure in log.failures[:20]:
        print(f"client failure: {failure}")
    problems = integrity(log, libpq_url)
    for problem in problems[:20]:
        print(f"INTEGRITY: {problem}")
    print(f"lost or duplicated steps: {'none' if not problems else len(problems)}")
    print(f"record PDFs the worker rendered meanwhile: {documents(libpq_url)}")
    code, output = ebr_verify(env)
    print(f"ebr verify: exit {code}\n{output}")
    return 0 if code == 0 and not problems and not log.failures else 1


def run(args: argparse.Namespace) -> int:
    database_url = recreate_database(args.server, args.database)
    libpq_url = f"{args.server.rsplit('/', 1)[0]}/{args.database}"
    with tempfile.TemporaryDirectory(prefix="ebr-load-") as folder, ExitStack() as stack:
        port, modbus_port = free_port(), free_port()
        env = environment(database_url, Path(folder) / "instance", port, modbus_port)
        upgrade(env)
        started = time.perf_counter()
        plan = seed_plan(env, args.operators, args.batches_per_operator)
        print(f"seeded in {time.perf_counter() - started:.1f} s; logs in {folder}", flush=True)
        plant = stack.enter_context(SimulatedPlant("127.0.0.1", modbus_port, moving=False, settle_s=0.0))
        plant.place(gross="1.000", tare="0")
        gunicorn = [str(VENV_BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--timeout", "120"]
        web = start([*gunicorn, "ebr.web.wsgi:create()"], env, Path(folder) / "gunicorn.log")
        stack.callback(stop, web)
        worker = start([str(VENV_BIN / "ebr"), "worker"], env, Path(folder) / "worker.log")
        stack.callback(stop, worker)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, web)
        log = drive(plan, base, args)
        stack.close()  # the servers stop before the checks, so nothing is still being written
        return report(log, args, libpq_url, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--arrival-rate", type=float, default=1.0, help="operators arriving per second")
    parser.add_argument("--think-time", type=float, default=3.0, help="mean seconds before each step")
    parser.add_argument("--duration", type=float, default=0, help="seconds after which no new batch starts (0: all)")
    parser.add_argument("--batches-per-operator", type=int, default=3, help="released orders per operator")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="ebr_load", help="dropped and created")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
