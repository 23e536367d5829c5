"""How fast the outbox reaches the ERP: postings per second through `ebr dispatch`, against the fake ERP on loopback.

N postings (a completion and a usage decision for each of N/2 batches) are enqueued, each in its own unit of work
as a use case writes it (B2MML built and validated against the XSD, frozen, audited). Then dispatcher processes,
started as an operator starts them (`ebr dispatch`, EBR_ERP_URL pointing at the fake ERP), deliver them until none
is pending: on PostgreSQL two at once (FOR UPDATE SKIP LOCKED and leases) and one for comparison, on SQLite one.
The fake ERP runs in a process of its own (`python -m ebr.demo.fake_erp`): it validates every body against the
schema, deduplicates on the key and applies each posting once; the report checks from what it received that no key
was applied twice and no batch had two postings in flight. The rate is over the delivery window: from the first
attempt's start to the last attempt's end, as the outbox_attempt rows record them (process start-up excluded).

Run from the repository root:

    .venv/bin/python bench/erp_dispatch.py                                  # SQLite, 1000 postings
    .venv/bin/python bench/erp_dispatch.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test
                                            # also PostgreSQL, in scratch databases created and dropped there
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ebr.app.context import Actor, AuditContext
from ebr.app.outbox import enqueue
from ebr.app.ports import DeliveryAttempt, PostingStatus
from ebr.bootstrap import Runtime, build, migrate, posting_encoder
from ebr.config import Settings
from ebr.domain.erp import MaterialLine, MaterialUse, PerformanceState, Posting, PostingKind

REPO = Path(__file__).resolve().parent.parent


def postings(count: int, run: str) -> list[Posting]:
    """A completion (goods receipt and one consumption) and a usage decision per batch."""
    at = datetime.now(UTC)
    items = []
    for n in range(count // 2):
        batch = f"B-{run}-{n:05d}"
        lines = (
            MaterialLine(MaterialUse.PRODUCED, "PARA-500", batch, Decimal("118.5"), "kg", None, "QualityInspection"),
            MaterialLine(MaterialUse.CONSUMED, "PARA-API", "PA-24001", Decimal("25"), "kg", "C-PA-0001"),
        )
        for kind in (PostingKind.COMPLETION, PostingKind.USAGE_DECISION):
            decided = kind is PostingKind.USAGE_DECISION
            items.append(
                Posting(
                    kind,
                    "EBR-SITE-BENCH",
                    batch,
                    f"PO-{batch}",
                    1,
                    at,
                    "granulation@3",
                    PerformanceState.COMPLETED,
                    lines=() if decided else lines,
                    data=(("QualityDisposition", "Released"),) if decided else (("YieldPercent", "98.75"),),
                )
            )
    return items


def enqueue_all(rt: Runtime, items: Sequence[Posting]) -> float:
    """Enqueue each posting in its own unit of work; returns ms per posting."""
    encoder = posting_encoder()
    started = time.perf_counter()
    for item in items:
        with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now(), "bench")) as uow:
            enqueue(uow, item, encoder, batch_pk=None, record_hash=None)
            uow.commit()
    return (time.perf_counter() - started) * 1000 / len(items)


@contextmanager
def fake_erp() -> Iterator[str]:
    """The fake ERP in a process of its own; yields its posting URL."""
    process = subprocess.Popen([sys.executable, "-m", "ebr.demo.fake_erp"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def start_dispatchers(settings: Settings, erp_url: str, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "EBR_ENV": settings.env,
        "EBR_DATABASE_URL": settings.db_url,
        "EBR_INSTANCE_PATH": str(settings.instance_path),
        "EBR_LIBRARY_DIR": str(REPO),
        "EBR_ERP_URL": erp_url,
    }
    command = [sys.executable, "-c", "from ebr.cli import main; main()", "dispatch", "--interval", "0.1"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]  # noqa: S603  # this interpreter, fixed arguments


@dataclass(frozen=True)
class Result:
    """One configuration's figures."""

    name: str
    postings: int
    enqueue_ms: float
    seconds: float
    requests: int
    max_applied: int
    per_batch: int
    per_key: int
    split: str

    def row(self) -> str:
        rate = self.postings / self.seconds
        return (
            f"| {self.name} | {self.postings} | {self.enqueue_ms:.2f} | {self.seconds:.2f} | {rate:.0f} | "
            f"{self.requests} | {self.max_applied} | {self.per_batch} | {self.per_key} | {self.split} |"
        )


def wait_until_sent(rt: Runtime, count: int, processes: Sequence[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 600
    while rt.services.outbox.counts()[PostingStatus.SENT] < count:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a dispatcher process ended early: see its error above")
        if time.monotonic() > deadline:
            raise TimeoutError("the dispatchers did not deliver everything in time")
        time.sleep(0.1)


def all_attempts(rt: Runtime, count: int) -> list[DeliveryAttempt]:
    return [a for row in rt.services.outbox.dashboard(limit=count) for a in rt.services.outbox.attempts(row.posting.id)]


def configuration(name: str, settings: Settings, dispatchers: int, count: int) -> Result:
    """A migrated database, N postings enqueued, then `dispatchers` processes against a fresh fake ERP."""
    migrate(settings)
    rt = build(settings)
    try:
        ms = enqueue_all(rt, postings(count, uuid.uuid4().hex[:6]))
        with fake_erp() as url:
            processes = start_dispatchers(settings, url, dispatchers)
            try:
                wait_until_sent(rt, count, processes)
            finally:
                for process in processes:
                    process.send_signal(signal.SIGINT)
                for process in processes:
                    process.wait(timeout=30)
            received = httpx.get(url.removesuffix("/postings") + "/received").json()
        attempts = all_attempts(rt, count)
    finally:
        rt.engine.dispose()
    window = max(a.finished_at for a in attempts) - min(a.started_at for a in attempts)
    split: dict[str, int] = {}
    for attempt in attempts:
        split[attempt.dispatcher] = split.get(attempt.dispatcher, 0) + 1
    keys = received["keys"].values()
    return Result(
        name,
        count,
        ms,
        window.total_seconds(),
        sum(k["deliveries"] for k in keys),
        max(k["applied"] for k in keys),
        received["max_in_flight"]["per_batch"],
        received["max_in_flight"]["per_key"],
        "/".join(str(n) for n in sorted(split.values(), reverse=True)),
    )


@contextmanager
def scratch_database(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server named, dropped afterwards; yields its URL."""
    name = f"ebr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


HEADER = (
    "| configuration | postings | enqueue ms/posting | delivery s | postings/s | HTTP requests | max applied per key "
    "| max in flight per batch | max in flight per key | attempts per dispatcher |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postings", type=int, default=1000)
    parser.add_argument("--pg-url", default="", help="a PostgreSQL server URL whose user may create databases")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        base = Settings(env="development", instance_path=Path(folder) / "instance", library_dir=REPO)
        sqlite = base.with_(database_url=f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        results.append(configuration("sqlite, 1 dispatcher", sqlite, 1, args.postings))
        for dispatchers in (2, 1) if args.pg_url else ():
            with scratch_database(args.pg_url) as url:
                label = f"postgresql, {dispatchers} dispatcher{'s' if dispatchers > 1 else ''}"
                results.append(configuration(label, base.with_(database_url=url), dispatchers, args.postings))
    print(HEADER)
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
