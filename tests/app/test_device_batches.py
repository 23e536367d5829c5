"""Device batches (BR-09): the device release step cannot be signed without the quantities made and approved, the
UDI-DI and the production identifiers; release is blocked without them; the record and its PDF show them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.device_release import DeviceIdentificationInvalid
from ebr.app.record import record_schema
from ebr.app.step_completion import StepIncomplete
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.batch import ReleaseBlocked
from tests.app.execution_support import Floor, running_batch
from tests.app.items_support import items_runtime, perform
from tests.app.record_support import record_service, step_record
from tests.app.review_support import acknowledge_all, request, review_trail, reviewer, run_to_completion, submit
from tests.factories import actor_of
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.pdf import poppler

GTIN = "09506000134352"  # GS1's example GTIN-14, with its check digit
RELEASE_DATA = {
    "dx_made": "120",
    "dx_approved": "118",
    "dx_udi_di": GTIN,
    "dx_lot": "L2611-07",
    "dx_serials": "SN000101-SN000220",
    "dx_expiry": "2029-11-30",
}


@pytest.fixture
def rt(
    tmp_path: Path, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    with items_runtime(tmp_path, settings, clock, alerts, notifier) as runtime:
        yield runtime


def at_release_step(rt: Runtime, clock: FakeClock) -> Floor:
    """A device batch whose units are assembled: the device release step is open."""
    floor = running_batch(rt, "device_example", "DX-100")
    perform(floor, "dx_assemble", clock.now(), dx_built="120")
    return floor


def in_review(floor: Floor) -> None:
    submit(floor)
    qa = reviewer(floor.rt)
    acknowledge_all(floor, qa)
    review_trail(floor, qa)


@pytest.mark.req("BR-09")
def test_the_device_release_step_is_not_signed_without_every_quantity_and_udi_field(
    rt: Runtime, clock: FakeClock
) -> None:
    floor = at_release_step(rt, clock)
    floor.enter("dx_release", dx_made="120", dx_lot="L2611-07")

    with pytest.raises(StepIncomplete) as refused:
        floor.sign_step("dx_release")

    for label in ("Quantity approved for distribution", "UDI-DI (GTIN)", "Serial number range", "Expiry date"):
        assert label in str(refused.value)
    assert floor.step("dx_release").record.status == "ready"


@pytest.mark.req("BR-09")
@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"dx_udi_di": "09506000134353"}, "check digit"),
        ({"dx_approved": "121"}, "exceeds the quantity manufactured"),
        ({"dx_expiry": "30.11.2029"}, "is not a date"),
        ({"dx_expiry": "2026-11-25"}, "must be after the day of manufacture"),
    ],
)
def test_an_invalid_udi_or_quantity_refuses_the_signature_naming_it(
    rt: Runtime, clock: FakeClock, change: dict[str, str], refusal: str
) -> None:
    floor = at_release_step(rt, clock)
    floor.enter("dx_release", **{**RELEASE_DATA, **change})

    with pytest.raises(DeviceIdentificationInvalid, match=refusal):
        floor.sign_step("dx_release")


@pytest.mark.req("BR-09")
def test_release_is_blocked_when_the_device_release_step_was_skipped(rt: Runtime, clock: FakeClock) -> None:
    floor = at_release_step(rt, clock)
    release_step = floor.step("dx_release").record
    floor.act("skip", floor.supervisor, "skipped", "labels not printed yet", step_pk=release_step.id)
    in_review(floor)

    with pytest.raises(ReleaseBlocked) as refused:
        request(floor, reviewer(rt))

    assert any(b.startswith("the device identification") for b in refused.value.blockers), refused.value.blockers


@pytest.mark.req("BR-09")
def test_release_is_blocked_when_a_correction_leaves_a_device_item_invalid(rt: Runtime, clock: FakeClock) -> None:
    floor = at_release_step(rt, clock)
    perform(floor, "dx_release", clock.now(), **RELEASE_DATA)
    signed = step_record(floor, "dx_release")
    parameters = {"field": "dx_udi_di", "value": "12345"}
    floor.act("correct", floor.operator, "corrected", "label reprinted", step_pk=signed.id, parameters=parameters)
    in_review(floor)

    blockers = rt.services.review.review(floor.batch_id).blockers

    assert any(b.startswith("device identification: UDI-DI 12345") for b in blockers), blockers


@pytest.mark.req("BR-09")
def test_a_complete_device_batch_shows_its_quantities_and_udi_in_the_record_and_the_pdf(
    rt: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    floor = at_release_step(rt, clock)
    perform(floor, "dx_release", clock.now(), **RELEASE_DATA)
    run_to_completion(floor)
    in_review(floor)

    assert not [b for b in rt.services.review.review(floor.batch_id).blockers if "device" in b]
    record = record_service(rt).record(floor.batch_id)
    jsonschema.Draft202012Validator(record_schema()).validate(record)
    device = record["device_identification"]
    assert isinstance(device, dict)
    assert (device["quantity_manufactured"], device["quantity_approved"], device["unit"]) == ("120", "118", "pcs")
    assert (device["udi_di"], device["lot"], device["serial"], device["expiry"]) == (
        GTIN,
        "L2611-07",
        "SN000101-SN000220",
        "2029-11-30",
    )
    assert device["udi"] == f"(01){GTIN}(17)291130(10)L2611-07(21)SN000101-SN000220"

    pdf = rt.services.documents.draft(floor.batch_id, actor_of(floor.qa.user))
    text = poppler.text(poppler.write(tmp_path, "device.pdf", pdf))
    assert "Device identification" in text
    assert "Quantity manufactured 120 pcs" in text and "Quantity approved for distribution 118 pcs" in text
    assert f"UDI-DI {GTIN}" in text and "UDI-PI expiry 2029-11-30" in text
    assert f"(01){GTIN}(17)291130(10)L2611-07(21)SN000101-SN000220" in text
