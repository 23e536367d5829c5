"""Inbound ERP messages: production orders and master data, applied once per (client, message id) (ERP-01).

A message is read (JSON checked against its published schema, or B2MML through the reader port), then applied in one
unit of work together with the answer it gets, which is kept by its message id: a repeat gets that answer again and
changes nothing; the same message id with other content is refused. A refused message leaves nothing behind but one
audit entry naming the client, the message id and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from ebr.app.clients import client_actor
from ebr.app.context import AuditContext, RequestInfo
from ebr.app.inbound_json import master_data_from_json, orders_from_json, read_json
from ebr.app.inbound_orders import apply_orders, check_distinct, order_content, order_view
from ebr.app.masterdata import Outcome, upsert_lot, upsert_material
from ebr.app.ports import ApiClient, Clock, UnitOfWork, UnitOfWorkFactory
from ebr.app.ports.inbound import (
    B2mmlReader,
    MalformedMessage,
    MessageTooLarge,
    StoredMessage,
    UnsupportedContentType,
)
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action, to_utc_text
from ebr.domain.erp import InboundOrder
from ebr.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from ebr.domain.materials import Material, MaterialLot, quantity_text
from ebr.domain.signatures import canonical_json

JSON = "application/json"
XML_TYPES = frozenset({"application/xml", "text/xml"})
MAX_MESSAGE_BYTES = 1024 * 1024  # a message of 1,000 materials and 1,000 lots is about a fifth of this
# RFC 9110 token-like text: what an Idempotency-Key or a BODID (a UUID, an ERP document number) is made of.
MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,128}")
CREATED, OK = 201, 200
C = TypeVar("C")
Result = dict[str, object]
MasterData = tuple[tuple[Material, ...], tuple[MaterialLot, ...]]


class MessageKind(StrEnum):
    """What an inbound message carries."""

    ORDERS = "orders"
    MASTER_DATA = "master_data"


@dataclass(frozen=True)
class InboundMessage:
    """One message as it arrived: the client that sent it, its media type, its body and the transport's message id."""

    client: ApiClient
    content_type: str
    body: bytes
    idempotency_key: str | None = None
    request: RequestInfo = field(default_factory=RequestInfo)


@dataclass(frozen=True)
class InboundAnswer:
    """The HTTP status and JSON body a message is answered with."""

    status: int
    body: Result


@dataclass(frozen=True)
class Decoded(Generic[C]):
    """A message read and checked: its message id, the SHA-256 of its canonical content, and that content."""

    message_id: str
    digest: str
    content: C


REFUSAL_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (MessageTooLarge, 413),
    (UnsupportedContentType, 415),
    (MalformedMessage, 400),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
)


def refusal_status(error: DomainError) -> int:
    """The HTTP status of a refused message: the one place that decides it, for the API and the audit entry."""
    return next((status for kind, status in REFUSAL_STATUS if isinstance(error, kind)), 400)


