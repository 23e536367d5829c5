"""What a batch's samples and device identification add to its release blockers (BR-07, BR-09)."""

from __future__ import annotations

from collections.abc import Sequence

from ebr.app.device_release import device_blockers
from ebr.app.execution_context import Procedure
from ebr.app.ports import StoredBatch, StoredStep, UnitOfWork
from ebr.app.sampling import pending_results


def item_blockers(uow: UnitOfWork, procedure: Procedure, batch: StoredBatch, steps: Sequence[StoredStep]) -> list[str]:
    """Each sample awaiting its required result, by ID, and each device identification item missing or invalid."""
    pending = pending_results(uow.samples.for_batch(batch.id), uow.batch_actions.for_batch(batch.id))
    found = [f"sample {sample_id} awaits its required laboratory result" for sample_id in pending]
    return found + device_blockers(uow, procedure, steps)
