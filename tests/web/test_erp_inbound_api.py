"""The ERP's inbound HTTP API: JSON or B2MML by bearer token, one order per message id, and a clear 4xx with the
reason for every bad input, with nothing stored but the audit entry of the refusal (ERP-01)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.app.context import Actor
from ebr.app.inbound import MAX_MESSAGE_BYTES
from ebr.bootstrap import Runtime
from ebr.demo.erp_samples import MATERIAL_MASTER_XML, ORDER_XML, load
from ebr.demo.materials import DEMO_MATERIALS
from ebr.web.app import MAX_FORM_BYTES
from tests.app.inbound_support import ORDER, body, counts, erp_client, known_world, order_doc, refusals, start_batch_of
from tests.app.masterdata_support import make_procedure_effective
from tests.web.support import entries, new_client

ORDERS = "/api/erp/orders"
XML = "application/xml"
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML">&secret;</SyncOperationsSchedule>"""


@pytest.fixture
def erp(app: Flask, runtime: Runtime) -> tuple[FlaskClient, dict[str, str]]:
    """A browser-less client and the ERP's bearer header; the product and BOM materials are known."""
    known_world(runtime)
    _, token = erp_client(runtime)
    return new_client(app), {"Authorization": f"Bearer {token}"}


def send(
    erp: tuple[FlaskClient, dict[str, str]],
    document: object,
    key: str | None = "msg-1",
    content_type: str = "application/json",
    path: str = ORDERS,
) -> TestResponse:
    http, auth = erp
    headers = {**auth, **({"Idempotency-Key": key} if key is not None else {})}
    data = document if isinstance(document, bytes) else body(document)
    return http.post(path, data=data, headers=headers, content_type=content_type)


def refused(
    runtime: Runtime, response: TestResponse, status: int, reason: str, before: dict[str, int]
) -> dict[str, Any]:
    """A refusal in JSON with its status and reason, nothing stored, and its audit entry."""
    assert response.status_code == status, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "refused" and reason in answer["message"], answer
    assert counts(runtime) == before
    last = refusals(runtime)[-1].draft
    assert json.loads(last.new_value or "")["status"] == status and reason in last.reason
    return dict(answer)


