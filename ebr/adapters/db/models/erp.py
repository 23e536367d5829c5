"""The ERP boundary: the outbox of postings, each delivery attempt, inbound messages and order components."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime
from ebr.adapters.db.models.masterdata import QUANTITY


class OutboxMessageRow(Base):
    """A posting frozen at enqueue: written in the transaction of its state change, its bytes never change (ERP-02/03).

    Only the delivery columns move; migration 0011 refuses a change to the key, the payload or what it was made from.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_aggregate", "aggregate", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(64))  # the batch id: postings of one batch go in order
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"))
    kind: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_json: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str | None] = mapped_column(String(64))  # the batch record snapshot it was made from (ERP-07)
    reverses: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxAttemptRow(Base):
    """One delivery attempt, append-only: the proof of what was sent, when, and what came back."""

    __tablename__ = "outbox_attempt"
    __table_args__ = (UniqueConstraint("message_id", "attempt", name="uq_outbox_attempt_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    dispatcher: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | retry | dead
    error: Mapped[str] = mapped_column(Text, default="")


class InboundMessageRow(Base):
    """A message an integration client sent, by its message id: a repeat is answered, never applied twice (ERP-01)."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("client_id", "message_id", name="uq_inbound_message_client_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"))
    message_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(Text)  # the JSON answer, returned again to a repeat


class OrderComponentRow(Base):
    """A BOM line of a production order, as the ERP planned it."""

    __tablename__ = "order_component"

    order_id: Mapped[int] = mapped_column(ForeignKey("production_order.id"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_code: Mapped[str] = mapped_column(ForeignKey("material.code"))
    quantity: Mapped[str] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(8))
