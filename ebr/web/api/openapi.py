"""The OpenAPI 3.1 document of every /api/ route, built from the small declarative table below.

The ERP's request bodies are the very JSON Schemas the use cases validate against (ebr/app/schemas), bundled into
components, so the document cannot drift from what the API accepts; a test compares its paths and methods with the
app's URL map both ways. The document is public: it describes the contract, holds no data, and integrators' tools
read it before a token exists. Every operation that touches data still needs a token or a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ebr.app.inbound import MAX_MESSAGE_BYTES
from ebr.app.inbound_json import MASTER_DATA_SCHEMA, ORDERS_SCHEMA, schema
from ebr.domain.accounts import Permission
from ebr.web.session import COOKIE

Json = dict[str, Any]
REASONS = {
    200: "Done; for an inbound message: applied without creating anything, or a repeat answered as first answered",
    201: "The message was applied and created at least one order, material or lot",
    400: "Malformed: not JSON or XML, a forbidden XML construct (DTD, entity), a missing field or message id",
    401: "Not authenticated (no valid bearer token, or no live session); a refused token is audited",
    403: "The token or the user's roles lack the permission this operation needs",
    404: "No such object",
    409: "Conflicts with the current state (an ERP order whose batch has started, or whose batch id another order "
    "holds; an out-of-limit value not yet confirmed)",
    413: f"The body is larger than {MAX_MESSAGE_BYTES} bytes",
    415: "The body is neither application/json nor application/xml",
    422: "Invalid: breaks the schema (types, units, patterns), names an unknown product or material, or reuses a "
    "message id for other content",
    503: "The device did not answer; nothing was stored and the same capture may succeed when retried",
}
MESSAGE_REFUSALS = (400, 401, 403, 409, 413, 415, 422)
BEARER, SESSION = "bearer", "session"
ENTRY = "One value of a step's form: {field, value, unit, confirmed, repeat, override_reason, change_reason}"


@dataclass(frozen=True)
class Operation:
    """One method on one path, as the document tells it."""

    path: str  # OpenAPI template: /api/erp/orders/{order_number}
    method: str
    operation_id: str
    summary: str
    permission: Permission | None  # None: public
    answer: str  # the component schema of the success answer
    statuses: tuple[int, ...] = (200,)
    body_schema: str | None = None  # the component schema of the JSON body
    xml: str = ""  # the B2MML message that may replace the JSON body (inbound ERP messages only)
    auth: str = BEARER  # bearer token, or the logged-in browser session of the pages' scripts


OPERATIONS = (
    Operation("/api/version", "get", "version", "The software version and build commit (VAL-04)",
              Permission.SYSTEM_READ, "Version", (200, 401, 403)),
    Operation("/api/openapi.json", "get", "openapi", "This document", None, "OpenApiDocument"),
    Operation("/api/erp/orders", "post", "receiveOrders",
              "Production orders: a new order number creates a planned order; a known one is updated while its batch "
              "has not started. Applied whole or not at all, once per message id (ERP-01).",
              Permission.ERP_INBOUND, "OrdersAnswer", (200, 201, *MESSAGE_REFUSALS), "ErpOrders",
              "B2MML V0700 SyncOperationsSchedule / ProcessOperationsSchedule; its BODID is the message id"),
    Operation("/api/erp/orders/{order_number}", "get", "readOrder",
              "One order: content, plan, status and its batch's status once started",
              Permission.ERP_INBOUND, "Order", (200, 401, 403, 404)),
    Operation("/api/erp/materials", "post", "receiveMasterData",
              "Materials and lots with QC status and expiry, upserted by their keys. Applied whole or not at all, "
              "once per message id (ERP-01).",
              Permission.ERP_INBOUND, "MasterDataAnswer", (200, 201, *MESSAGE_REFUSALS), "ErpMasterData",
              "B2MML V0700 material master (Sync/Process MaterialInformation, MaterialDefinition or MaterialLot); "
              "its BODID is the message id"),
    Operation("/api/batches/{batch_id}/steps/{step_pk}/values", "post", "enterValue",
              "The step page saves one value at once (TIME-03); an out-of-limit value answers 409 until confirmed",
              Permission.BATCH_EXECUTE, "Object", (200, 401, 403, 404, 409, 422), "Entry", auth=SESSION),
    Operation("/api/batches/{batch_id}/steps/{step_pk}/capture", "post", "captureValue",
              "The step page reads a device-bound field from the equipment in use and stores it (DEV-01)",
              Permission.BATCH_EXECUTE, "Object", (200, 401, 403, 404, 422, 503), "Capture", auth=SESSION),
    Operation("/api/batches/{batch_id}/steps/{step_pk}/calculated", "get", "calculatedValues",
              "The step's calculated fields from the values recorded so far: {field id: text}",
              Permission.BATCH_VIEW, "Object", (200, 401, 403, 404), auth=SESSION),
    Operation("/api/genealogy/batches/{batch_id}", "get", "batchGenealogy", "A batch's genealogy",
              Permission.BATCH_VIEW, "Object", (200, 401, 403, 404), auth=SESSION),
    Operation("/api/genealogy/lots/{material_code}/{lot_number}", "get", "lotGenealogy",
              "Every batch that consumed a lot, and the batch that made it",
              Permission.BATCH_VIEW, "Object", (200, 401, 403, 404), auth=SESSION),
)  # fmt: skip

IDEMPOTENCY_KEY: Json = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "The message id, unique per client; required for JSON, optional for B2MML where the BODID is the "
    "message id (both must then agree). A repeat with the same content gets the first answer again (200); the same id "
    "with other content is refused (422).",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,128}$"},
}


def _outcomes(*keys: str) -> Json:
    return {
        "type": "object",
        "required": ["outcome", *keys],
        "properties": {
            **{key: {"type": "string"} for key in keys},
            "outcome": {"enum": ["created", "updated", "unchanged"]},
        },
    }


def _answer(items: Json) -> Json:
    return {
        "type": "object",
        "required": ["status", "message_id"],
        "properties": {
            "status": {"enum": ["created", "updated", "unchanged", "repeat"]},
            "message_id": {"type": "string"},
            **items,
            "first_status": {"type": "string", "description": "On a repeat: the status of the first answer"},
            "first_status_code": {"type": "integer"},
            "first_received_at": {"type": "string", "format": "date-time"},
        },
    }


def _order_outcome() -> Json:
    outcome = _outcomes("order_number", "batch_id", "order_status")
    outcome["properties"]["order_id"] = {"type": "integer"}
    return outcome


def _order() -> Json:
    text = {"type": "string"}
    when = {"type": ["string", "null"], "format": "date-time"}
    line = {"type": "object", "properties": {"material_code": text, "quantity": text, "unit": text}}
    fields = ("order_number", "product_code", "planned_quantity", "unit", "batch_id", "status", "source")
    return {
        "type": "object",
        "properties": {
            **dict.fromkeys(fields, text),
            "order_id": {"type": "integer"},
            "status_changed_at": {"type": "string", "format": "date-time"},
            "planned_start": when,
            "planned_end": when,
            "bom": {"type": "array", "items": line},
            "batch_status": {"type": ["string", "null"]},
        },
    }


def bundled(name: str, source: Json) -> dict[str, Json]:
    """A JSON Schema and its $defs as components: OpenAPI tools resolve '#/...' against the whole document, not
    against the schema's own $id, so each definition becomes a component of its own (name_definition)."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return {**node, "$ref": f"#/components/schemas/{name}_{ref.removeprefix('#/$defs/')}"}
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    top = {key: value for key, value in source.items() if key not in ("$defs", "$id", "$schema")}
    parts = {name: rewrite(top)}
    parts.update({f"{name}_{key}": rewrite(value) for key, value in source.get("$defs", {}).items()})
    return parts


