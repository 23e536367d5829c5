"""Batches: started by an operator or supervisor from a released order, pinned for life to a procedure version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import ProcedureCache
from ebr.app.ports import (
    BatchEngine,
    Clock,
    ProcedureRuntime,
    StoredBatch,
    StoredStep,
    StoredVersion,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action
from ebr.domain.batch import Batch, BatchStatus
from ebr.domain.errors import Conflict, InvalidTransition
from ebr.domain.orders import OrderStatus, ProductionOrder, check_order_transition
from ebr.domain.procedure import VersionStatus, check_startable

READY = "ready"


@dataclass(frozen=True)
class ReadyStepView:
    """A ready step record with the name its procedure gives the step."""

    record: StoredStep
    name: str


class BatchService:
    """Use cases of operators and supervisors on batches."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        engine: BatchEngine,
        runtime: ProcedureRuntime,
        software_version: str = "unknown",
        recipes: ProcedureCache | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._engine = engine
        self._runtime = runtime
        self._version = software_version
        self._recipes = recipes

    def start(
        self, actor: Actor, order_id: int, reason: str = "batch started", request: RequestInfo | None = None
    ) -> StoredBatch:
        """Start the batch of a released order on the version effective now; its first steps become ready."""
        why = require_reason(reason)
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, why, request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.BATCH_EXECUTE)
            order = _startable_order(uow, order_id)
            version = _version_to_start(uow, order.product_code, now)
            if self._recipes is not None:  # an order the master cannot be scaled to is refused, with the reason
                self._recipes.get(uow, version.id).scaled_for(order.planned_quantity, order.unit)
            created = Batch(order.batch_id, order.order_number, order.product_code, version.id, version.content_hash)
            started, _ = created.start(now, actor.user_id or 0)  # 0: the system itself
            advance = self._engine.start(uow.procedures.bundle(version.id), {})
            batch = uow.batches.add(started, order_id, now, actor.user_id)
            uow.batches.put_state(batch.id, advance.state.value, advance.state.digest, now)
            for step in advance.ready:
                uow.batches.add_step(batch.id, step, now)
            uow.orders.set_status(order_id, str(OrderStatus.IN_PROGRESS), now, why)
            started_with = {
                "batch_id": started.id,
                "status": str(started.status),
                "procedure_version_id": version.id,
                "procedure_hash": version.content_hash,
                "engine_state_sha256": advance.state.digest,
                "ready": [step.step_id for step in advance.ready],
                # The record names the software that executed the batch, so an upgrade never changes its hash.
                "software_version": self._version,
            }
            uow.audit.append(
                Action.STATE_CHANGE,
                "batch",
                str(batch.id),
                field="status",
                old=str(BatchStatus.CREATED),
                new=json.dumps(started_with, sort_keys=True),
            )
            uow.commit()
        return batch

    def get(self, batch_id: str) -> StoredBatch:
        """One batch by its batch id."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.batches.get(batch_id)

    def ready_steps(self, batch_id: str) -> list[ReadyStepView]:
        """The batch's ready steps, in the order they became ready, with their names."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            records = uow.batches.steps(batch.id, READY)
            bundle = uow.procedures.bundle(batch.batch.procedure_version_id)
        steps = self._runtime.steps(bundle)
        return [
            ReadyStepView(record, steps[record.step_id].name if record.step_id in steps else record.step_id)
            for record in records
        ]


def _startable_order(uow: UnitOfWork, order_id: int) -> ProductionOrder:
    """A released order without a batch yet."""
    order = uow.orders.get(order_id).order
    if order.status is not OrderStatus.RELEASED:
        raise InvalidTransition(
            f"Order {order.order_number} is {order.status}: a batch can start only from a released order."
        )
    check_order_transition(order.status, OrderStatus.IN_PROGRESS)
    if uow.batches.by_order(order_id) is not None:
        raise Conflict(f"Order {order.order_number} already has a batch.")
    return order


def _version_to_start(uow: UnitOfWork, product_code: str, now: datetime) -> StoredVersion:
    """The version effective for the product on the start date, pinned for life (VAL-09, SEQ-06)."""
    version = uow.procedures.product_version(product_code)
    if version is None:
        raise Conflict(f"Product {product_code} has no procedure version to start a batch on.")
    label = f"{version.procedure_id} version {version.version}"
    check_startable(label, VersionStatus(version.status), version.effective_from, now)
    return version
