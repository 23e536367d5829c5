"""Production orders from the ERP: created planned with BOM and dates, applied once per message id, updated until the
batch starts, and every refusal named, audited and leaving nothing else behind (ERP-01)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ebr.app.inbound import InboundAnswer
from ebr.app.ports import StoredOrder
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.erp import BomLine
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied
from ebr.domain.materials import Material
from ebr.domain.orders import OrderStatus, ProductionOrder
from tests.app.inbound_support import (
    ORDER,
    PRODUCT,
    counts,
    erp_client,
    known_world,
    message,
    order_doc,
    refusals,
    start_batch_of,
)
from tests.app.masterdata_support import trail
from tests.factories import actor_of, make_user


@pytest.fixture
def world(runtime: Runtime) -> Runtime:
    known_world(runtime)
    return runtime


def stored_order(runtime: Runtime, number: str = "PO-7001") -> StoredOrder:
    return next(o for o in runtime.services.orders.list() if o.order.order_number == number)


def test_an_order_is_created_planned_with_its_bom_dates_and_source(world: Runtime) -> None:
    client, _ = erp_client(world)
    answer = world.services.inbound.orders(message(client, order_doc()))
    stored = stored_order(world)
    assert answer == InboundAnswer(
        201,
        {
            "status": "created",
            "message_id": "msg-1",
            "orders": [
                {
                    "order_number": "PO-7001",
                    "order_id": stored.id,
                    "batch_id": "B-7001",
                    "order_status": "planned",
                    "outcome": "created",
                }
            ],
        },
    )
    assert stored.order == ProductionOrder("PO-7001", PRODUCT, Decimal("120.5"), "pcs", "B-7001")
    assert (stored.source, stored.created_by) == ("erp", None)
    assert stored.planned_start == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert stored.planned_end == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert stored.bom == (BomLine("PARA-API", Decimal("60"), "kg"), BomLine("MCC-101", Decimal("24.6"), "kg"))
    assert stored.content_sha256 is not None and len(stored.content_sha256) == 64


def test_the_order_and_its_bom_lines_are_audited_in_the_clients_name_with_the_message_id(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="ERP-4711"))
    stored = stored_order(world)
    created = trail(world, "production_order", str(stored.id))
    assert [(e.draft.action, e.draft.username, e.draft.user_name) for e in created] == [
        ("create", f"api-client-{client.id}", "ERP production")
    ]
    assert created[0].draft.reason == "ERP message ERP-4711"
    assert created[0].draft.context["erp_message"] == "ERP-4711"
    assert json.loads(created[0].draft.new_value or "")["source"] == "erp"
    lines = trail(world, "order_component")
    assert [e.draft.object_id for e in lines] == [f"{stored.id}:1", f"{stored.id}:2"]


@pytest.mark.req("ERP-01")
def test_the_same_message_twice_gives_one_order_and_the_first_answer_again(world: Runtime) -> None:
    client, _ = erp_client(world)
    first = world.services.inbound.orders(message(client, order_doc()))
    entries_before = len(trail(world, "production_order")) + len(trail(world, "order_component"))
    again = world.services.inbound.orders(message(client, order_doc()))
    assert again.status == 200
    assert again.body["status"] == "repeat" and again.body["first_status"] == "created"
    assert again.body["first_status_code"] == 201
    assert again.body["orders"] == first.body["orders"]
    assert counts(world) | {"materials": 0} == {"orders": 1, "bom_lines": 2, "messages": 1, "lots": 0, "materials": 0}
    assert len(trail(world, "production_order")) + len(trail(world, "order_component")) == entries_before
    repeats = [e.draft for e in trail(world, "inbound_message") if e.draft.action == "message_repeated"]
    assert [(d.object_id, d.field) for d in repeats] == [("msg-1", "orders")]


@pytest.mark.req("ERP-01")
def test_the_same_content_written_differently_is_a_repeat_not_a_change(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc()))
    same = order_doc(planned_quantity="120.50", planned_start="2026-12-01T05:00:00Z")
    assert world.services.inbound.orders(message(client, same)).body["status"] == "repeat"


@pytest.mark.req("ERP-01")
def test_the_same_message_id_with_other_content_is_refused_and_changes_nothing(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc()))
    before = counts(world)
    with pytest.raises(InvalidInput, match="Message id msg-1 was already used on .* for other content"):
        world.services.inbound.orders(message(client, order_doc(planned_quantity="200")))
    assert counts(world) == before
    assert stored_order(world).order.planned_quantity == Decimal("120.5")
    [refused] = refusals(world)
    assert (refused.draft.object_id, refused.draft.field) == ("msg-1", "orders")
    assert json.loads(refused.draft.new_value or "")["status"] == 422
    assert "already used" in refused.draft.reason


def test_message_ids_are_per_client(world: Runtime) -> None:
    first, _ = erp_client(world)
    second, _ = erp_client(world)
    world.services.inbound.orders(message(first, order_doc()))
    answer = world.services.inbound.orders(message(second, order_doc(order_number="PO-7002", batch_id="B-7002")))
    assert answer.status == 201 and counts(world)["messages"] == 2


def test_a_new_message_updates_a_planned_order_and_its_bom_with_old_and_new_values(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="m-1"))
    bom = [{"material_code": "PARA-API", "quantity": "62.5", "unit": "kg"}]
    answer = world.services.inbound.orders(message(client, order_doc(planned_quantity="125", bom=bom), key="m-2"))
    assert (answer.status, answer.body["status"]) == (200, "updated")
    stored = stored_order(world)
    assert stored.order.planned_quantity == Decimal("125") and stored.order.status is OrderStatus.PLANNED
    assert stored.bom == (BomLine("PARA-API", Decimal("62.5"), "kg"),)
    changed = [
        (e.draft.action, e.draft.field, e.draft.old_value, e.draft.new_value) for e in trail(world, "order_component")
    ]
    assert ("update", "quantity", "60", "62.5") in changed
    assert ("update", "material_code", "MCC-101", "PARA-API") not in changed  # line 2 was dropped, not rewritten
    voided = [e.draft for e in trail(world, "order_component") if e.draft.action == "void"]
    assert [(d.object_id, json.loads(d.old_value or "")["material_code"]) for d in voided] == [
        (f"{stored.id}:2", "MCC-101")
    ]
    quantity = [
        e.draft for e in trail(world, "production_order", str(stored.id)) if e.draft.field == "planned_quantity"
    ]
    assert [(d.old_value, d.new_value, d.reason) for d in quantity] == [("120.5", "125", "ERP message m-2")]


def test_the_same_order_again_under_a_new_message_id_is_unchanged(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="m-1"))
    answer = world.services.inbound.orders(message(client, order_doc(), key="m-2"))
    assert (answer.status, answer.body["status"]) == (200, "unchanged")
    assert len(trail(world, "production_order")) == 1


def test_a_released_order_is_updated_and_stays_released_but_its_product_cannot_change(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="m-1"))
    supervisor = make_user(world, Role.SUPERVISOR)
    world.services.orders.release(actor_of(supervisor), stored_order(world).id)
    world.services.inbound.orders(message(client, order_doc(planned_quantity="99"), key="m-2"))
    assert stored_order(world).order.status is OrderStatus.RELEASED
    assert stored_order(world).order.planned_quantity == Decimal("99")
    world.services.masterdata.put_material(actor_of(supervisor), Material("OTHER-1", "Other", "pcs"), "ERP sync")
    with pytest.raises(Conflict, match="PO-7001 is released for product QC-SAMPLE: cancel it"):
        world.services.inbound.orders(message(client, order_doc(product_code="OTHER-1"), key="m-3"))


def test_a_change_after_the_batch_started_is_refused_with_the_reason_and_nothing_changes(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="m-1"))
    start_batch_of(world, "PO-7001")
    before = counts(world)
    with pytest.raises(Conflict, match="Order PO-7001 cannot change: its batch B-7001 has started"):
        world.services.inbound.orders(message(client, order_doc(planned_quantity="200"), key="m-2"))
    assert counts(world) == before
    assert stored_order(world).order.planned_quantity == Decimal("120.5")
    [refused] = refusals(world)
    assert json.loads(refused.draft.new_value or "")["status"] == 409
    # The unchanged order is not a change: the ERP may resend it after the start.
    assert world.services.inbound.orders(message(client, order_doc(), key="m-3")).body["status"] == "unchanged"


def test_a_new_order_reusing_another_orders_batch_id_is_refused(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc(), key="m-1"))
    before = counts(world)
    with pytest.raises(Conflict, match="Order PO-7002: batch id B-7001 is already used by order PO-7001"):
        world.services.inbound.orders(message(client, order_doc(order_number="PO-7002"), key="m-2"))
    assert counts(world) == before and len(refusals(world)) == 1


def test_an_order_entered_by_hand_is_not_overwritten_by_the_erp(world: Runtime) -> None:
    supervisor = make_user(world, Role.SUPERVISOR)
    world.services.orders.create(
        actor_of(supervisor), ProductionOrder("PO-7001", PRODUCT, Decimal("1"), "pcs", "B-HAND")
    )
    client, _ = erp_client(world)
    with pytest.raises(Conflict, match="PO-7001 was entered in the eBR by hand"):
        world.services.inbound.orders(message(client, order_doc()))


@pytest.mark.req("ERP-01")
def test_an_unknown_product_is_refused_naming_it(world: Runtime) -> None:
    client, _ = erp_client(world)
    with pytest.raises(InvalidInput, match="unknown product NO-SUCH-PRODUCT"):
        world.services.inbound.orders(message(client, order_doc(product_code="NO-SUCH-PRODUCT")))
    assert counts(world)["orders"] == 0 and len(refusals(world)) == 1


@pytest.mark.req("ERP-01")
def test_an_unknown_bom_material_is_refused_naming_it_and_nothing_is_stored(world: Runtime) -> None:
    client, _ = erp_client(world)
    bom = [*ORDER["bom"], {"material_code": "NOT-KNOWN-9", "quantity": "1", "unit": "kg"}]
    before = counts(world)
    with pytest.raises(InvalidInput, match="unknown BOM material NOT-KNOWN-9: send its master data first"):
        world.services.inbound.orders(message(client, order_doc(bom=bom)))
    assert counts(world) == before
    [refused] = refusals(world)
    assert "NOT-KNOWN-9" in refused.draft.reason and refused.draft.username == f"api-client-{client.id}"


@pytest.mark.req("ERP-01")
def test_a_bom_line_in_another_unit_than_its_material_is_refused(world: Runtime) -> None:
    client, _ = erp_client(world)
    bom = [{"material_code": "PARA-API", "quantity": "60000", "unit": "g"}]
    with pytest.raises(InvalidInput, match="BOM material PARA-API is counted in kg, not g"):
        world.services.inbound.orders(message(client, order_doc(bom=bom)))


def test_one_bad_order_refuses_the_whole_message(world: Runtime) -> None:
    client, _ = erp_client(world)
    good = order_doc()["orders"][0]
    bad = {**good, "order_number": "PO-7002", "batch_id": "B-7002", "product_code": "NO-SUCH"}
    with pytest.raises(InvalidInput, match="unknown product NO-SUCH"):
        world.services.inbound.orders(message(client, {"orders": [good, bad]}))
    assert counts(world)["orders"] == 0


def test_a_message_naming_one_order_twice_is_refused(world: Runtime) -> None:
    client, _ = erp_client(world)
    twice = order_doc()["orders"] * 2
    with pytest.raises(InvalidInput, match="names the order number PO-7001 more than once"):
        world.services.inbound.orders(message(client, {"orders": twice}))


def test_a_revoked_client_or_one_without_the_permission_is_refused(world: Runtime) -> None:
    reader, _ = erp_client(world, "system.read")
    with pytest.raises(PermissionDenied, match="lacks the permission erp.inbound"):
        world.services.inbound.orders(message(reader, order_doc()))
    assert counts(world)["orders"] == 0 and len(refusals(world)) == 1


def test_the_erp_reads_an_order_back_with_its_batch_status(world: Runtime) -> None:
    client, _ = erp_client(world)
    world.services.inbound.orders(message(client, order_doc()))
    view = world.services.inbound.order(client, "PO-7001")
    assert (view["status"], view["batch_status"], view["planned_quantity"]) == ("planned", None, "120.5")
    assert view["bom"] == ORDER["bom"] and view["planned_start"] == "2026-12-01T05:00:00.000000Z"
    start_batch_of(world, "PO-7001")
    assert world.services.inbound.order(client, "PO-7001")["batch_status"] == "in_progress"


@pytest.mark.req("ERP-01")
def test_two_copies_of_one_message_sent_at_once_create_one_order(world: Runtime) -> None:
    client, _ = erp_client(world)
    barrier = threading.Barrier(2)
    answers: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            answers.append(world.services.inbound.orders(message(client, order_doc())).status)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sorted(answers) == [200, 201]
    assert counts(world)["orders"] == 1 and counts(world)["messages"] == 1
