"""Master data and production order pages over HTTP: who may change what, bad input refused with 422 and nothing
stored, idempotent saves, and the release refusal without an effective procedure version."""

from __future__ import annotations

import html

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.orders import OrderStatus
from tests.app.masterdata_support import API, LOT, make_procedure_effective, trail
from tests.web.support import entries_since, last_seq, post, sign_in

MATERIAL = {"code": "MCC-101", "name": "Microcrystalline cellulose", "unit": "kg", "reason": "ERP sync"}
LOT_FORM = {
    "material_code": "PARA-API",
    "lot_number": "L-0001",
    "qc_status": "released",
    "expiry": "2027-06-30",
    "quantity": "25",
    "reason": "ERP sync",
}
CONTAINER = {
    "barcode": "C-0001",
    "material_code": "PARA-API",
    "lot_number": "L-0001",
    "quantity": "5",
    "unit": "kg",
    "reason": "labelled",
}
ORDER = {
    "order_number": "PO-1001",
    "product_code": "PARA-500",
    "planned_quantity": "120",
    "unit": "kg",
    "batch_id": "B-2026-001",
    "due_date": "2026-12-01",
}


def text_of(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def send(browser: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    return post(browser, path, data, token_from="/materials/")


@pytest.fixture
def supervisor(app: Flask, runtime: Runtime) -> FlaskClient:
    runtime.services.masterdata.put_material(Actor.system(), API, "ERP sync")
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    return browser


def test_a_supervisor_saves_a_material_a_lot_and_a_container_and_everyone_but_admin_reads_them(
    app: Flask, runtime: Runtime, supervisor: FlaskClient
) -> None:
    for path, data in (("/materials/", MATERIAL), ("/materials/lots", LOT_FORM), ("/materials/containers", CONTAINER)):
        response = send(supervisor, path, data)
        assert response.status_code == 302, (path, text_of(response)[:400])
    page = text_of(supervisor.get("/materials/"))
    assert "Microcrystalline cellulose" in page and "L-0001" in page and "C-0001" in page
    qa, _ = sign_in(app, runtime, Role.QA)
    qa_page = qa.get("/materials/")
    assert qa_page.status_code == 200 and "C-0001" in text_of(qa_page)
    assert 'id="save-lot"' not in text_of(qa_page)  # QA reads, the supervisor changes
    admin, _ = sign_in(app, runtime, Role.ADMIN)
    assert admin.get("/materials/").status_code == 403
    assert admin.get("/orders/").status_code == 403


def test_saving_the_same_lot_again_writes_no_audit_entry(runtime: Runtime, supervisor: FlaskClient) -> None:
    assert send(supervisor, "/materials/lots", LOT_FORM).status_code == 302
    before = last_seq(runtime)
    assert send(supervisor, "/materials/lots", {**LOT_FORM, "quantity": "25.00"}).status_code == 302
    assert entries_since(runtime, before) == []
    assert (
        send(supervisor, "/materials/lots", {**LOT_FORM, "qc_status": "rejected", "reason": "OOS"}).status_code == 302
    )
    changed = [
        (e.draft.field, e.draft.old_value, e.draft.new_value, e.draft.reason) for e in entries_since(runtime, before)
    ]
    assert changed == [("qc_status", "released", "rejected", "OOS")]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN, Role.QA])