@pytest.mark.req("ERP-01")
def test_the_same_post_twice_gives_one_order(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    first = send(erp, order_doc())
    assert first.status_code == 201
    assert first.get_json()["orders"][0]["outcome"] == "created"
    again = send(erp, order_doc())
    assert again.status_code == 200
    assert again.get_json()["status"] == "repeat"
    assert again.get_json()["orders"] == first.get_json()["orders"]
    assert counts(runtime)["orders"] == 1 and counts(runtime)["messages"] == 1


@pytest.mark.req("ERP-01")
def test_a_changed_payload_under_the_same_key_is_422(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    send(erp, order_doc())
    before = counts(runtime)
    answer = refused(runtime, send(erp, order_doc(planned_quantity="999")), 422, "already used", before)
    assert answer["error"] == "InvalidInput"


@pytest.mark.req("ERP-01")
def test_a_missing_field_is_400_naming_the_field(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    answer = refused(
        runtime, send(erp, order_doc(batch_id=None)), 400, "orders[0].batch_id: required field missing", counts(runtime)
    )
    assert answer["error"] == "MalformedMessage"


@pytest.mark.req("ERP-01")
def test_a_wrong_type_is_422_naming_the_field_and_the_type(
    erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime
) -> None:
    response = send(erp, order_doc(planned_quantity=12))
    refused(
        runtime, response, 422, "orders[0].planned_quantity: expected a decimal, got the number 12", counts(runtime)
    )


@pytest.mark.req("ERP-01")
def test_an_unknown_material_is_422_naming_it(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    bom = [{"material_code": "GHOST-1", "quantity": "1", "unit": "kg"}]
    refused(runtime, send(erp, order_doc(bom=bom)), 422, "unknown BOM material GHOST-1", counts(runtime))


@pytest.mark.req("ERP-01")
def test_an_unknown_product_is_422_naming_it(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    refused(runtime, send(erp, order_doc(product_code="GHOST-P")), 422, "unknown product GHOST-P", counts(runtime))


@pytest.mark.req("ERP-01")
@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [
        (b'{"orders": [{"order_number": "PO-1"', "application/json", "The body is not valid JSON"),
        (b"<SyncOperationsSchedule xmlns='http://www.mesa.org/xml/B2MML'>", XML, "not well-formed"),
        (XXE, XML, "document type declaration"),
        (XXE, "text/xml", "document type declaration"),
    ],
)
def test_malformed_json_or_xml_and_entity_tricks_are_400(
    erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime, raw: bytes, content_type: str, reason: str
) -> None:
    refused(runtime, send(erp, raw, content_type=content_type), 400, reason, counts(runtime))


def test_a_schema_invalid_b2mml_order_is_422(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    broken = load(ORDER_XML).replace(b"<MaterialUse>Consumed</MaterialUse>", b"<MaterialUse>Eaten</MaterialUse>", 1)
    refused(
        runtime, send(erp, broken, key=None, content_type=XML), 422, "B2MML-OperationsSchedule.xsd", counts(runtime)
    )


@pytest.mark.req("ERP-01")
def test_a_change_after_the_batch_started_is_409(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    assert send(erp, order_doc(), key="m-1").status_code == 201
    start_batch_of(runtime, ORDER["order_number"])
    before = counts(runtime)
    refused(runtime, send(erp, order_doc(planned_quantity="1"), key="m-2"), 409, "its batch B-7001 has started", before)


def test_a_new_order_reusing_another_orders_batch_id_is_409(
    erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime
) -> None:
    send(erp, order_doc(), key="m-1")
    before = counts(runtime)
    response = send(erp, order_doc(order_number="PO-7002"), key="m-2")
    refused(runtime, response, 409, "batch id B-7001 is already used by order PO-7001", before)


def test_an_oversized_body_is_413_and_audited(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    huge = b'{"orders": [' + b" " * MAX_MESSAGE_BYTES + b"]}"
    refused(runtime, send(erp, huge), 413, f"larger than {MAX_MESSAGE_BYTES} bytes", counts(runtime))


def test_another_content_type_is_415(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    response = send(erp, b"order_number=PO-1", content_type="application/x-www-form-urlencoded")
    refused(runtime, response, 415, "application/x-www-form-urlencoded is not accepted", counts(runtime))


@pytest.mark.req("ERP-01")
@pytest.mark.parametrize("token", [None, "ebr_not-a-token"])
def test_a_missing_or_unknown_token_is_401_and_audited(app: Flask, runtime: Runtime, token: str | None) -> None:
    known_world(runtime)
    before = counts(runtime)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = new_client(app).post(ORDERS, data=body(order_doc()), headers=headers, content_type="application/json")
    assert response.status_code == 401 and "valid API token" in response.get_json()["message"]
    assert counts(runtime) == before
    [failed] = entries(runtime, object_type="api_client", action="login_failed")
    assert failed.draft.new_value == f"POST {ORDERS}"
    assert failed.draft.reason == ("unknown API token" if token else "no API token")


@pytest.mark.req("ERP-01")
def test_a_revoked_token_is_401_at_once_and_audited_naming_the_client(app: Flask, runtime: Runtime) -> None:
    known_world(runtime)
    client, token = erp_client(runtime)
    runtime.services.api_clients.revoke(Actor.system(), client.id, "token leaked")
    before = counts(runtime)
    response = send((new_client(app), {"Authorization": f"Bearer {token}"}), order_doc())
    assert response.status_code == 401
    assert counts(runtime) == before
    [failed] = entries(runtime, object_type="api_client", action="login_failed")
    assert (failed.draft.object_id, failed.draft.reason) == (str(client.id), "revoked API token")


def test_a_token_without_erp_inbound_is_403_and_audited(app: Flask, runtime: Runtime) -> None:
    client, token = erp_client(runtime, "system.read")
    response = send((new_client(app), {"Authorization": f"Bearer {token}"}), order_doc())
    assert response.status_code == 403 and "erp.inbound" in response.get_json()["message"]
    [denied] = entries(runtime, action="permission_denied")
    assert (denied.draft.username, denied.draft.object_id) == (f"api-client-{client.id}", f"POST {ORDERS}")


def test_a_b2mml_order_and_material_master_are_accepted(app: Flask, runtime: Runtime) -> None:
    make_procedure_effective(runtime, "PARA-500")
    _, token = erp_client(runtime)
    erp = (new_client(app), {"Authorization": f"Bearer {token}"})
    master = send(erp, load(MATERIAL_MASTER_XML), key=None, content_type=XML, path="/api/erp/materials")
    assert master.status_code == 201, master.get_json()
    for material in DEMO_MATERIALS:  # the sample order's BOM names the whole demo plant
        runtime.services.masterdata.put_material(Actor.system(), material, "ERP master data")
    # The Idempotency-Key header is a structured-field string: quoted is the same key as the BODID.
    order = send(erp, load(ORDER_XML), key='"3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03"', content_type=XML)
    assert order.status_code == 201, order.get_json()
    assert order.get_json()["message_id"] == "3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03"


def test_a_message_larger_than_a_form_but_within_the_message_limit_is_accepted(
    erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime
) -> None:
    materials = [{"code": f"M-{i:04d}", "name": f"Excipient {i:04d} " + "x" * 100, "unit": "kg"} for i in range(1000)]
    raw = body({"materials": materials})
    assert MAX_FORM_BYTES < len(raw) < MAX_MESSAGE_BYTES
    response = send(erp, raw, path="/api/erp/materials")
    assert response.status_code == 201, response.get_json()
    assert counts(runtime)["materials"] == 1000 + 2


def test_master_data_as_json_is_created_then_a_repeat(
    erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime
) -> None:
    lots = [{"material_code": "PARA-API", "lot_number": "PA-9", "qc_status": "released", "expiry": "2029-01-31"}]
    first = send(erp, {"lots": lots}, key="md-1", path="/api/erp/materials")
    assert (first.status_code, first.get_json()["lots"][0]["outcome"]) == (201, "created")
    assert send(erp, {"lots": lots}, key="md-1", path="/api/erp/materials").status_code == 200
    assert counts(runtime)["lots"] == 1


def test_the_erp_reads_an_order_back(erp: tuple[FlaskClient, dict[str, str]], runtime: Runtime) -> None:
    send(erp, order_doc())
    http, auth = erp
    found = http.get(f"{ORDERS}/PO-7001", headers=auth)
    assert found.status_code == 200
    assert (found.get_json()["status"], found.get_json()["bom"]) == ("planned", ORDER["bom"])
    missing = http.get(f"{ORDERS}/PO-0000", headers=auth)
    assert missing.status_code == 404 and "No production order PO-0000" in missing.get_json()["message"]


def test_token_routes_need_no_csrf_token_and_set_no_cookie(erp: tuple[FlaskClient, dict[str, str]]) -> None:
    response = send(erp, order_doc())  # CSRF protection is on in these tests: a form POST without a token is 400
    assert response.status_code == 201
    assert not response.headers.getlist("Set-Cookie")
