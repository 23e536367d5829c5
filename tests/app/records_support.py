"""A released batch with its signed record PDF stored: what the archive and the backup tests start from."""

from __future__ import annotations

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from tests.app.review_support import decide, ready_for_release


def released_batch(runtime: Runtime, plant: SimulatedPlant) -> str:
    """A clean quick check, reviewed, its release candidate rendered and its release signed; returns its id."""
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    decide(floor, qa)
    return floor.batch_id