def test_roles_without_the_permission_get_403_and_nothing_is_stored(app: Flask, runtime: Runtime, role: Role) -> None:
    browser, _ = sign_in(app, runtime, role)
    assert post(browser, "/materials/", MATERIAL).status_code == 403
    assert post(browser, "/orders/", ORDER).status_code == 403
    assert runtime.services.masterdata.materials() == []
    assert runtime.services.orders.list() == []


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/materials/", {**MATERIAL, "unit": "lbs"}, "Not a valid choice"),
        ("/materials/", {**MATERIAL, "code": "MCC 101"}, "Material code"),
        ("/materials/lots", {**LOT_FORM, "expiry": "2027-13-45"}, "Not a valid date"),
        ("/materials/lots", {**LOT_FORM, "quantity": "-3"}, "must be a positive number"),
        ("/materials/lots", {**LOT_FORM, "material_code": "NOPE"}, "Unknown material 'NOPE'"),
        ("/materials/lots", {**LOT_FORM, "qc_status": "approved"}, "Not a valid choice"),
        ("/materials/lots", {**LOT_FORM, "reason": ""}, "reason"),
        ("/materials/containers", {**CONTAINER, "quantity": "-1"}, "must be a positive number"),
        ("/materials/containers", {**CONTAINER, "quantity": "lots"}, "is not a number"),
        ("/orders/", {**ORDER, "planned_quantity": "-120"}, "must be a positive number"),
        ("/orders/", {**ORDER, "unit": "barrels"}, "Not a valid choice"),
        ("/orders/", {**ORDER, "due_date": "01/12/2026"}, "Not a valid date"),
        ("/orders/", {**ORDER, "batch_id": "B 1"}, "Batch id"),
    ],
)
def test_bad_input_is_refused_with_422_and_nothing_is_stored(
    runtime: Runtime, supervisor: FlaskClient, path: str, data: dict[str, str], message: str
) -> None:
    before = last_seq(runtime)
    response = send(supervisor, path, data)
    assert response.status_code == 422, text_of(response)[:400]
    assert message in text_of(response), text_of(response)[-900:]
    assert entries_since(runtime, before) == []
    assert runtime.services.masterdata.materials() == [API]
    assert runtime.services.masterdata.lots() == [] and runtime.services.orders.list() == []


def test_a_duplicate_batch_id_is_refused_with_422(runtime: Runtime, supervisor: FlaskClient) -> None:
    assert send(supervisor, "/orders/", ORDER).status_code == 302
    before = last_seq(runtime)
    response = send(supervisor, "/orders/", {**ORDER, "order_number": "PO-1002"})
    assert response.status_code == 422
    assert "Batch id B-2026-001 is already used" in text_of(response)
    assert entries_since(runtime, before) == []
    assert [o.order.order_number for o in runtime.services.orders.list()] == ["PO-1001"]


def test_an_order_is_released_only_onto_an_effective_procedure_and_cancelled_with_a_reason(
    runtime: Runtime, supervisor: FlaskClient
) -> None:
    assert send(supervisor, "/orders/", ORDER).status_code == 302
    (stored,) = runtime.services.orders.list()
    refused = send(supervisor, f"/orders/{stored.id}/release", {})
    assert refused.status_code == 409
    assert "product PARA-500 has no effective procedure version" in text_of(refused)
    assert send(supervisor, f"/orders/{stored.id}/cancel", {"reason": ""}).status_code == 422
    make_procedure_effective(runtime, "PARA-500")
    assert send(supervisor, f"/orders/{stored.id}/release", {}).status_code == 302
    assert runtime.services.orders.get(stored.id).order.status is OrderStatus.RELEASED
    assert send(supervisor, f"/orders/{stored.id}/cancel", {"reason": "line breakdown"}).status_code == 302
    cancelled = runtime.services.orders.get(stored.id)
    assert (cancelled.order.status, cancelled.status_reason) == (OrderStatus.CANCELLED, "line breakdown")
    assert send(supervisor, f"/orders/{stored.id}/release", {}).status_code == 409
    page = text_of(supervisor.get("/orders/"))
    assert "cancelled (line breakdown)" in page
    statuses = [
        e.draft.new_value for e in trail(runtime, "production_order", str(stored.id)) if e.draft.field == "status"
    ]
    assert statuses == ["released", "cancelled"]


def test_the_identity_check_page_names_the_reason(app: Flask, runtime: Runtime) -> None:
    md = runtime.services.masterdata
    md.put_material(Actor.system(), API, "ERP sync")
    md.put_lot(Actor.system(), LOT, "ERP sync")
    operator, _ = sign_in(app, runtime, Role.OPERATOR)
    assert operator.get("/materials/identify").status_code == 200
    unknown = operator.get("/materials/identify?barcode=C-404&material=PARA-API")
    assert "Unknown barcode 'C-404': no such container." in text_of(unknown)
    assert operator.get("/materials/identify?barcode=&material=PARA-API").status_code == 422
