"""A time-stamping service that fails at release signing (OPS-01): the releaser is told plainly, nothing is released
or half-written, and an incident is opened with the signing request as its correlation id, counted per hour."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict
from tests.app.review_support import decide, ready_for_release


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The deployment names a time-stamping service that nothing answers on."""
    return dataclasses.replace(settings, tsa_url=f"http://127.0.0.1:{_closed_port()}/tsa")


@pytest.mark.req("OPS-01")
def test_an_unreachable_time_stamping_service_refuses_the_release_and_opens_an_incident(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)

    for _ in range(2):
        with pytest.raises(Conflict, match="time-stamping service did not answer .*nothing was released"):
            decide(floor, qa)

    assert runtime.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.IN_REVIEW
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        batch_pk = uow.batches.get(floor.batch_id).id
        assert [d.kind for d in uow.documents.for_batch(batch_pk)] == ["candidate"]
        assert uow.signatures.for_object("batch_release", "1") == []
    [incident] = runtime.services.incidents.open_incidents()
    assert (incident.kind, incident.severity, incident.occurrences) == ("tsa_failure", "critical", 2)
    assert incident.correlation_id and incident.opened_at == runtime.services.clock.now()
    assert "was not signed" in incident.message
