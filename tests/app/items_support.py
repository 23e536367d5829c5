"""The example procedures of samples, device batches and packaging (tests/data/library_extras) on top of the demo
plant's library, a runtime wired to that library, and the steps of those procedures run as a test needs them."""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.ports import StoredValue
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from tests.app.execution_support import KIOSK, Floor, fill
from tests.app.review_support import CandidateReady
from tests.factories import actor_of, sign
from tests.fakes import FakeClock, RecordingNotifier

ROOT = Path(__file__).parents[2]
EXTRAS = ROOT / "tests" / "data" / "library_extras"
CONTENT = ("workflows", "forms", "equipment", "signatures", "reports")


def extras_library(tmp_path: Path) -> Path:
    """A copy of the demo plant's library with the example procedures and their forms added."""
    target = tmp_path / "library"
    for folder in CONTENT:
        shutil.copytree(ROOT / folder, target / folder)
    shutil.copytree(EXTRAS, target, dirs_exist_ok=True)
    return target


@contextmanager
def items_runtime(
    tmp_path: Path,
    settings: Settings,
    clock: FakeClock,
    alerts: RecordingAlertSink,
    notifier: RecordingNotifier,
    real_release: bool = False,
) -> Iterator[Runtime]:
    """The application on the extended library; the release candidate check always passes unless real_release."""
    check = None if real_release else CandidateReady()
    rt = build(
        settings.with_(library_dir=extras_library(tmp_path)),
        clock=clock,
        alert_sink=alerts,
        notifier=notifier,
        release_check=check,
    )
    try:
        yield rt
    finally:
        rt.engine.dispose()


def png(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG image of grey pixels: what a scanned label specimen is, in small."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + bytes([128] * width) for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def attach(floor: Floor, step_id: str, field_id: str, content: bytes, name: str = "label.png") -> StoredValue:
    """Upload a file to an attachment field of an open step, as its performer."""
    record = floor.step(step_id).record
    return floor.rt.services.attachments.attach(
        actor_of(floor.operator.user), floor.batch_id, record.id, field_id, name, content, KIOSK
    )


def perform(floor: Floor, step_id: str, now: datetime, **given: str) -> None:
    """Fill the step (the given values, typical ones otherwise) and sign it performed."""
    fill(floor, step_id, now, **given)
    floor.sign_step(step_id)


def link_results(floor: Floor, result: str = "within specification") -> None:
    """QA links a conforming laboratory result to every sample awaiting one, and signs each 'approved'."""
    qa, services = floor.qa, floor.rt.services
    for view in services.samples.samples(floor.batch_id):
        if view.status == "pending":
            action = services.samples.record_result(
                actor_of(qa.user), floor.batch_id, view.sample.sample_id, result, True, "LIMS report reviewed"
            )
            sign(floor.rt, qa.user, qa.token, "batch_action", str(action.id), "approved")
