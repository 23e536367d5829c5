"""Arrangements shared by the inbound ERP tests: a client, known products and materials, messages, row counts."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import func, select

from ebr.adapters.db.models import (
    InboundMessageRow,
    MaterialLotRow,
    MaterialRow,
    OrderComponentRow,
    ProductionOrderRow,
)
from ebr.app.context import Actor
from ebr.app.inbound import InboundMessage
from ebr.app.ports import ApiClient
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import AuditEntry
from ebr.domain.materials import Material
from ebr.domain.orders import OrderStatus
from tests.app.masterdata_support import make_procedure_effective, trail
from tests.factories import actor_of, make_user

PRODUCT = "QC-SAMPLE"  # the quick_check procedure's product, counted in pcs
MATERIALS = (Material("PARA-API", "Paracetamol API", "kg"), Material("MCC-101", "Microcrystalline cellulose", "kg"))
ORDER: dict[str, Any] = {
    "order_number": "PO-7001",
    "product_code": PRODUCT,
    "planned_quantity": "120.5",
    "unit": "pcs",
    "batch_id": "B-7001",
    "planned_start": "2026-12-01T06:00:00+01:00",
    "planned_end": "2026-12-01T18:00:00Z",
    "bom": [
        {"material_code": "PARA-API", "quantity": "60", "unit": "kg"},
        {"material_code": "MCC-101", "quantity": "24.6", "unit": "kg"},
    ],
}
TABLES = {
    "orders": ProductionOrderRow,
    "bom_lines": OrderComponentRow,
    "messages": InboundMessageRow,
    "materials": MaterialRow,
    "lots": MaterialLotRow,
}


def erp_client(runtime: Runtime, *permissions: str) -> tuple[ApiClient, str]:
    """A machine client with its token (erp.inbound unless other permissions are named)."""
    token = runtime.services.api_clients.issue(
        Actor.system(), "ERP production", frozenset(permissions or ("erp.inbound",)), "interface go-live"
    )
    client = runtime.services.api_clients.authenticate(token)
    assert client is not None
    return client, token


def known_world(runtime: Runtime) -> None:
    """The product has an effective procedure and the BOM materials are known master data."""
    make_procedure_effective(runtime, PRODUCT)
    for material in MATERIALS:
        runtime.services.masterdata.put_material(Actor.system(), material, "ERP master data")


def order_doc(**changes: Any) -> dict[str, Any]:
    """The orders message of one order, with some fields changed (None removes a field)."""
    order = copy.deepcopy(ORDER)
    for key, value in changes.items():
        if value is None:
            order.pop(key)
        else:
            order[key] = value
    return {"orders": [order]}


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def message(
    client: ApiClient, document: object, key: str | None = "msg-1", content_type: str = "application/json"
) -> InboundMessage:
    """A JSON message from the client under the given message id."""
    raw = document if isinstance(document, bytes) else body(document)
    return InboundMessage(client, content_type, raw, key)


def counts(runtime: Runtime) -> dict[str, int]:
    """Rows of every table an inbound message may write."""
    with runtime.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(row)).scalar_one() for name, row in TABLES.items()}


def refusals(runtime: Runtime) -> list[AuditEntry]:
    """The audit entries of refused inbound messages."""
    return [e for e in trail(runtime, "inbound_message") if e.draft.action == "message_refused"]


def start_batch_of(runtime: Runtime, order_number: str) -> None:
    """Release the order and start its batch, as a supervisor and an operator would."""
    stored = next(o for o in runtime.services.orders.list() if o.order.order_number == order_number)
    supervisor = make_user(runtime, Role.SUPERVISOR)
    if stored.order.status is OrderStatus.PLANNED:
        runtime.services.orders.release(actor_of(supervisor), stored.id)
    runtime.services.batches.start(actor_of(make_user(runtime, Role.OPERATOR)), stored.id)
