"""Samples and their results (BR-07): a sampling step records a sample with its own ID when signed; a required
laboratory result blocks release until QA links it with a signature; the record and BatchML hold both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.batchml.export import validate_batchml
from ebr.app.record import record_schema
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.batch import BatchStatus, ReleaseBlocked
from ebr.domain.errors import NotFound, PermissionDenied
from tests.app.execution_support import Floor, running_batch
from tests.app.items_support import items_runtime, perform
from tests.app.record_support import record_service
from tests.app.review_support import acknowledge_all, decide, request, review_trail, reviewer, run_to_completion, submit
from tests.factories import actor_of, sign
from tests.fakes import FakeClock, RecordingNotifier

QC_SAMPLE, IPC_SAMPLE = "B-9001-S1", "B-9001-S2"


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        yield runtime


def sampled(rt: Runtime, clock: FakeClock) -> Floor:
    """The sampling example run to completion: a QC sample pulled ten minutes before it was signed, then an
    in-process sample that needs no result."""
    floor = running_batch(rt, "sampling_example", "SX-100")
    pulled = clock.now()
    clock.advance(minutes=10)
    perform(floor, "sx_take_qc", clock.now(), sx_mass="25.5", sx_jar="JAR-77", sx_taken=pulled.isoformat())
    run_to_completion(floor)
    return floor


def link_result(floor: Floor, result: str = "assay 99.6 %", conforms: bool = True) -> object:
    """QA links the laboratory result to the QC sample and signs it 'approved'."""
    qa = floor.qa
    action = floor.rt.services.samples.record_result(
        actor_of(qa.user), floor.batch_id, QC_SAMPLE, result, conforms, "LIMS report LR-4711 reviewed"
    )
    return sign(floor.rt, qa.user, qa.token, "batch_action", str(action.id), "approved")


@pytest.mark.req("BR-07")
def test_release_with_a_pending_required_result_is_refused_naming_the_sample_until_qa_links_it(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = sampled(rt, clock)
    submit(floor)
    qa = reviewer(rt)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)

    with pytest.raises(ReleaseBlocked) as refused:
        request(floor, qa)
    assert f"sample {QC_SAMPLE} awaits its required laboratory result" in refused.value.blockers
    assert not any(IPC_SAMPLE in blocker for blocker in refused.value.blockers)  # configured to need none

    link_result(floor)
    assert not any("sample" in blocker for blocker in rt.services.review.review(floor.batch_id).blockers)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)  # the result changed the trail: QA reviews it again
    decide(floor, qa)
    assert rt.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.RELEASED


@pytest.mark.req("BR-07")
def test_the_record_holds_each_sample_with_its_id_time_quantity_person_purpose_and_signed_result(
    rt: Runtime, clock: FakeClock
) -> None:
    pulled = clock.now()
    floor = sampled(rt, clock)
    link_result(floor)

    record = record_service(rt).record(floor.batch_id)
    jsonschema.Draft202012Validator(record_schema()).validate(record)
    qc, ipc = record["samples"]
    assert (qc["sample_id"], qc["quantity"], qc["unit"], qc["reference"]) == (QC_SAMPLE, "25.5", "g", "JAR-77")
    assert qc["taken_at"] == pulled.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert qc["recorded_at"] == (pulled + timedelta(minutes=10)).isoformat(timespec="microseconds").replace(
        "+00:00", "Z"
    )
    assert qc["taken_by"]["username"] == floor.operator.user.username
    assert qc["purpose"] == "Assay and dissolution by QC"
    assert (qc["result_required"], qc["result_status"]) == (True, "recorded")
    [result] = qc["results"]
    assert (result["result"], result["conforms"], result["status"]) == ("assay 99.6 %", True, "applied")
    assert result["signature"]["meaning"] == "approved"
    assert result["signature"]["signer"]["username"] == floor.qa.user.username
    assert (ipc["sample_id"], ipc["unit"], ipc["result_status"], ipc["results"]) == (
        IPC_SAMPLE,
        "pcs",
        "not required",
        [],
    )


@pytest.mark.req("BR-07")
def test_the_batchml_export_carries_the_samples_and_their_results_and_stays_schema_valid(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = sampled(rt, clock)
    link_result(floor)

    xml = record_service(rt).batchml(floor.batch_id)

    assert validate_batchml(xml) == []
    assert b"<Samples>" in xml and f"<EntryID>{QC_SAMPLE}</EntryID>".encode() in xml
    assert b"<SamplePullReason>Assay and dissolution by QC</SamplePullReason>" in xml
    assert b"<ValueString>assay 99.6 %</ValueString>" in xml


def test_a_result_that_does_not_conform_opens_a_deviation_on_the_sampling_step(rt: Runtime, clock: FakeClock) -> None:
    floor = sampled(rt, clock)

    link_result(floor, "assay 91.0 %", conforms=False)

    view = rt.services.execution.batch(floor.batch_id)
    [deviation] = [d for d in view.deviations if QC_SAMPLE in d.description]
    qc_step = next(line.record.id for line in view.steps if line.record.step_id == "sx_take_qc")
    assert (deviation.kind, deviation.step_record_id, deviation.status) == ("failed_check", qc_step, "open")


def test_only_qa_links_a_result_and_only_to_a_sample_of_the_same_batch(rt: Runtime, clock: FakeClock) -> None:
    floor = sampled(rt, clock)
    samples = rt.services.samples

    with pytest.raises(PermissionDenied):
        samples.record_result(actor_of(floor.operator.user), floor.batch_id, QC_SAMPLE, "ok", True, "lab said so")
    with pytest.raises(NotFound):
        samples.record_result(actor_of(floor.qa.user), floor.batch_id, "B-1234-S1", "ok", True, "LIMS report")

    assert [view.status for view in samples.samples(floor.batch_id)] == ["pending", "not required"]
    assert rt.services.execution.batch(floor.batch_id).actions == []  # nothing was half-written
