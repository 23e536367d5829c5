"""The record hash the review page shows is the record's hash, is not rebuilt while nothing audited has changed, and
follows every change of the record: inside the batch's own trail scope and outside it (the product's name)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.materials import Material
from tests.app.execution_support import KIOSK
from tests.app.review_support import completed_batch
from tests.factories import actor_of


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements the runtime's engine runs meanwhile."""
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def test_the_shown_hash_is_the_record_hash_and_a_second_view_does_not_rebuild_the_record(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    records = runtime.services.records
    with statements(runtime) as first:
        shown = records.shown_hash(floor.batch_id)
    with statements(runtime) as second:
        again = records.shown_hash(floor.batch_id)
    assert shown == again == records.record_hash(floor.batch_id)
    assert len(first) > 10 and not any("step_value" in s for s in second), second


def test_the_shown_hash_follows_a_change_in_the_batch_and_one_outside_its_trail_scope(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    records = runtime.services.records
    before = records.shown_hash(floor.batch_id)
    # The product's master data arrives from the ERP after the batch: its name enters the record, its entry
    # names the material, not an object of the batch.
    product = Material("QC-SAMPLE", "Quick check sample", "kg")
    runtime.services.masterdata.put_material(Actor.system(), product, "ERP master data")
    after_rename = records.shown_hash(floor.batch_id)
    assert after_rename != before and after_rename == records.record_hash(floor.batch_id)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, None, "minor", "label smudged", "", KIOSK
    )
    after_deviation = records.shown_hash(floor.batch_id)
    assert after_deviation not in (before, after_rename)
    assert after_deviation == records.record_hash(floor.batch_id)
