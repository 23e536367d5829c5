"""Handing a completed step to the engine and recording what it says: new ready steps, hold windows, the end.

The engine state is only the cursor: it is stored beside the records in the same transaction, its SHA-256 goes
into the audit trail, and the write names the state it replaced, so a batch that moved on meanwhile is a conflict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from ebr.app.execution_context import CANCELLED, COMPLETED, StepContext
from ebr.app.ports import BatchEngine, Cursor, EngineAdvance, StoredBatch, UnitOfWork
from ebr.domain.audit import Action
from ebr.domain.orders import OrderStatus
from ebr.domain.records import parse_duration


def _hold(context: StepContext, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The window the steps after this one must complete in, stamped from the Clock now (211.111)."""
    step = context.step
    earliest = now + parse_duration(step.hold_min) if step.hold_min else None
    latest = now + parse_duration(step.hold_max) if step.hold_max else None
    return earliest, latest


def record_advance(
    uow: UnitOfWork,
    batch: StoredBatch,
    advance: EngineAdvance,
    now: datetime,
    hold: tuple[datetime | None, datetime | None] = (None, None),
    previous: str | None = None,
) -> list[str]:
    """Store the new cursor; new ready steps get records, steps the engine withdrew are cancelled."""
    uow.batches.put_state(batch.id, advance.state.value, advance.state.digest, now, expected=previous)
    open_records = uow.batches.open_steps(batch.id)
    keys = {record.engine_key: record for record in open_records}
    ready_keys = {step.key for step in advance.ready}
    for record in open_records:
        if record.engine_key not in ready_keys:
            uow.batches.update_step(record.id, record.version, status=CANCELLED, completed_at=now)
    added = [step.step_id for step in advance.ready if step.key not in keys]
    for step in advance.ready:
        if step.key not in keys:
            uow.batches.add_step(batch.id, step, now, hold)
    return added


def finish(
    uow: UnitOfWork,
    engine: BatchEngine,
    context: StepContext,
    values: Mapping[str, object],
    now: datetime,
    signed: Mapping[str, object] | None = None,
) -> None:
    """Complete the engine task of a signed step (recording who signed in the same change of the record);
    when the procedure ends, the batch is completed."""
    state, digest = uow.batches.state(context.batch.id)
    advance = engine.complete(context.procedure.bundle, Cursor(state, digest), context.record.engine_key, values)
    record = context.record
    uow.batches.update_step(record.id, record.version, status=COMPLETED, completed_at=now, **(signed or {}))
    added = record_advance(uow, context.batch, advance, now, _hold(context, now), previous=digest)
    if advance.completed:
        complete_batch(uow, context.batch, now)
    uow.audit.append(
        Action.STATE_CHANGE,
        "batch",
        str(context.batch.id),
        field="engine_state",
        old=digest,
        new=json.dumps(
            {
                "completed_step": record.step_id,
                "iteration": record.iteration,
                "engine_state_sha256": advance.state.digest,
                "path": list(advance.path),
                "ready": added,
                "procedure_completed": advance.completed,
            },
            sort_keys=True,
        ),
    )


def complete_batch(uow: UnitOfWork, batch: StoredBatch, now: datetime) -> None:
    """Every step is done: the batch and its order are completed."""
    moved, _ = batch.batch.complete(now, 0)
    uow.batches.update_batch(moved, batch.batch.version, None)
    uow.orders.set_status(batch.order_id, str(OrderStatus.COMPLETED), now, "batch completed")
