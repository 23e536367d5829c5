"""Reading inbound ERP messages: JSON against its schema, B2MML through the hardened reader, master data upserts, and
a precise refusal for every malformed or invalid message, audited and storing nothing else (ERP-01)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ebr.app.context import Actor
from ebr.app.inbound import MAX_MESSAGE_BYTES, InboundMessage
from ebr.app.ports import MalformedMessage, MessageTooLarge, UnsupportedContentType
from ebr.bootstrap import Runtime
from ebr.demo.erp_samples import MATERIAL_MASTER_XML, ORDER_XML, load
from ebr.demo.materials import DEMO_MATERIALS
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import MaterialLot, QcStatus
from tests.app.inbound_support import counts, erp_client, known_world, message, order_doc, refusals
from tests.app.masterdata_support import make_procedure_effective

XML = "application/xml"
LOTS: list[dict[str, Any]] = [
    {"material_code": "PARA-API", "lot_number": "PA-1", "qc_status": "released", "expiry": "2028-06-30"},
    {
        "material_code": "PARA-API",
        "lot_number": "PA-2",
        "qc_status": "quarantine",
        "expiry": "2028-07-31",
        "quantity": "250",
    },
]
MATERIALS: list[dict[str, Any]] = [{"code": "PARA-API", "name": "Paracetamol API", "unit": "kg"}]
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML">&lol2;</SyncOperationsSchedule>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML"><ApplicationArea>&secret;</ApplicationArea></SyncOperationsSchedule>"""


@pytest.fixture
def world(runtime: Runtime) -> Runtime:
    known_world(runtime)
    return runtime


def refused_with(
    runtime: Runtime, error: type[Exception], match: str, sent: InboundMessage, kind: str = "orders"
) -> str:
    """Send a message that must be refused; nothing may be stored but one audit entry. The refusal's text."""
    before = counts(runtime)
    send = runtime.services.inbound.orders if kind == "orders" else runtime.services.inbound.master_data
    with pytest.raises(error, match=match) as refused:
        send(sent)
    assert counts(runtime) == before
    assert [e.draft.field for e in refusals(runtime)][-1:] == [kind]
    return str(refused.value)


@pytest.mark.req("ERP-01")
@pytest.mark.parametrize("field", ["order_number", "product_code", "planned_quantity", "unit", "batch_id"])
def test_a_missing_field_is_malformed_and_names_the_field(world: Runtime, field: str) -> None:
    client, _ = erp_client(world)
    text = refused_with(
        world,
        MalformedMessage,
        rf"orders\[0\]\.{field}: required field missing",
        message(client, order_doc(**{field: None})),
    )
    assert text == f"orders[0].{field}: required field missing"


@pytest.mark.req("ERP-01")
def test_a_missing_bom_field_names_its_path(world: Runtime) -> None:
    client, _ = erp_client(world)
    bom = [{"material_code": "PARA-API", "quantity": "60"}]
    refused_with(
        world,
        MalformedMessage,
        r"orders\[0\]\.bom\[0\]\.unit: required field missing",
        message(client, order_doc(bom=bom)),
    )


@pytest.mark.req("ERP-01")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"planned_quantity": 120.5}, r"orders\[0\]\.planned_quantity: expected a decimal, got the number 120.5"),
        ({"batch_id": ["B-1"]}, r"orders\[0\]\.batch_id: expected a code, got an array"),
        ({"unit": "lbs"}, r"orders\[0\]\.unit: 'lbs' is not one of g, kg, L, mg, mL, pcs"),
        ({"planned_quantity": "1,5"}, r"orders\[0\]\.planned_quantity: '1,5' is not a decimal"),
        ({"planned_quantity": "0"}, r"orders\[0\]: Planned quantity must be a positive number"),
        (
            {"planned_start": "2026-12-01T06:00:00"},
            r"orders\[0\]\.planned_start: '2026-12-01T06:00:00' is not a date-time with zone",
        ),
        (
            {"planned_start": "2026-13-01T06:00:00Z"},
            r"orders\[0\]\.planned_start: '2026-13-01T06:00:00Z' is not a valid date-time",
        ),
        ({"planned_end": "2026-11-30T06:00:00Z"}, r"orders\[0\]: The planned end is before the planned start"),
        ({"colour": "blue"}, r"orders\[0\]: unknown field 'colour'"),
        ({"order_number": "PO 7001"}, r"orders\[0\]\.order_number: 'PO 7001' is not a code"),
    ],
)
def test_a_schema_or_domain_invalid_order_is_refused_naming_the_field(
    world: Runtime, changes: dict[str, Any], expected: str
) -> None:
    client, _ = erp_client(world)
    refused_with(world, InvalidInput, expected, message(client, order_doc(**changes)))


