"""The equipment-use history by batch (BR-05): which batches used an instance, when they ran and when they used it,
with the instance's status recorded at each use."""

from __future__ import annotations

from datetime import datetime

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from ebr.domain.errors import NotFound
from tests.app.review_support import completed_batch


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.req("BR-05")
def test_the_usage_query_of_an_instance_returns_the_batch_with_its_start_and_end(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = completed_batch(runtime, plant)
    record = runtime.services.records.record(floor.batch_id)
    uses = record["equipment_uses"]
    assert isinstance(uses, list) and uses
    code = uses[0]["equipment_code"]
    mine = [u for u in uses if u["equipment_code"] == code]
    [line] = runtime.services.equipment.batches(code)
    batch = record["batch"]
    assert isinstance(batch, dict)
    assert (line.batch, line.status, line.uses) == (floor.batch_id, "completed", len(mine))
    assert line.started_at == _moment(batch["started_at"]) and line.ended_at == _moment(batch["ended_at"])
    assert line.started_at <= line.first_used_at <= line.last_used_at <= line.ended_at
    assert line.first_used_at == min(_moment(u["used_at"]) for u in mine)
    assert set(line.statuses) == {u["status"] for u in mine} and all("calibrat" in s for s in line.statuses)
    with pytest.raises(NotFound):
        runtime.services.equipment.batches("NO-SUCH-1")