def components() -> Json:
    """Schemas and the two ways to authenticate the operations name."""
    text = {"type": "string"}
    return {
        "schemas": {
            **bundled("ErpOrders", schema(ORDERS_SCHEMA)),
            **bundled("ErpMasterData", schema(MASTER_DATA_SCHEMA)),
            "OrdersAnswer": _answer({"orders": {"type": "array", "items": _order_outcome()}}),
            "MasterDataAnswer": _answer(
                {
                    "materials": {"type": "array", "items": _outcomes("code")},
                    "lots": {"type": "array", "items": _outcomes("material_code", "lot_number")},
                }
            ),
            "Order": _order(),
            "Version": {"type": "object", "properties": {"version": text, "commit": text, "build": text}},
            "OpenApiDocument": {"type": "object", "description": "An OpenAPI 3.1 document"},
            "Object": {"type": "object", "description": "A JSON object, as the page's script reads it"},
            "Entry": {"type": "object", "description": ENTRY, "required": ["field"]},
            "Capture": {"type": "object", "description": "{field, equipment}", "required": ["field"]},
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"status": {"const": "refused"}, "error": text, "message": text},
            },
        },
        "securitySchemes": {
            BEARER: {"type": "http", "scheme": "bearer", "description": "An API client token"},
            SESSION: {
                "type": "apiKey",
                "in": "cookie",
                "name": COOKIE,
                "description": "The logged-in browser session; a POST also sends its CSRF token as X-CSRFToken",
            },
        },
    }


def _operation(op: Operation) -> Json:
    out: Json = {"operationId": op.operation_id, "summary": op.summary, "responses": {}}
    out["security"] = [{op.auth: []}] if op.permission else []
    if op.permission:
        who = "a bearer token" if op.auth == BEARER else "a logged-in user"
        out["description"] = f"Needs {who} with the permission {op.permission}."
    params = [
        {"name": name.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path.split("/")
        if name.startswith("{")
    ]
    if op.body_schema:
        content: Json = {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body_schema}"}}}
        if op.xml:
            params.append(IDEMPOTENCY_KEY)
            content["application/xml"] = {"schema": {"type": "string", "description": op.xml}}
        out["requestBody"] = {"required": True, "content": content}
    if params:
        out["parameters"] = params
    for status in op.statuses:
        name = op.answer if status < 300 else "Error"
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        out["responses"][str(status)] = {"description": REASONS[status], "content": content}
    return out


def document(version: str) -> Json:
    """The whole OpenAPI 3.1 document for this software version."""
    paths: Json = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "eBR machine API",
            "version": version,
            "description": "The JSON endpoints of the electronic batch record: by bearer token the ERP's inbound "
            "production orders and master data and the software identity; by browser session the endpoints the "
            "pages' scripts call. Decimals are strings; times carry their zone.",
        },
        "paths": paths,
        "components": components(),
    }
