"""What the release candidate PDF costs: snapshot → render → store, per 100 step rows. A table, not a test.

Part 1 runs the real pipeline once: the demo's granulation procedure is run to the end through the application (the
same batch the PDF tests read back: 42 step records, rework, deviations, corrections, a yield), submitted for review,
and DocumentService.render_candidate times the snapshot (the record, its hash and its BatchML from one read), the
rendering (WeasyPrint, PDF/A-3b with the JSON and XML embedded) and the short transaction that stores the bytes.

Part 2 scales the rendering: the granulation record's step records (with their values and signatures) and audit
entries are repeated to 100, 200 and 400 step rows, rendered, and stored in the same database, so the cost per
100 step rows can be read off directly and its growth judged (linear or not).

Run from the repository root (about a minute; --quick: part 1 and 100 rows only):

    .venv/bin/python bench/record_pdf_cost.py
    .venv/bin/python bench/record_pdf_cost.py --sizes 100,400,800
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the batch is run with the tests' floor helpers, as the PDF tests run it

from ebr.adapters.batchml.export import BatchMLExporter  # noqa: E402  # after the path set-up above
from ebr.adapters.pdf.batch_record import BatchRecordRenderer  # noqa: E402
from ebr.app.context import Actor, AuditContext  # noqa: E402
from ebr.app.documents import DocumentService, sha256  # noqa: E402
from ebr.app.ports.documents import CANDIDATE, NewDocument  # noqa: E402
from ebr.bootstrap import Runtime, build, migrate  # noqa: E402
from ebr.config import Settings  # noqa: E402
from ebr.domain.signatures import canonical_json  # noqa: E402
from tests.app.record_support import granulation_batch  # noqa: E402
from tests.factories import actor_of  # noqa: E402
from tests.fakes import FakeClock  # noqa: E402

Json = dict[str, Any]


class TimedRenderer:
    """The real renderer, timed: the rendering's share of the pipeline."""

    def __init__(self, inner: BatchRecordRenderer) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.pdf = b""

    def render(self, record: Mapping[str, object], copy: Mapping[str, object], attachments: Any, draft: bool) -> bytes:
        start = time.perf_counter()
        self.pdf = self.inner.render(record, copy, attachments, draft)
        self.seconds = time.perf_counter() - start
        return self.pdf


def runtime(folder: Path) -> tuple[Runtime, FakeClock, DocumentService, TimedRenderer]:
    settings = Settings(
        env="test",
        instance_path=folder / "instance",
        database_url=f"sqlite:///{folder / 'ebr.sqlite3'}",
        library_dir=REPO,
        fast_password_hashing=True,
        build_commit="bench",
    )
    migrate(settings)
    clock = FakeClock()
    rt = build(settings, clock=clock)
    timed = TimedRenderer(BatchRecordRenderer(REPO / "reports" / "batch_record", "bench"))
    documents = DocumentService(rt.services.uow, clock, rt.services.records, timed, BatchMLExporter())
    return rt, clock, documents, timed


def pipeline(
    rt: Runtime, clock: FakeClock, documents: DocumentService, timed: TimedRenderer
) -> tuple[str, Json, dict[str, float]]:
    """Run the granulation batch, submit it, and time one render_candidate; returns the batch id and its record."""
    floor = granulation_batch(rt, clock)
    rt.services.review.submit_for_review(actor_of(floor.supervisor.user), floor.batch_id, "bench")
    start = time.perf_counter()
    snapshot = documents.snapshot(floor.batch_id)
    snap = time.perf_counter() - start
    start = time.perf_counter()
    stored = documents.render_candidate(floor.batch_id)
    total = time.perf_counter() - start
    assert stored is not None
    # render_candidate takes its own snapshot (timed above as `snap`) and a read of the candidate state first.
    parts = {"snapshot": snap, "render": timed.seconds, "store": total - snap - timed.seconds, "total": total}
    return floor.batch_id, snapshot.record, parts


def scaled(record: Json, step_rows: int) -> Json:
    """The record with its step rows (values, signatures) and audit entries repeated to `step_rows` step rows."""
    grown = copy.deepcopy(record)
    steps, trail = record["steps"], record["audit_trail"]
    grown["steps"], grown["audit_trail"] = [], []
    for n in range(step_rows):
        step = copy.deepcopy(steps[n % len(steps)])
        offset = (n // len(steps)) * 100_000
        step["id"] += offset
        for row in step["values"] + step["signatures"]:
            row["id"] += offset
        grown["steps"].append(step)
    for n in range(len(trail) * step_rows // len(steps)):
        entry = copy.deepcopy(trail[n % len(trail)])
        entry["seq"] += (n // len(trail)) * 100_000
        grown["audit_trail"].append(entry)
    return grown


def store(rt: Runtime, batch_id: str, pdf: bytes) -> float:
    start = time.perf_counter()
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "bench")) as uow:
        pk = uow.batches.get(batch_id).id
        uow.documents.add(NewDocument(pk, CANDIDATE, "0" * 64, pdf, sha256(pdf), now, None))
        uow.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200,400", help="step rows of the scaled records")
    parser.add_argument("--quick", action="store_true", help="part 1 and 100 step rows only")
    args = parser.parse_args()
    sizes = [100] if args.quick else [int(n) for n in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        rt, clock, documents, timed = runtime(Path(folder))
        batch_id, record, parts = pipeline(rt, clock, documents, timed)
        rows = len(record["steps"])
        print(f"real pipeline: granulation, {rows} step rows, {len(record['audit_trail'])} audit entries")
        print("| part | seconds | seconds per 100 step rows |\n|---|---|---|")
        for name, seconds in parts.items():
            print(f"| {name} | {seconds:.2f} | {seconds * 100 / rows:.2f} |")
        print(f"PDF {len(timed.pdf):,} bytes\n")
        print("| step rows | audit entries | render s | store s | PDF bytes | render s per 100 step rows |")
        print("|---|---|---|---|---|---|")
        for size in sizes:
            grown = scaled(record, size)
            attachments = {"ebr-record.json": canonical_json(grown), "ebr-record.xml": b"<bench/>"}
            cp = rt.services.records.copy_metadata(Actor.system(), clock.now(), "0" * 64)
            start = time.perf_counter()
            pdf = timed.inner.render(grown, cp, attachments, False)
            seconds = time.perf_counter() - start
            saved = store(rt, batch_id, pdf)
            trail = len(grown["audit_trail"])
            print(f"| {size} | {trail} | {seconds:.2f} | {saved:.3f} | {len(pdf):,} | {seconds * 100 / size:.2f} |")
        rt.engine.dispose()


if __name__ == "__main__":
    main()
