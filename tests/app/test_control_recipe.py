"""The control recipe (BR-02): the record names the master by the hash the library gives its files, and the
batch-specific values: nominal and planned size, scale factor, scaled quantities and the equipment allocated.
Scaled quantities are master times planned ÷ nominal in Decimal, and execution checks the scaled limits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.record import record_schema
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.errors import InvalidInput, NotFound
from ebr.library.loader import FolderLibrary
from tests.app.execution_support import TARE, fill
from tests.app.items_support import items_runtime
from tests.app.lots_support import lots_batch
from tests.app.record_support import record_service
from tests.fakes import FakeClock, RecordingNotifier

MASTER = {"le1_mass": (Decimal("5.000"), Decimal("0.050")), "le2_mass": (Decimal("2.000"), Decimal("0.020"))}


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        yield runtime


def library_hash(library: Path, paths: list[str]) -> str:
    """The bundle hash recomputed from the library's files on disk: SHA-256 over "path NUL sha256 LF", sorted."""
    manifest = "".join(f"{p}\0{hashlib.sha256((library / p).read_bytes()).hexdigest()}\n" for p in sorted(paths))
    return hashlib.sha256(manifest.encode()).hexdigest()


@pytest.mark.req("BR-02")
def test_the_record_names_the_master_by_the_library_hash_and_scales_its_quantities_exactly(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = lots_batch(rt, planned="20")  # twice the nominal 10 kg
    record = record_service(rt).record(floor.batch_id)
    files = list(FolderLibrary(rt.settings.library_dir).bundle("lots_example").files)
    assert "workflows/lots_example/procedure.bpmn" in files and "forms/le_dispense_first.json" in files
    assert record["procedure"]["content_hash"] == library_hash(rt.settings.library_dir, files)  # type: ignore[index]
    recipe = record["control_recipe"]
    assert isinstance(recipe, dict)
    assert recipe["nominal_batch_size"] == {"quantity": "10", "unit": "kg"}
    assert recipe["planned_batch_size"] == {"quantity": "20", "unit": "kg"}
    assert Decimal(recipe["scale_factor"]) == 2
    scaled = {line["field_id"]: line for line in recipe["scaled"]}
    assert set(scaled) == set(MASTER)
    for field_id, (target, tolerance) in MASTER.items():
        line = scaled[field_id]
        assert (Decimal(line["master_target"]), Decimal(line["master_tolerance"])) == (target, tolerance)
        assert Decimal(line["target"]) == target * 2 and Decimal(line["tolerance"]) == tolerance * 2
        assert line["unit"] == "kg"
    assert {"class_id": "balance", "instances": []} in recipe["equipment"]
    jsonschema.validate(record, record_schema())


@pytest.mark.req("BR-02")
def test_execution_checks_the_scaled_target_so_only_the_master_tolerance_is_flagged(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = lots_batch(rt, planned="20")
    view = rt.services.execution.step(floor.batch_id, floor.step("le_dispense_first").record.id)
    net = view.form.field("le1_mass")
    assert net is not None and net.limit is not None
    assert (net.limit.target, net.limit.tolerance) == (Decimal("10.000"), Decimal("0.100"))  # what the page shows
    fill(floor, "le_dispense_first", clock.now(), le1_gross=str(Decimal("10.080") + TARE))  # scaled: within
    floor.sign_step("le_dispense_first")
    floor.sign_step("le_dispense_first", "verified", floor.supervisor)
    # 5.020 kg is within the master's 5.000 ± 0.050 kg but far outside this batch's 4.000 ± 0.040 kg: flagged
    fill(floor, "le_dispense_second", clock.now(), le2_gross=str(Decimal("5.020") + TARE))
    floor.sign_step("le_dispense_second")
    first, second = record_service(rt).record(floor.batch_id)["dispensings"]  # type: ignore[misc]
    assert (first["net"], first["target"], first["tolerance"], first["within"]) == ("10.080", "10.000", "0.100", True)
    assert first["deviation_id"] is None
    assert (second["net"], second["target"], second["tolerance"], second["within"]) == (
        "5.020",
        "4.000",
        "0.040",
        False,
    )
    deviation = next(
        d for d in rt.services.execution.batch(floor.batch_id).deviations if d.id == second["deviation_id"]
    )
    assert "outside 4.000 kg ± 0.040 kg" in deviation.description


@pytest.mark.req("BR-02")
def test_an_order_in_another_unit_than_the_nominal_batch_size_is_refused_at_start(rt: Runtime) -> None:
    with pytest.raises(InvalidInput, match="nominal batch size is 10 kg"):
        lots_batch(rt, planned="10000", unit="g")
    with pytest.raises(NotFound):
        rt.services.batches.get("B-7001")  # nothing of the batch was written