@pytest.mark.req("ERP-01")
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"orders": [', "The body is not valid JSON"),
        (b"\xff\xfe{}", "The body is not UTF-8 text"),
        (b'{"orders": [], "orders": []}', "names the field 'orders' twice"),
        (b'{"orders": [{"planned_quantity": NaN}]}', "contains NaN"),
        (b"[" * 100_000, "nests arrays or objects too deeply"),
        (b'["not", "an", "object"]', "the body: expected an object, got an array"),
        (b"{}", "orders: required field missing"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(world: Runtime, raw: bytes, expected: str) -> None:
    client, _ = erp_client(world)
    refused_with(world, MalformedMessage, expected, message(client, raw))


def test_a_json_message_needs_a_valid_idempotency_key(world: Runtime) -> None:
    client, _ = erp_client(world)
    refused_with(world, MalformedMessage, "send the Idempotency-Key header", message(client, order_doc(), key=None))
    refused_with(world, MalformedMessage, "1-128 visible ASCII characters", message(client, order_doc(), key="a b"))
    refused_with(world, MalformedMessage, "1-128 visible ASCII", message(client, order_doc(), key="k" * 129))


def test_a_body_of_another_type_or_too_large_is_refused_before_it_is_read(world: Runtime) -> None:
    client, _ = erp_client(world)
    refused_with(
        world,
        UnsupportedContentType,
        "Content type text/plain is not accepted",
        message(client, order_doc(), content_type="text/plain"),
    )
    huge = b" " * (MAX_MESSAGE_BYTES + 1)
    refused_with(world, MessageTooLarge, f"larger than {MAX_MESSAGE_BYTES} bytes", message(client, huge))
    detail = json.loads(refusals(world)[-1].draft.new_value or "")
    assert detail["status"] == 413 and detail["bytes"] == MAX_MESSAGE_BYTES + 1


def _demo_world(runtime: Runtime) -> None:
    make_procedure_effective(runtime, "PARA-500")
    for material in DEMO_MATERIALS:
        runtime.services.masterdata.put_material(Actor.system(), material, "ERP master data")


def test_a_b2mml_order_is_applied_under_its_bodid(runtime: Runtime) -> None:
    _demo_world(runtime)
    client, _ = erp_client(runtime)
    answer = runtime.services.inbound.orders(message(client, load(ORDER_XML), key=None, content_type=XML))
    assert (answer.status, answer.body["message_id"]) == (201, "3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03")
    stored = next(o for o in runtime.services.orders.list() if o.order.order_number == "PO-1003")
    assert (stored.order.batch_id, stored.order.planned_quantity, len(stored.bom)) == ("B-PARA-0002", Decimal("60"), 5)
    same = message(client, load(ORDER_XML), key="3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03", content_type="text/xml")
    assert runtime.services.inbound.orders(same).body["status"] == "repeat"


def test_the_same_order_as_json_and_as_b2mml_under_one_message_id_is_one_message(runtime: Runtime) -> None:
    _demo_world(runtime)
    client, _ = erp_client(runtime)
    bodid = "3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03"
    runtime.services.inbound.orders(message(client, load("order.json"), key=bodid))
    assert runtime.services.inbound.orders(message(client, load(ORDER_XML), key=None, content_type=XML)).status == 200


def test_an_idempotency_key_that_disagrees_with_the_bodid_is_refused(runtime: Runtime) -> None:
    _demo_world(runtime)
    client, _ = erp_client(runtime)
    sent = message(client, load(ORDER_XML), key="another-id", content_type=XML)
    refused_with(runtime, MalformedMessage, "Idempotency-Key header 'another-id' and the BODID '3d0f6a52", sent)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (BILLION_LAUGHS, "document type declaration"),
        (EXTERNAL_ENTITY, "document type declaration"),
        (b"<SyncOperationsSchedule xmlns='http://www.mesa.org/xml/B2MML'><unclosed>", "not well-formed"),
        (b"<Other xmlns='urn:x'/>", "Unknown root element"),
    ],
)
def test_xml_that_is_not_read_at_all_is_malformed(world: Runtime, raw: bytes, expected: str) -> None:
    client, _ = erp_client(world)
    refused_with(world, MalformedMessage, expected, message(client, raw, key=None, content_type=XML))