class InboundService:
    """Receives the ERP's production orders and master data."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, reader: B2mmlReader | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._reader = reader

    def orders(self, message: InboundMessage) -> InboundAnswer:
        """Create or update production orders (B2MML OperationsSchedule or JSON)."""
        return self._receive(MessageKind.ORDERS, message, self._decode_orders, _apply_orders)

    def master_data(self, message: InboundMessage) -> InboundAnswer:
        """Upsert materials and lots with their QC status and expiry (B2MML material master or JSON)."""
        return self._receive(MessageKind.MASTER_DATA, message, self._decode_master_data, _apply_master_data)

    def order(self, client: ApiClient, order_number: str) -> Result:
        """One order's content, plan and state, as the ERP may read it back."""
        _authorise(client)
        with self._uow(AuditContext(client_actor(client), self._clock.now())) as uow:
            stored = uow.orders.by_number(order_number)
            if stored is None:
                raise NotFound(f"No production order {order_number[:64]}.")
            return order_view(uow, stored)

    def _receive(
        self,
        kind: MessageKind,
        message: InboundMessage,
        decode: Callable[[InboundMessage], Decoded[C]],
        apply: Callable[[UnitOfWork, C, datetime], tuple[int, Result]],
    ) -> InboundAnswer:
        message_id = message.idempotency_key
        try:
            _authorise(message.client)
            _admit(message)
            decoded = decode(message)
            message_id = decoded.message_id
            return self._apply(kind, message, decoded, apply)
        except DomainError as refused:
            self._record_refusal(kind, message, message_id, refused)
            raise

    def _apply(
        self,
        kind: MessageKind,
        message: InboundMessage,
        decoded: Decoded[C],
        apply: Callable[[UnitOfWork, C, datetime], tuple[int, Result]],
    ) -> InboundAnswer:
        ctx = AuditContext(
            client_actor(message.client),
            self._clock.now(),
            f"ERP message {decoded.message_id}",
            message.request,
            {"erp_message": decoded.message_id},
        )
        with self._uow(ctx) as uow:
            uow.inbound.serialise()
            first = uow.inbound.get(message.client.id, decoded.message_id)
            if first is not None:
                answer = _repeat(first, decoded)
                uow.audit.append(Action.MESSAGE_REPEATED, "inbound_message", decoded.message_id, str(kind))
                uow.commit()
                return answer
            status, result = apply(uow, decoded.content, ctx.at)
            body: Result = {**result, "message_id": decoded.message_id}
            text = json.dumps(body, sort_keys=True)
            client_id = message.client.id
            uow.inbound.add(StoredMessage(client_id, decoded.message_id, kind, decoded.digest, ctx.at, status, text))
            uow.commit()
        return InboundAnswer(status, body)

    def _record_refusal(
        self, kind: MessageKind, message: InboundMessage, message_id: str | None, refused: DomainError
    ) -> None:
        detail = {
            "status": refusal_status(refused),
            "refusal": type(refused).__name__,
            "bytes": len(message.body),
            "body_sha256": hashlib.sha256(message.body).hexdigest(),
        }
        ctx = AuditContext(client_actor(message.client), self._clock.now(), request=message.request)
        with self._uow(ctx) as uow:
            object_id = _printable(message_id or "") or "-"
            new = json.dumps(detail, sort_keys=True)
            uow.audit.append(Action.MESSAGE_REFUSED, "inbound_message", object_id, str(kind), None, new, str(refused))
            uow.commit()

    def _decode_orders(self, message: InboundMessage) -> Decoded[tuple[InboundOrder, ...]]:
        if _is_json(message):
            bodid, orders = None, orders_from_json(read_json(message.body))
        else:
            bodid, orders = self._xml().orders(message.body)
        if not orders:
            raise MalformedMessage("The message carries no production order.")
        content = {"kind": str(MessageKind.ORDERS), "orders": [order_content(o) for o in orders]}
        return Decoded(_message_id(message, bodid), _digest(content), orders)

    def _decode_master_data(self, message: InboundMessage) -> Decoded[MasterData]:
        if _is_json(message):
            bodid, (materials, lots) = None, master_data_from_json(read_json(message.body))
        else:
            bodid, materials, lots = self._xml().master_data(message.body)
        if not materials and not lots:
            raise MalformedMessage("The message carries no material and no lot.")
        content = {
            "kind": str(MessageKind.MASTER_DATA),
            "materials": [{"code": m.code, "name": m.name, "unit": m.unit} for m in materials],
            "lots": [_lot_content(lot) for lot in lots],
        }
        return Decoded(_message_id(message, bodid), _digest(content), (materials, lots))

    def _xml(self) -> B2mmlReader:
        if self._reader is None:
            raise UnsupportedContentType("This installation does not read B2MML messages; send JSON.")
        return self._reader


def _authorise(client: ApiClient) -> None:
    if client.revoked or str(Permission.ERP_INBOUND) not in client.permissions:
        raise PermissionDenied(f"API client {client.name} lacks the permission {Permission.ERP_INBOUND}.")


