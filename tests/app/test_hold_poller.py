"""The worker's poller opens a deviation past a maximum hold time even if nobody opens the batch, and notifies."""

from __future__ import annotations

from ebr.app.execution_corrections import Entry
from ebr.bootstrap import Runtime
from ebr.worker.loop import JOBS, run_once
from tests.app.execution_support import running_batch
from tests.fakes import FakeClock, RecordingNotifier

WINDOW = ("ebr:holdMin=PT30M", "ebr:holdMax=PT2H")


def test_the_worker_opens_a_hold_deviation_and_an_incident_once_the_maximum_passes(
    runtime: Runtime, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    floor = running_batch(runtime, "quick_check", "QC-SAMPLE", *WINDOW)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    weigh = floor.step("qc_weigh").record
    assert weigh.hold_latest is not None and weigh.hold_latest - clock.now() == (
        weigh.hold_latest - weigh.became_ready_at
    )
    jobs = tuple(j for j in JOBS if j.name in ("holds", "incidents"))
    clock.advance(hours=2)
    assert run_once(runtime, jobs) == {"holds": 0, "incidents": 0}  # exactly at the maximum: still in time
    clock.advance(seconds=1)
    assert run_once(runtime, jobs) == {"holds": 1, "incidents": 1}
    assert run_once(runtime, jobs) == {"holds": 0, "incidents": 0}
    [deviation] = runtime.services.execution.batch(floor.batch_id).deviations
    assert (deviation.kind, deviation.step_record_id, deviation.reported_by) == ("hold_exceeded", weigh.id, None)
    assert [i.kind for i in notifier.received] == ["hold_exceeded"]
    floor.relogin()
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", override_reason="balance offline"))
    floor.sign_step("qc_weigh")  # late, but recorded: the deviation is already open, no second one
    kinds = [d.kind for d in runtime.services.execution.batch(floor.batch_id).deviations]
    assert kinds.count("hold_exceeded") == 1 and "manual_override" in kinds


def test_a_step_cannot_be_completed_before_its_minimum_hold(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime, "quick_check", "QC-SAMPLE", *WINDOW)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", override_reason="balance offline"))
    import pytest

    from ebr.domain.records import HoldNotElapsed

    clock.advance(minutes=29, seconds=59)
    floor.relogin()
    with pytest.raises(HoldNotElapsed, match="proceed at"):
        floor.sign_step("qc_weigh")
    clock.advance(seconds=1)
    floor.relogin()
    floor.sign_step("qc_weigh")
    assert [s.record.status for s in floor.open_steps()] == ["performed"]
