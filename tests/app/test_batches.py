"""Starting a batch: from a released order only, pinned to its procedure version, with its first ready steps."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import StoredOrder
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from ebr.domain.orders import OrderStatus, ProductionOrder
from tests.app.masterdata_support import make_procedure_effective, trail
from tests.factories import actor_of, make_user

ORDER = ProductionOrder("PO-1002", "QC-SAMPLE", Decimal("10"), "pcs", "B-QC-0001")
BPMN = Path(__file__).parents[2] / "workflows" / "quick_check" / "procedure.bpmn"


@pytest.fixture
def supervisor(runtime: Runtime) -> User:
    return make_user(runtime, Role.SUPERVISOR)


@pytest.fixture
def operator(runtime: Runtime) -> User:
    return make_user(runtime, Role.OPERATOR)


def released_order(runtime: Runtime, supervisor: User) -> tuple[StoredOrder, int]:
    version_id = make_procedure_effective(runtime, "QC-SAMPLE", "quick_check")
    stored = runtime.services.orders.create(actor_of(supervisor), ORDER)
    return runtime.services.orders.release(actor_of(supervisor), stored.id), version_id


def nothing_started(runtime: Runtime, order: StoredOrder, status: OrderStatus) -> None:
    with pytest.raises(NotFound):
        runtime.services.batches.get(ORDER.batch_id)
    assert trail(runtime, "batch") == [] and trail(runtime, "step_record") == []
    assert runtime.services.orders.get(order.id).order.status is status


def test_a_batch_starts_on_the_version_its_order_was_released_on(
    runtime: Runtime, supervisor: User, operator: User
) -> None:
    order, version_id = released_order(runtime, supervisor)
    version = runtime.services.procedures.view(version_id).version
    started = runtime.services.batches.start(actor_of(operator), order.id)
    batch = runtime.services.batches.get(ORDER.batch_id)
    assert batch == started
    assert (batch.batch.procedure_version_id, batch.batch.procedure_hash) == (version_id, version.content_hash)
    assert (batch.batch.status, batch.batch.order, batch.batch.product) == (
        BatchStatus.IN_PROGRESS,
        "PO-1002",
        "QC-SAMPLE",
    )
    assert (batch.order_id, batch.started_by) == (order.id, operator.id)
    assert runtime.services.orders.get(order.id).order.status is OrderStatus.IN_PROGRESS


def test_the_first_ready_step_of_quick_check_is_recorded_with_its_name(
    runtime: Runtime, supervisor: User, operator: User
) -> None:
    order, _ = released_order(runtime, supervisor)
    runtime.services.batches.start(actor_of(operator), order.id)
    ready = runtime.services.batches.ready_steps(ORDER.batch_id)
    assert [(view.record.step_id, view.record.iteration, view.name) for view in ready] == [
        ("qc_identify", 1, "Identify material and balance")
    ]
    assert ready[0].record.status == "ready" and ready[0].record.engine_key
    assert [e.draft.action for e in trail(runtime, "step_record")] == ["create"]


def test_a_version_made_effective_later_does_not_change_a_started_batch(
    runtime: Runtime, supervisor: User, operator: User
) -> None:
    order, version_id = released_order(runtime, supervisor)
    before = runtime.services.batches.start(actor_of(operator), order.id)
    engineer = actor_of(make_user(runtime, Role.ENGINEER))
    content = BPMN.read_bytes().replace(b"Identify material and balance", b"Identify the material and the balance")
    newer = runtime.services.procedures.import_upload(engineer, "procedure.bpmn", content)
    assert newer.id != version_id and newer.content_hash != before.batch.procedure_hash
    later = runtime.services.clock.now() + timedelta(minutes=1)
    with runtime.services.uow(AuditContext(Actor.system(), later, "test set-up")) as uow:
        uow.procedures.set_status(version_id, "superseded", later, "test set-up")
        uow.procedures.set_status(newer.id, "effective", later, "test set-up", later)
        uow.procedures.map_product("QC-SAMPLE", newer.id, later)
        uow.commit()
    assert runtime.services.batches.get(ORDER.batch_id) == before
    assert [view.name for view in runtime.services.batches.ready_steps(ORDER.batch_id)] == [
        "Identify material and balance"
    ]


def test_an_unreleased_or_cancelled_order_cannot_start_a_batch(
    runtime: Runtime, supervisor: User, operator: User
) -> None:
    make_procedure_effective(runtime, "QC-SAMPLE", "quick_check")
    planned = runtime.services.orders.create(actor_of(supervisor), ORDER)
    with pytest.raises(InvalidTransition, match="Order PO-1002 is planned: a batch can start only from a released"):
        runtime.services.batches.start(actor_of(operator), planned.id)
    nothing_started(runtime, planned, OrderStatus.PLANNED)
    runtime.services.orders.release(actor_of(supervisor), planned.id)
    cancelled = runtime.services.orders.cancel(actor_of(supervisor), planned.id, "customer withdrew the order")
    with pytest.raises(InvalidTransition, match="is cancelled: a batch can start only from a released order"):
        runtime.services.batches.start(actor_of(operator), cancelled.id)
    nothing_started(runtime, cancelled, OrderStatus.CANCELLED)


def test_a_batch_starts_only_once(runtime: Runtime, supervisor: User, operator: User) -> None:
    order, _ = released_order(runtime, supervisor)
    runtime.services.batches.start(actor_of(operator), order.id)
    with pytest.raises(InvalidTransition, match="is in_progress"):
        runtime.services.batches.start(actor_of(supervisor), order.id)
    assert len(trail(runtime, "batch")) == 2  # its creation and its start, once


@pytest.mark.parametrize("role", [Role.ADMIN, Role.QA, Role.ENGINEER])
def test_only_operators_and_supervisors_start_batches(runtime: Runtime, supervisor: User, role: Role) -> None:
    order, _ = released_order(runtime, supervisor)
    with pytest.raises(PermissionDenied, match="batch.execute"):
        runtime.services.batches.start(actor_of(make_user(runtime, role)), order.id)
    nothing_started(runtime, order, OrderStatus.RELEASED)


def test_the_audit_entry_names_the_hash_of_the_stored_engine_state(
    runtime: Runtime, supervisor: User, operator: User
) -> None:
    order, version_id = released_order(runtime, supervisor)
    batch = runtime.services.batches.start(actor_of(operator), order.id, "shift A start")
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        state, digest = uow.batches.state(batch.id)
    assert hashlib.sha256(state).hexdigest() == digest
    [entry] = [e.draft for e in trail(runtime, "batch", str(batch.id)) if e.draft.action == "state_change"]
    recorded = json.loads(entry.new_value or "{}")
    assert (entry.old_value, entry.reason, entry.username) == ("created", "shift A start", operator.username)
    assert recorded["engine_state_sha256"] == digest
    assert (recorded["status"], recorded["procedure_version_id"]) == ("in_progress", version_id)


@pytest.mark.req("SEQ-06")
@pytest.mark.parametrize(
    ("status", "named"),
    [
        ("draft", "it is draft"),
        ("in_review", "it is in review"),
        ("approved", "it is approved"),
        ("superseded", "it is superseded"),
        ("retired", "it is retired"),
        ("effective-later", "becomes effective only on"),
    ],
)
def test_a_batch_cannot_start_on_a_version_not_effective_on_the_start_date(
    runtime: Runtime, supervisor: User, operator: User, status: str, named: str
) -> None:
    order, version_id = released_order(runtime, supervisor)
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        if status == "effective-later":
            uow.procedures.set_status(version_id, "effective", now, "test set-up", now + timedelta(days=1))
        else:
            uow.procedures.set_status(version_id, status, now, "test set-up")
        uow.commit()
    with pytest.raises(Conflict, match=named):
        runtime.services.batches.start(actor_of(operator), order.id)
    nothing_started(runtime, order, OrderStatus.RELEASED)
