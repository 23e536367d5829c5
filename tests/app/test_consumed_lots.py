"""Consumed lots (BR-03): one material drawn from two lots shows two lines in the record and its PDF, each with
container, expiry, quantity and unit, and who dispensed, added and verified it; the reconciliation names both lots,
and a discrepancy beyond its tolerance opens a deviation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.pdf.batch_record import BatchRecordRenderer
from ebr.app.record import record_schema
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.accounts import User
from tests.app.items_support import items_runtime
from tests.app.lots_support import (
    FIRST,
    SECOND,
    SECOND_EXPIRY,
    SECOND_LOT,
    charge_and_reconcile,
    dispense_both,
    lots_batch,
)
from tests.app.record_support import VERSION, record_service
from tests.factories import actor_of
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.pdf import poppler

Json = dict[str, object]


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        yield runtime


def pdf_text(rt: Runtime, record: Json, folder: Path, reader: User) -> str:
    """The record rendered with the library's template, read back by pdftotext."""
    renderer = BatchRecordRenderer(rt.settings.library_dir / "reports" / "batch_record", VERSION)
    copy = record_service(rt).copy_metadata(actor_of(reader), rt.services.clock.now())
    path = poppler.write(folder, "record.pdf", renderer.render(record, copy, {}, draft=True))
    return poppler.text(path)


@pytest.mark.req("BR-03")
def test_two_lots_of_one_material_show_two_complete_lines_and_one_reconciliation_naming_both(
    rt: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = lots_batch(rt)
    labels = dispense_both(floor, clock.now())
    clock.advance(minutes=5)
    charge_and_reconcile(floor, clock.now(), labels, used="7.000", waste="0.000")
    record = record_service(rt).record(floor.batch_id)
    jsonschema.validate(record, record_schema())
    first, second = record["dispensings"]  # type: ignore[misc]
    charge = next(s for s in record["steps"] if s["step_id"] == "le_charge")  # type: ignore[attr-defined]
    operator, supervisor = floor.operator.user, floor.supervisor.user
    for line, container, lot, net in ((first, FIRST, "L-PARA-API", "5.000"), (second, SECOND, SECOND_LOT, "2.000")):
        assert (line["material_code"], line["lot_number"], line["source_container"]) == ("PARA-API", lot, container)
        assert (line["net"], line["unit"]) == (net, "kg") and line["expiry"]
        assert line["dispensed_by"]["username"] == operator.username
        assert line["verified_by"]["username"] == supervisor.username
        assert line["added_by"]["username"] == operator.username
        assert line["added_step_record_id"] == charge["id"] and line["added_at"] > line["dispensed_at"]
    assert second["expiry"] == SECOND_EXPIRY.isoformat() != first["expiry"]
    assert (first["label"], second["label"]) == labels
    [reconciliation] = record["reconciliations"]  # type: ignore[misc]
    assert (reconciliation["issued"], reconciliation["used"], reconciliation["discrepancy"]) == (
        "7.000",
        "7.000",
        "0.000",
    )
    assert "L-PARA-API (C-PARA-API, 5.000 kg)" in reconciliation["lots"]
    assert f"{SECOND_LOT} ({SECOND}, 2.000 kg)" in reconciliation["lots"]
    deviations = rt.services.execution.batch(floor.batch_id).deviations
    assert not [d for d in deviations if "Reconciliation" in d.description]  # balanced: none opened

    text = pdf_text(rt, record, tmp_path, floor.qa.user)
    table = text[text.index("Materials consumed (2)") : text.index("Material reconciliation (1)")]
    for container, label, lot, expiry, net in (
        (FIRST, labels[0], "L-PARA-API", first["expiry"], "5.000 kg"),
        (SECOND, labels[1], SECOND_LOT, second["expiry"], "2.000 kg"),
    ):
        assert all(part in table for part in (f"{container} →", label, f"lot {lot}", f"expiry {expiry}", net))
    assert table.count(f"({operator.username})") == 4  # dispensed and added, each line
    assert table.count(f"({supervisor.username})") == 2  # verified, each line
    assert table.count("added 20") == 2 and "not scanned into the process" not in table
    reconciled = text[text.index("Material reconciliation (1)") :]
    assert "L-PARA-API (C-PARA-API, 5.000 kg); L2-PARA-API (C2-PARA-API, 2.000 kg)" in reconciled


@pytest.mark.req("BR-03")
def test_a_reconciliation_discrepancy_beyond_the_tolerance_opens_a_deviation(rt: Runtime, clock: FakeClock) -> None:
    floor = lots_batch(rt)
    labels = dispense_both(floor, clock.now())
    charge_and_reconcile(floor, clock.now(), labels, used="6.950", waste="0.030")  # 0.020 kg unaccounted for
    deviations = rt.services.execution.batch(floor.batch_id).deviations
    [deviation] = [d for d in deviations if d.kind == "failed_check"]  # the others: weights typed over the scale
    assert "Reconciliation of PARA-API: discrepancy 0.020 kg exceeds the tolerance of 0.010 kg" in deviation.description
    [reconciliation] = record_service(rt).record(floor.batch_id)["reconciliations"]  # type: ignore[misc]
    assert reconciliation["discrepancy"] == "0.020"
    assert SECOND_LOT in reconciliation["lots"] and "L-PARA-API" in reconciliation["lots"]


@pytest.mark.req("BR-03")
def test_a_dispensed_container_never_scanned_at_charging_has_no_one_who_added_it(rt: Runtime, clock: FakeClock) -> None:
    floor = lots_batch(rt)
    dispense_both(floor, clock.now())
    for line in record_service(rt).record(floor.batch_id)["dispensings"]:  # type: ignore[union-attr]
        assert (line["added_by"], line["added_at"], line["added_step_record_id"]) == (None, None, None)
