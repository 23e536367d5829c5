"""Samples and step attachments are append-only (migration 0012): the application's connection can neither change
nor remove them, on PostgreSQL not even the owner can, and the attachment's bytes keep their SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.engine import make_engine
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import StoredAttachment
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.errors import NotFound
from tests.app.execution_support import running_batch
from tests.app.items_support import items_runtime, perform, png
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.db.tampering import as_owner

TAMPERING = {
    "change a sample": "UPDATE batch_sample SET quantity = '1.0'",
    "remove a sample": "DELETE FROM batch_sample",
    "swap a file": "UPDATE step_attachment SET content = content || content",
    "remove a file": "DELETE FROM step_attachment",
}


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """A batch with a sample taken and a file attached to the sampling step."""
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        floor = running_batch(runtime, "sampling_example", "SX-100")
        perform(floor, "sx_take_qc", clock.now(), sx_mass="12.0")
        batch = runtime.services.batches.get(floor.batch_id)
        step = runtime.services.execution.batch(floor.batch_id).steps[0].record
        content = png()
        with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "test set-up")) as uow:
            row = StoredAttachment(
                0, batch.id, step.id, "sx_jar", "jar.png", "image/png", len(content),
                hashlib.sha256(content).hexdigest(), clock.now(), floor.operator.user.id, "kiosk",
            )  # fmt: skip
            uow.attachments.add(row, content)
            uow.commit()
        yield runtime


def _rows(rt: Runtime) -> list[tuple[object, ...]]:
    with rt.engine.connect() as conn:
        samples = [tuple(r) for r in conn.execute(text("SELECT id, sample_id, quantity FROM batch_sample"))]
        files = [tuple(r) for r in conn.execute(text("SELECT id, sha256, content FROM step_attachment"))]
    return samples + files


@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_application_connection_cannot_change_or_remove_samples_or_attached_files(
    rt: Runtime, statement: str
) -> None:
    before = _rows(rt)
    refusal = "append-only" if rt.engine.dialect.name == "sqlite" else "permission denied"

    with pytest.raises(DBAPIError, match=refusal), rt.engine.begin() as conn:
        conn.exec_driver_sql(statement)

    assert _rows(rt) == before and len(before) == 2


@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_on_postgresql_even_the_owner_is_stopped_by_their_triggers(rt: Runtime, owner_url: str, statement: str) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the owner and the application share one connection: covered above")
    before = _rows(rt)
    owner = make_engine(owner_url)
    try:
        with pytest.raises(DBAPIError, match="refused: append-only"), owner.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        owner.dispose()

    assert _rows(rt) == before


def test_an_attached_file_is_handed_out_only_while_its_bytes_match_its_sha256(rt: Runtime, owner_url: str) -> None:
    [stored] = rt.services.attachments.for_batch("B-9001")
    assert rt.services.attachments.file("B-9001", stored.sha256).content == png()

    with as_owner(owner_url, ("step_attachment_no_update",)) as conn:  # the guards out of the way, as an intruder
        conn.execute(text("UPDATE step_attachment SET content = :forged"), {"forged": png(7, 7)})

    with pytest.raises(NotFound, match="no longer matches its SHA-256"):
        rt.services.attachments.file("B-9001", stored.sha256)
