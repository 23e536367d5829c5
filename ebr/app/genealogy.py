"""Genealogy: which lots a batch consumed and which lot it made, and every batch that consumed a lot (211.188(b)(3)).

The evidence is the dispensing records (what was weighed out of which container of which lot, into which labelled
container) and the order (the batch id is the lot it produces, of the order's product and quantity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ebr.app.ports import Clock, Dispensing, StoredBatch, UnitOfWork, UnitOfWorkFactory
from ebr.app.record_evidence import system_context


@dataclass(frozen=True)
class LotUse:
    """One dispensing of a lot into a batch."""

    batch_id: str
    product_code: str
    material_code: str
    lot_number: str
    source_container: str
    label: str  # the labelled container the net was dispensed into
    net: Decimal
    unit: str
    dispensed_at: datetime
    step_record_id: int


@dataclass(frozen=True)
class ProducedLot:
    """The lot a batch makes: the batch id as lot number, of the order's product, in the order's quantity."""

    batch_id: str
    material_code: str
    lot_number: str
    planned_quantity: Decimal
    unit: str
    status: str


@dataclass(frozen=True)
class BatchGenealogy:
    """A batch with the lots it consumed and the lot it produced."""

    batch_id: str
    consumed: tuple[LotUse, ...]
    produced: ProducedLot


@dataclass(frozen=True)
class LotGenealogy:
    """A lot with every batch that consumed it and, when it is itself a batch's output, that batch."""

    material_code: str
    lot_number: str
    consumed_by: tuple[LotUse, ...]
    produced_by: ProducedLot | None


def _use(batch: StoredBatch, row: Dispensing) -> LotUse:
    return LotUse(
        batch.batch.id,
        batch.batch.product,
        row.material_code,
        row.lot_number,
        row.source_container,
        row.label,
        row.net,
        row.unit,
        row.dispensed_at,
        row.step_record_id,
    )


def _produced(uow: UnitOfWork, batch: StoredBatch) -> ProducedLot:
    order = uow.orders.get(batch.order_id).order
    return ProducedLot(
        batch.batch.id,
        order.product_code,
        batch.batch.id,
        order.planned_quantity,
        order.unit,
        str(batch.batch.status),
    )


class GenealogyService:
    """Backward and forward tracing through the dispensing records; reads only."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    def of_batch(self, batch_id: str) -> BatchGenealogy:
        """The lots the batch consumed, in dispensing order, and the lot it produces; an unknown batch is not found."""
        with self._uow(system_context(self._clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            consumed = tuple(_use(batch, row) for row in uow.dispensings.for_batch(batch.id))
            return BatchGenealogy(batch.batch.id, consumed, _produced(uow, batch))

    def of_lot(self, material_code: str, lot_number: str) -> LotGenealogy:
        """Every batch that consumed the lot, in dispensing order, and the batch that made it, if any."""
        with self._uow(system_context(self._clock.now())) as uow:
            batches: dict[int, StoredBatch] = {}
            uses = []
            for row in uow.dispensings.for_lot(material_code, lot_number):
                if row.batch_id not in batches:
                    batches[row.batch_id] = uow.batches.by_pk(row.batch_id)
                uses.append(_use(batches[row.batch_id], row))
            return LotGenealogy(material_code, lot_number, tuple(uses), self._maker(uow, material_code, lot_number))

    @staticmethod
    def _maker(uow: UnitOfWork, material_code: str, lot_number: str) -> ProducedLot | None:
        order = uow.orders.by_batch_id(lot_number)
        if order is None or order.order.product_code != material_code:
            return None
        batch = uow.batches.by_order(order.id)
        return _produced(uow, batch) if batch is not None else None
