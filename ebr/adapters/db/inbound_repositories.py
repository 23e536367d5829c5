"""Row ⇄ domain translation for the idempotency log of inbound ERP messages."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ebr.adapters.db.models import InboundMessageRow
from ebr.app.ports.inbound import StoredMessage

# One transaction-scoped advisory lock for every inbound message: they are few, and applying them one at a time
# means two copies of one message, or two messages naming one order, never both pass their checks.
INBOUND_LOCK = 0x6562_7249_6E62  # "ebrInb"


def _message(row: InboundMessageRow) -> StoredMessage:
    return StoredMessage(
        row.client_id, row.message_id, row.kind, row.payload_sha256, row.received_at, row.status_code, row.result
    )


class SqlInboundMessageRepository:
    """Inbound messages by (client, message id); insert-only."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def serialise(self) -> None:
        if self._s.get_bind().dialect.name == "postgresql":
            self._s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INBOUND_LOCK})
        # SQLite: every write transaction begins IMMEDIATE (engine.py), which already serialises writers.

    def get(self, client_id: int, message_id: str) -> StoredMessage | None:
        stmt = select(InboundMessageRow).where(
            InboundMessageRow.client_id == client_id, InboundMessageRow.message_id == message_id
        )
        row = self._s.scalars(stmt).one_or_none()
        return _message(row) if row else None

    def add(self, message: StoredMessage) -> None:
        self._s.add(
            InboundMessageRow(
                client_id=message.client_id,
                message_id=message.message_id,
                kind=message.kind,
                payload_sha256=message.payload_sha256,
                received_at=message.received_at,
                status_code=message.status_code,
                result=message.result,
            )
        )
