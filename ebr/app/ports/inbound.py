"""Ports of inbound ERP messages: the log of messages already answered, and the reader of B2MML messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.domain.erp import InboundOrder
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import Material, MaterialLot


class MalformedMessage(InvalidInput):
    """The message cannot be read: not JSON or XML, a forbidden XML construct, a missing field or message id."""


class MessageTooLarge(InvalidInput):
    """The body is larger than an inbound message may be."""


class UnsupportedContentType(InvalidInput):
    """The body is neither JSON nor XML."""


@dataclass(frozen=True)
class StoredMessage:
    """An inbound message already applied, by client and message id, with the answer it was given (ERP-01)."""

    client_id: int
    message_id: str
    kind: str
    payload_sha256: str
    received_at: datetime
    status_code: int
    result: str  # the JSON answer, returned again to a repeat


class InboundMessageRepository(Protocol):
    """The idempotency log of inbound messages: insert-only, unique per (client, message id)."""

    def serialise(self) -> None:
        """Hold the inbound lock until the transaction ends, so two copies of one message never both apply."""
        ...

    def get(self, client_id: int, message_id: str) -> StoredMessage | None: ...
    def add(self, message: StoredMessage) -> None: ...


class B2mmlReader(Protocol):
    """Reads inbound B2MML messages into domain objects.

    Raises MalformedMessage for XML it will not read (not well-formed, DTDs and entities, too large) and InvalidInput
    for a message the B2MML schema or a domain rule refuses.
    """

    def orders(self, xml: bytes) -> tuple[str | None, tuple[InboundOrder, ...]]:
        """The BODID (None when absent) and the production orders of an OperationsSchedule."""
        ...

    def master_data(self, xml: bytes) -> tuple[str | None, tuple[Material, ...], tuple[MaterialLot, ...]]:
        """The BODID (None when absent), materials and lots of a material master message."""
        ...
