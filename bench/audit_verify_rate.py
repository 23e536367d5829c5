"""Audit-chain verification rate, entries per second: the ORM path entry by entry against `TrailService.verify`.

A chain of `--batches` x `--steps` is seeded as `bulk_seed.py` does it (one template batch through the application,
then copies written with COPY, every entry chained and sealed with the instance key) into a fresh PostgreSQL
database, and a signed checkpoint of its head is taken. Then both verifications run over the same chain:

- `orm, one entry at a time`: what `ebr verify audit` ran before: every entry loaded as an ORM object, turned into a
  domain entry and checked by `ebr.domain.audit.verify_chain`, seal by seal in this process;
- `TrailService.verify`: what it runs now: plain rows in chunks, the content hashed once per entry for both its
  seal message and its link, every seal still checked.

Run from the repository root (150 x 100 is about 210,000 entries; seeding takes a few minutes):

    .venv/bin/python bench/audit_verify_rate.py --batches 150 --steps 100 --keep DIR
    .venv/bin/python bench/audit_verify_rate.py --reuse DIR               # measure again, no seeding
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from _bulk_template import run_template, scratch, settings_for
from _load_setup import recreate_database
from bulk_seed import seed

from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime, build
from ebr.domain.audit import Finding, verify_chain


def orm_path(rt: Runtime) -> list[Finding]:
    """The verification as it was: ORM objects, one seal after the other."""
    trail = rt.services.trail
    uow_factory, checkpoints, sealer = trail._uow, trail._checkpoints, trail._sealer  # the service's own parts
    with uow_factory(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return verify_chain(uow.audit.iter_all(), checkpoints.all(), sealer.verify)


def measure(name: str, run: Callable[[], list[Finding]], entries: int) -> str:
    started = time.perf_counter()
    findings = run()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"| {name} | {entries:,} | {seconds:.1f} | {entries / seconds:,.0f} | {len(findings)} | {peak:,.0f} |"
        + "".join(f"\n  FINDING {f}" for f in findings[:5])
    )


def seeded(args: argparse.Namespace, folder: Path) -> str:
    """Seed the chain; the database URL."""
    url = recreate_database(args.server, args.database)
    offset = timedelta(minutes=args.batches + 2, days=1)
    started = time.perf_counter()
    template = run_template(folder, url, args.steps, offset)
    seed(template, f"{args.server.rsplit('/', 1)[0]}/{args.database}", args.batches, timedelta(minutes=1), 20)
    template.rt.engine.dispose()
    print(f"seeded {args.batches} batches x {args.steps} steps in {time.perf_counter() - started:.0f} s", flush=True)
    (folder / "database-url").write_text(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="ebr_audit_rate", help="dropped and created")
    parser.add_argument("--keep", type=Path, help="keep the instance folder (key, checkpoints) here for --reuse")
    parser.add_argument("--reuse", type=Path, help="a folder kept by --keep: measure its chain again")
    parser.add_argument("--only", choices=("orm", "trail"), help="run one of the two paths")
    args = parser.parse_args()
    folder = args.reuse or args.keep or scratch()
    try:
        if args.reuse:
            url = (folder / "database-url").read_text()
        else:
            folder.mkdir(parents=True, exist_ok=True)
            url = seeded(args, folder)
        rt = build(settings_for(folder, url))
        try:
            if not args.reuse:
                rt.services.trail.checkpoint()
            with rt.engine.connect() as conn:
                entries = int(conn.exec_driver_sql("SELECT count(*) FROM audit_entry").scalar_one())
            print("| path | entries | s | entries/s | findings | peak RSS MB |\n|---|---|---|---|---|---|")
            # The new path first: the peak memory is the process's high-water mark, so it only grows.
            if args.only in (None, "trail"):
                print(measure("TrailService.verify", rt.services.trail.verify, entries), flush=True)
            if args.only in (None, "orm"):
                print(measure("orm, one entry at a time", lambda: orm_path(rt), entries), flush=True)
        finally:
            rt.engine.dispose()
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
