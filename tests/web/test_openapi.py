"""The OpenAPI 3.1 document: valid, public, and describing exactly the API routes the app serves (both ways)."""

from __future__ import annotations

import re

from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

import ebr
from ebr.app.inbound_json import MASTER_DATA_SCHEMA, ORDERS_SCHEMA, schema
from tests.app.inbound_support import order_doc
from tests.web.support import new_client

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
CONVERTER = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>")


def served(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path template, method) of every /api/ rule of the URL map."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = CONVERTER.sub(r"{\1}", rule.rule)
            found |= {(path, method.lower()) for method in (rule.methods or set()) - IGNORED_METHODS}
    return found


def documented(app: Flask) -> dict[str, object]:
    response = new_client(app).get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert isinstance(document, dict)
    return document


def test_the_document_is_public_and_a_valid_openapi_3_1_document(app: Flask) -> None:
    document = documented(app)
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == ebr.__version__  # type: ignore[index]


def test_every_api_route_is_documented_and_every_documented_route_is_served(app: Flask) -> None:
    paths = documented(app)["paths"]
    assert isinstance(paths, dict)
    described = {(path, method) for path, operations in paths.items() for method in operations}
    real = served(app)
    assert ("/api/erp/orders", "post") in real, "the URL map walk found no ERP route"
    assert real - described == set(), "API routes without documentation"
    assert described - real == set(), "documented routes the app does not serve"


SAMPLES: list[tuple[str, str, object]] = [
    (ORDERS_SCHEMA, "ErpOrders", order_doc()),
    (ORDERS_SCHEMA, "ErpOrders", order_doc(batch_id=None)),
    (ORDERS_SCHEMA, "ErpOrders", order_doc(planned_quantity=5)),
    (ORDERS_SCHEMA, "ErpOrders", order_doc(unit="lbs")),
    (ORDERS_SCHEMA, "ErpOrders", order_doc(planned_start="2026-12-01T06:00:00")),
    (ORDERS_SCHEMA, "ErpOrders", order_doc(bom=[{"material_code": "X", "quantity": "1"}])),
    (ORDERS_SCHEMA, "ErpOrders", {"orders": []}),
    (MASTER_DATA_SCHEMA, "ErpMasterData", {"materials": [{"code": "M-1", "name": "M", "unit": "kg"}]}),
    (MASTER_DATA_SCHEMA, "ErpMasterData", {"lots": [{"material_code": "M-1", "lot_number": "L", "qc_status": "ok"}]}),
    (MASTER_DATA_SCHEMA, "ErpMasterData", {}),
]


def test_the_documented_request_bodies_accept_and_refuse_exactly_what_the_api_does(app: Flask) -> None:
    components = documented(app)["components"]
    verdicts = []
    for name, component, sample in SAMPLES:
        published = Draft202012Validator({"components": components, "$ref": f"#/components/schemas/{component}"})
        used = Draft202012Validator(schema(name))
        assert published.is_valid(sample) == used.is_valid(sample), (component, sample)
        verdicts.append(used.is_valid(sample))
    assert verdicts.count(True) == 2, "the samples must include accepted and refused bodies"


def test_the_erp_operations_take_json_or_b2mml_and_name_every_answer(app: Flask) -> None:
    post = documented(app)["paths"]["/api/erp/orders"]["post"]  # type: ignore[index]
    content = post["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErpOrders"}
    assert set(content) == {"application/json", "application/xml"}
    assert {"201", "200", "400", "401", "409", "413", "415", "422"} <= set(post["responses"])
    assert post["security"] == [{"bearer": []}]
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]


def test_only_the_document_itself_is_open_without_a_token(app: Flask) -> None:
    paths = documented(app)["paths"]
    assert isinstance(paths, dict)
    public = {(p, m) for p, ops in paths.items() for m, op in ops.items() if op["security"] == []}
    assert public == {("/api/openapi.json", "get")}
