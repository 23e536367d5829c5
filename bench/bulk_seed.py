"""Scale of data: seed N batches x M steps in bulk, then time the screens and the audit-chain verification.

Seeding does not go through the web: one template batch of a generated M-step procedure (five values per step, a
"performed" signature each) is run to its end through the application services, on a clock set back in time; then
N - 1 copies of it are written with COPY: order, batch, engine state, step records, values, step signatures (made
again over each copy's content with the signer's own ECDSA key, so `ebr verify` accepts them) and the audit entries
about them, chained and sealed with the instance key as the unit of work does. Then, through the Flask test client
logged in as QA, 20 requests each of the worklist, a batch page, the review queue and page, and audit-trail queries;
and the rate of the audit-chain verification over the whole chain (and of the signature verification).

Run from the repository root:

    .venv/bin/python bench/bulk_seed.py --batches 1000 --steps 100    # about 10 minutes here
    .venv/bin/python bench/bulk_seed.py                               # 10,000 x 100: the issue's scale
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
from _bulk_clone import TABLES, Chain, Copy, Ids, Row, Source, clock_for, drafts, key_maps, rows_of
from _bulk_source import finish, head, load_source, next_ids, sealer, signer, write
from _bulk_template import Template, run_template, scratch
from _load_client import csrf
from _load_report import percentile
from _load_setup import recreate_database
from execution_step_cost import PASSWORD
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from ebr.bootstrap import Runtime, build
from ebr.web.app import create_app


def seed(template: Template, libpq: str, batches: int, span: timedelta, chunk: int) -> int:
    """Write batches - 1 copies of the template; the number of audit entries written."""
    written = 0
    with psycopg.connect(libpq, row_factory=dict_row) as conn:
        source = load_source(conn, template.batch_pk)
        sign = signer(template.rt, conn, template.operator.id, PASSWORD)
        seq, last, at = head(conn)
        chain = Chain(seq, last, at, sealer(template.rt))
        ids = Ids(next_ids(conn))
        conn.commit()
        started = time.perf_counter()
        for first in range(1, batches, chunk):
            numbers = range(first, min(first + chunk, batches))
            written += _chunk(conn, source, ids, chain, numbers, span, sign)
            conn.commit()
            done = numbers[-1]
            rate = done / (time.perf_counter() - started)
            print(f"  {done + 1} batches, {chain.seq} audit entries, {rate:.1f} batches/s", flush=True)
        finish(conn, chain.seq, chain.hash, chain.at)
        conn.commit()
    with psycopg.connect(libpq, autocommit=True) as plain:
        plain.execute("ANALYZE")
    return written


def _chunk(
    conn: psycopg.Connection[Row],
    source: Source,
    ids: Ids,
    chain: Chain,
    numbers: range,
    span: timedelta,
    sign: Callable[[bytes], str],
) -> int:
    tables: dict[str, list[Row]] = {t: [] for t in TABLES}
    for k in numbers:
        base = source.end + timedelta(seconds=1) + span * (k - 1)
        copy = Copy(k, f"B-{k:06d}", f"PO-{k:06d}", key_maps(source, ids), clock_for(source, base, span))
        for table, rows in rows_of(source, copy, sign).items():
            tables[table] += rows
        tables["audit_entry"] += [chain.append(draft) for draft, _ in drafts(source, copy)]
    for table in TABLES:
        write(conn, table, tables[table])
    return len(tables["audit_entry"])


def timed(client: FlaskClient, path: str, repeat: int) -> list[float]:
    spent = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = client.get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return spent[1:]  # the first request warms the process's caches


def screens(template: Template, batches: int, repeat: int) -> list[str]:
    rt = build(template.settings)
    try:
        app = create_app(runtime=rt)
        client = app.test_client()
        token = csrf(client.get("/login").get_data(as_text=True))
        login = {"csrf_token": token, "username": "policyqa", "password": PASSWORD}
        assert client.post("/login", data=login).status_code == 302
        day_ago = (rt.services.clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        middle = f"B-{max(1, batches // 2):06d}" if batches > 1 else template.batch_id
        paths = {
            "worklist": "/batches/",
            f"batch page ({middle})": f"/batches/{middle}",
            "review queue": "/review/",
            f"review page ({middle})": f"/review/{middle}",
            "audit trail, one batch's entries": f"/audit/?object_type=batch&object_id={_pk(rt, middle)}",
            "audit trail, one user (first 1000)": "/audit/?username=operator",
            "audit trail, a user with few entries": "/audit/?username=policyqa",
            "audit trail, last day": f"/audit/?since={day_ago}",
        }
        lines = ["| screen | n | p50 ms | p95 ms | max ms | under 200 ms (p95) |", "|---|---|---|---|---|---|"]
        for name, path in paths.items():
            ms = sorted(timed(client, path, repeat))
            p95 = percentile(ms, 95)
            ok = "yes" if p95 < 200 else "NO"
            lines.append(f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} | {ok} |")
        return lines
    finally:
        rt.engine.dispose()


def _pk(rt: Runtime, batch_id: str) -> int:
    return int(rt.services.batches.get(batch_id).id)


def verification(template: Template, signatures: bool) -> list[str]:
    rt = build(template.settings)
    try:
        started = time.perf_counter()
        findings = rt.services.trail.verify()
        seconds = time.perf_counter() - started
        with rt.engine.connect() as conn:
            entries = int(conn.exec_driver_sql("SELECT count(*) FROM audit_entry").scalar_one())
        lines = [
            f"audit chain: {entries:,} entries verified in {seconds:.1f} s = {entries / seconds:,.0f} entries/s "
            f"(goal 100,000/s: {'met' if entries / seconds >= 100_000 else 'MISSED'}); findings: {len(findings)}",
            f"  peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
        ]
        lines += [f"  FINDING {f}" for f in findings[:10]]
        if signatures:
            started = time.perf_counter()
            bad = rt.services.signing.verify()
            seconds = time.perf_counter() - started
            with rt.engine.connect() as conn:
                count = int(conn.exec_driver_sql("SELECT count(*) FROM signature").scalar_one())
            rate = count / seconds
            lines.append(f"signatures: {count:,} verified in {seconds:.1f} s = {rate:,.0f}/s; findings: {len(bad)}")
            lines += [f"  FINDING {f}" for f in bad[:10]]
        return lines
    finally:
        rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100, help="steps per batch (the procedure's size)")
    parser.add_argument("--chunk", type=int, default=20, help="batches per transaction")
    parser.add_argument("--repeat", type=int, default=20, help="requests per screen")
    parser.add_argument(
        "--verify-signatures", action="store_true", help="also time `ebr verify signatures` (slow: see bench/README.md)"
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="ebr_bulk", help="dropped and created")
    args = parser.parse_args()
    span = timedelta(minutes=1)  # each copy's window; the set-up runs that many windows (and a day) in the past
    url = recreate_database(args.server, args.database)
    libpq = f"{args.server.rsplit('/', 1)[0]}/{args.database}"
    folder = scratch()
    try:
        started = time.perf_counter()
        template = run_template(folder, url, args.steps, span * (args.batches + 2) + timedelta(days=1))
        steps = len(template.rt.services.execution.batch(template.batch_id).steps)
        seconds = time.perf_counter() - started
        print(f"template batch {template.batch_id}: {steps} steps through the application in {seconds:.1f} s")
        started = time.perf_counter()
        entries = seed(template, libpq, args.batches, span, args.chunk)
        seconds = time.perf_counter() - started
        copies = max(args.batches - 1, 1)
        print(
            f"seeded {args.batches - 1} copies ({(args.batches - 1) * steps:,} steps, {entries:,} audit entries) in "
            f"{seconds:.1f} s: {copies / seconds:.1f} batches/s, {copies * steps / seconds:,.0f} steps/s, "
            f"{entries / seconds:,.0f} audit entries/s; 10,000 x 100 would take about "
            f"{10_000 * 100 / (copies * steps / seconds) / 60:.0f} min"
        )
        template.rt.engine.dispose()
        for line in screens(template, args.batches, args.repeat):
            print(line, flush=True)
        checked = verification(template, args.verify_signatures)
        for line in checked:
            print(line)
        if any(line.startswith("  FINDING") for line in checked):
            sys.exit("the seeded data did not verify: see the findings above")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
