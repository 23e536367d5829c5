"""Executing the quick check through the application: entries saved at once, signatures move the procedure."""

from __future__ import annotations

import pytest

from ebr.app.execution_corrections import Entry
from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch


@pytest.mark.req("SEQ-02")
def test_the_quick_check_runs_to_the_end_with_a_verified_weighing(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.005", "kg", override_reason="balance offline"))
    floor.sign_step("qc_weigh")
    assert [line.record.step_id for line in floor.open_steps()] == ["qc_weigh"]
    floor.sign_step("qc_weigh", "verified")
    floor.perform("qc_label", qc_label_applied="yes", qc_container="C-1")
    floor.perform("qc_confirm", qc_returned="yes")
    view = runtime.services.execution.batch(floor.batch_id)
    assert str(view.batch.batch.status) == "completed"
    assert [line.record.status for line in view.steps] == ["completed"] * 4