def test_a_schema_invalid_b2mml_order_is_invalid(runtime: Runtime) -> None:
    _demo_world(runtime)
    client, _ = erp_client(runtime)
    broken = load(ORDER_XML).replace(
        b"<OperationsType>Production</OperationsType>", b"<OperationsType>Brewing</OperationsType>", 1
    )
    refused_with(
        runtime,
        InvalidInput,
        "does not validate against B2MML-OperationsSchedule.xsd",
        message(client, broken, key=None, content_type=XML),
    )


def test_materials_and_lots_are_upserted_and_the_same_data_again_changes_nothing(runtime: Runtime) -> None:
    client, _ = erp_client(runtime)
    first = runtime.services.inbound.master_data(message(client, {"materials": MATERIALS, "lots": LOTS}, key="md-1"))
    assert (first.status, first.body["status"]) == (201, "created")
    assert [lot["outcome"] for lot in first.body["lots"]] == ["created", "created"]  # type: ignore[union-attr]
    assert runtime.services.masterdata.lots("PARA-API") == [
        MaterialLot("PARA-API", "PA-1", QcStatus.RELEASED, date(2028, 6, 30)),
        MaterialLot("PARA-API", "PA-2", QcStatus.QUARANTINE, date(2028, 7, 31), Decimal("250")),
    ]
    again = runtime.services.inbound.master_data(message(client, {"materials": MATERIALS, "lots": LOTS}, key="md-2"))
    assert (again.status, again.body["status"]) == (200, "unchanged")
    blocked = [{**LOTS[0], "qc_status": "blocked"}]
    changed = runtime.services.inbound.master_data(message(client, {"lots": blocked}, key="md-3"))
    assert (changed.status, changed.body["status"]) == (200, "updated")
    assert runtime.services.masterdata.lots("PARA-API")[0].qc_status is QcStatus.BLOCKED


@pytest.mark.req("ERP-01")
def test_a_lot_of_an_unknown_material_refuses_the_whole_message(runtime: Runtime) -> None:
    client, _ = erp_client(runtime)
    lots = [{**LOTS[0], "material_code": "NO-SUCH-MAT"}]
    sent = message(client, {"materials": MATERIALS, "lots": lots})
    refused_with(runtime, InvalidInput, "Unknown material 'NO-SUCH-MAT'", sent, kind="master_data")
    assert runtime.services.masterdata.materials() == []


@pytest.mark.parametrize(
    ("document", "error", "expected"),
    [
        ({}, MalformedMessage, "the body: names none of the fields lots, materials"),
        ({"lots": [{**LOTS[0], "qc_status": "ok"}]}, InvalidInput, r"lots\[0\]\.qc_status: 'ok' is not one of"),
        (
            {"lots": [{**LOTS[0], "expiry": "2028-02-30"}]},
            InvalidInput,
            r"lots\[0\]\.expiry: '2028-02-30' is not a valid date",
        ),
        (
            {"materials": [{"code": "X-1", "unit": "kg"}]},
            MalformedMessage,
            r"materials\[0\]\.name: required field missing",
        ),
        ({"materials": MATERIALS * 2}, InvalidInput, "names the material PARA-API more than once"),
    ],
)
def test_an_invalid_master_data_message_is_refused_naming_the_field(
    runtime: Runtime, document: dict[str, Any], error: type[Exception], expected: str
) -> None:
    client, _ = erp_client(runtime)
    refused_with(runtime, error, expected, message(client, document), kind="master_data")


def test_a_b2mml_material_master_is_applied_under_its_bodid(runtime: Runtime) -> None:
    client, _ = erp_client(runtime)
    answer = runtime.services.inbound.master_data(
        message(client, load(MATERIAL_MASTER_XML), key=None, content_type=XML)
    )
    assert (answer.status, answer.body["message_id"]) == (201, "8b6e2f10-4c7a-4d2e-b3f9-0a1c5d7e9f21")
    assert {m.code for m in runtime.services.masterdata.materials()} >= {"PARA-API", "MCC-101", "TALC-01"}
    assert runtime.services.masterdata.lots("PARA-API")
