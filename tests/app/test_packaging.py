"""Packaging and labelling (BR-06): line clearance before and after, the label version and its specimen, the
label reconciliation; a missing specimen blocks the step, a reconciliation discrepancy opens a deviation, and the
record and its PDF show all of it with the specimen embedded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.execution_corrections import Entry
from ebr.app.packaging import LineNotClear
from ebr.app.record import record_schema
from ebr.app.step_completion import StepIncomplete
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.errors import InvalidInput
from tests.app.execution_support import Floor, advance_to, running_batch
from tests.app.items_support import attach, items_runtime, perform, png
from tests.app.record_support import record_service
from tests.app.review_support import run_to_completion
from tests.factories import actor_of
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.pdf import poppler

SPECIMEN = png(6, 4)
BALANCED = {"px_labels_used": "480", "px_labels_returned": "15", "px_labels_destroyed": "5"}


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        yield runtime


def at_labelling(rt: Runtime, clock: FakeClock) -> Floor:
    """A packaging batch whose line is cleared: the labels are to be issued."""
    floor = running_batch(rt, "packaging_example", "PX-100")
    advance_to(floor, clock.now(), "px_issue_labels")
    return floor


def labelled(rt: Runtime, clock: FakeClock, counts: dict[str, str]) -> Floor:
    """Labels of version ART-PX-1 v3 issued with their specimen, packed with the given counts, line cleared after."""
    floor = at_labelling(rt, clock)
    attach(floor, "px_issue_labels", "px_label_specimen", SPECIMEN, "label ART-PX-1 v3.png")
    perform(floor, "px_issue_labels", clock.now(), px_label_version="ART-PX-1 v3", px_labels_issued="500")
    perform(floor, "px_pack", clock.now(), **counts)
    run_to_completion(floor)
    return floor


@pytest.mark.req("BR-06")
def test_a_labelling_step_without_its_specimen_cannot_be_signed(rt: Runtime, clock: FakeClock) -> None:
    floor = at_labelling(rt, clock)
    floor.enter("px_issue_labels", px_label_version="ART-PX-1 v3", px_labels_issued="500")

    with pytest.raises(StepIncomplete, match="Label specimen"):
        floor.sign_step("px_issue_labels")

    attach(floor, "px_issue_labels", "px_label_specimen", SPECIMEN)
    floor.sign_step("px_issue_labels")
    assert floor.step("px_pack").record.status == "ready"


@pytest.mark.req("BR-06")
def test_a_label_reconciliation_discrepancy_opens_a_deviation(rt: Runtime, clock: FakeClock) -> None:
    floor = labelled(rt, clock, {**BALANCED, "px_labels_destroyed": "3"})  # two labels unaccounted for

    view = rt.services.execution.batch(floor.batch_id)
    [line] = view.reconciliations
    assert (line.material_code, line.issued, line.discrepancy, line.unit) == ("LBL-PX-1", "500", "2", "pcs")
    [deviation] = [d for d in view.deviations if "LBL-PX-1" in d.description]
    assert (deviation.kind, deviation.status) == ("failed_check", "open")


def test_balanced_labels_open_no_deviation(rt: Runtime, clock: FakeClock) -> None:
    floor = labelled(rt, clock, BALANCED)

    view = rt.services.execution.batch(floor.batch_id)
    assert [line.discrepancy for line in view.reconciliations] == ["0"]
    assert view.deviations == []


@pytest.mark.req("BR-06")
def test_the_record_and_pdf_show_line_clearance_before_and_after_the_label_its_specimen_and_reconciliation(
    rt: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = labelled(rt, clock, BALANCED)

    record = record_service(rt).record(floor.batch_id)
    jsonschema.Draft202012Validator(record_schema()).validate(record)
    packaging = record["packaging"]
    assert isinstance(packaging, dict)
    clearances = packaging["line_clearances"]
    assert [(c["position"], c["clear"], c["status"]) for c in clearances] == [
        ("before", True, "completed"),
        ("after", True, "completed"),
    ]
    assert all(c["verified_by"] is not None for c in clearances)  # released by a second person
    [label] = packaging["labels"]
    assert (label["label_version"], label["material_code"]) == ("ART-PX-1 v3", "LBL-PX-1")
    specimen = label["specimen"]
    assert (specimen["sha256"], specimen["media_type"], specimen["size"]) == (
        hashlib.sha256(SPECIMEN).hexdigest(),
        "image/png",
        len(SPECIMEN),
    )
    assert specimen["filename"] == "label ART-PX-1 v3.png"
    assert len(packaging["label_reconciliation_ids"]) == 1

    path = poppler.write(
        tmp_path, "packaging.pdf", rt.services.documents.draft(floor.batch_id, actor_of(floor.qa.user))
    )
    text = poppler.text(path)
    assert "Line clearance before labelling" in text and "Line clearance after labelling" in text
    assert "Label version ART-PX-1 v3 (label stock LBL-PX-1)" in text
    assert f"SHA-256 {specimen['sha256']}" in text
    assert "LBL-PX-1: issued 500, used 480, returned 15, destroyed 5, discrepancy 0 pcs" in text
    embedded = poppler.attachments(path, tmp_path / "embedded")
    assert [data for name, data in embedded.items() if name.startswith("attachment-")] == [SPECIMEN]
    images = poppler.run("pdfimages", "-list", path).splitlines()[2:]
    assert [line.split()[3:5] for line in images] == [["6", "4"]]  # the specimen, drawn from its own pixels


@pytest.mark.req("BR-06")
def test_a_line_clearance_is_not_signed_while_the_line_is_not_confirmed_clear(rt: Runtime, clock: FakeClock) -> None:
    floor = running_batch(rt, "packaging_example", "PX-100")
    advance_to(floor, clock.now(), "lc_release")
    floor.enter("lc_release", line_clear="no")

    with pytest.raises(LineNotClear):
        floor.sign_step("lc_release", person=floor.supervisor)


def test_only_png_jpeg_or_pdf_up_to_the_size_cap_is_attached_and_a_value_must_name_an_uploaded_file(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = at_labelling(rt, clock)

    with pytest.raises(InvalidInput, match="PNG or JPEG image or a PDF"):
        attach(floor, "px_issue_labels", "px_label_specimen", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(InvalidInput, match="at most"):
        attach(floor, "px_issue_labels", "px_label_specimen", b"%PDF-" + bytes(5 * 1024 * 1024))
    with pytest.raises(InvalidInput, match="upload the file"):
        floor.enter("px_issue_labels", px_label_specimen=Entry("px_label_specimen", "ab" * 32))
    with pytest.raises(InvalidInput, match="takes no file"):
        attach(floor, "px_issue_labels", "px_label_version", SPECIMEN)

    assert rt.services.attachments.for_batch(floor.batch_id) == []  # nothing was half-written


@pytest.mark.req("BR-06")
def test_the_performer_signs_the_specimen_sha256_with_the_label_version(rt: Runtime, clock: FakeClock) -> None:
    floor = at_labelling(rt, clock)
    attach(floor, "px_issue_labels", "px_label_specimen", SPECIMEN)
    floor.enter("px_issue_labels", px_label_version="ART-PX-1 v3", px_labels_issued="500")
    record = floor.step("px_issue_labels").record
    operator = floor.operator

    dialog = rt.services.signing.request(
        actor_of(operator.user), operator.token, "batch_step", str(record.id), "performed"
    )
    floor.sign_step("px_issue_labels")

    signed = dialog.content["values"]
    assert signed["px_label_specimen"]["value"] == hashlib.sha256(SPECIMEN).hexdigest()
    assert signed["px_label_version"]["value"] == "ART-PX-1 v3"
    assert rt.services.signing.verify() == []
