"""Step and action signatures stay verifiable for the life of the record; a raw change of a signed value is found."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ebr.app.execution_corrections import Entry
from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.integration.db.tampering import as_owner


def _run_with_every_kind_of_act(runtime: Runtime) -> str:
    floor = running_batch(runtime)
    floor.act("hold", floor.supervisor, "held", "room pressure alarm")
    floor.act("resume", floor.supervisor, "resumed", "pressure back in range")
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    identify = next(s.record for s in runtime.services.execution.batch(floor.batch_id).steps)
    floor.act(
        "correct",
        floor.operator,
        "corrected",
        "misread label",
        step_pk=identify.id,
        parameters={"field": "qc_lot", "value": "LOT-7"},
    )
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", override_reason="balance offline"))
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    return floor.batch_id


def test_every_signature_of_a_batch_still_verifies_after_the_steps_moved_on_and_a_correction(runtime: Runtime) -> None:
    _run_with_every_kind_of_act(runtime)
    assert len([s for s in runtime.services.signing.signatures_on("batch_step", "2")]) == 2  # performed, verified
    assert runtime.services.signing.verify() == []


@pytest.mark.req("SIG-03")
def test_a_signed_value_changed_with_raw_sql_fails_verification_of_its_signature(
    runtime: Runtime, owner_url: str
) -> None:
    _run_with_every_kind_of_act(runtime)
    triggers = ("step_value_no_update",)
    with as_owner(owner_url, triggers) as conn:
        conn.execute(text("UPDATE step_value SET value = '9.999' WHERE field_id = 'qc_mass'"))
    findings = runtime.services.signing.verify()
    assert {(f.object_type, f.object_id, f.problem) for f in findings} == {
        ("batch_step", "2", "the signed content was changed after signing")
    }