def _admit(message: InboundMessage) -> None:
    """Refuse what is not read at all: a body too large, or neither JSON nor XML."""
    if len(message.body) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"The body is larger than {MAX_MESSAGE_BYTES} bytes: split the message.")
    if message.content_type != JSON and message.content_type not in XML_TYPES:
        shown = _printable(message.content_type)[:60] or "none"
        raise UnsupportedContentType(f"Content type {shown} is not accepted: send {JSON} or application/xml (B2MML).")


def _is_json(message: InboundMessage) -> bool:
    return message.content_type == JSON


def _message_id(message: InboundMessage, bodid: str | None) -> str:
    """The message id: the Idempotency-Key header, or the BODID of a B2MML message; both must agree if both given."""
    key = message.idempotency_key
    if key is not None and bodid is not None and key != bodid:
        raise MalformedMessage(
            f"The Idempotency-Key header {_printable(key)[:128]!r} and the BODID {_printable(bodid)[:128]!r} differ."
        )
    chosen = key if key is not None else bodid
    if chosen is None:
        where = "the Idempotency-Key header" if _is_json(message) else "a BODID or the Idempotency-Key header"
        raise MalformedMessage(f"The message has no message id: send {where}.")
    if not MESSAGE_ID.fullmatch(chosen):
        raise MalformedMessage("The message id must be 1-128 visible ASCII characters without spaces.")
    return chosen


def _repeat(first: StoredMessage, decoded: Decoded[C]) -> InboundAnswer:
    """The first answer again, or a refusal when the same message id now carries other content."""
    if first.payload_sha256 != decoded.digest:
        raise InvalidInput(
            f"Message id {decoded.message_id} was already used on {to_utc_text(first.received_at)} for other content: "
            "a changed message needs a new message id."
        )
    body: Result = json.loads(first.result)
    body.update(
        status="repeat",
        first_status=body.get("status"),
        first_status_code=first.status_code,
        first_received_at=to_utc_text(first.received_at),
    )
    return InboundAnswer(OK, body)


def _apply_orders(uow: UnitOfWork, orders: tuple[InboundOrder, ...], at: datetime) -> tuple[int, Result]:
    results = apply_orders(uow, orders, at)
    return _summary({"orders": results}, [str(r["outcome"]) for r in results])


def _apply_master_data(uow: UnitOfWork, content: MasterData, at: datetime) -> tuple[int, Result]:
    materials, lots = content
    check_distinct("material", [m.code for m in materials])
    check_distinct("lot", [f"{lot.material_code} {lot.lot_number}" for lot in lots])
    done_materials = [{"code": m.code, "outcome": str(upsert_material(uow, m, at))} for m in materials]
    done_lots = [
        {"material_code": lot.material_code, "lot_number": lot.lot_number, "outcome": str(upsert_lot(uow, lot, at))}
        for lot in lots
    ]
    outcomes = [str(r["outcome"]) for r in (*done_materials, *done_lots)]
    return _summary({"materials": done_materials, "lots": done_lots}, outcomes)


def _summary(result: Result, outcomes: list[str]) -> tuple[int, Result]:
    """201 when anything was created, else 200; the status names the strongest effect."""
    for outcome in (Outcome.CREATED, Outcome.UPDATED):
        if str(outcome) in outcomes:
            return (CREATED if outcome is Outcome.CREATED else OK), {"status": str(outcome), **result}
    return OK, {"status": str(Outcome.UNCHANGED), **result}


def _lot_content(lot: MaterialLot) -> dict[str, object]:
    quantity = quantity_text(lot.quantity) if lot.quantity is not None else None
    return {
        "material_code": lot.material_code,
        "lot_number": lot.lot_number,
        "qc_status": str(lot.qc_status),
        "expiry": lot.expiry.isoformat(),
        "quantity": quantity,
    }


def _digest(content: Mapping[str, object]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _printable(text: str) -> str:
    """Text from outside, safe to show and store: visible ASCII only, at most 128 characters."""
    return "".join(ch for ch in text if "\x21" <= ch <= "\x7e")[:128]
