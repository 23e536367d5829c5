"""What crosses the boundary with the ERP: postings the eBR sends and orders it receives.

The ERP owns orders and master data; the eBR owns execution. A posting is a business event frozen at the moment its
state change commits; its key is derived from the event alone, so the same event can never be sent under two keys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ebr.domain.errors import InvalidInput
from ebr.domain.materials import check_code, check_unit, parse_quantity

# A fixed namespace: keys must be the same on every installation that replays the same history.
KEY_NAMESPACE = uuid.UUID("6f1c1f0e-5b1a-4f57-9a57-1b2d3e4f5a6b")


class PostingKind(StrEnum):
    """The business events the ERP hears about (MISSION.md, ERP posting semantics)."""

    COMPLETION = "completion"  # goods receipt into quality-inspection stock, and the lots consumed
    USAGE_DECISION = "usage_decision"  # QA released or rejected the batch
    ABORTED = "aborted"  # the batch was cancelled: what was consumed so far
    REVERSAL = "reversal"  # cancels an earlier posting before its corrected successor


class MaterialUse(StrEnum):
    """How a line of a posting uses its material; scrap is sent as Other with OtherValue="Scrap" (ERP-06)."""

    PRODUCED = "Produced"
    CONSUMED = "Consumed"
    SCRAP = "Scrap"


class PerformanceState(StrEnum):
    """The ISA-95 response state the posting reports."""

    COMPLETED = "Completed"
    ABORTED = "Aborted"


def posting_key(site: str, batch_id: str, kind: PostingKind, revision: int) -> str:
    """The idempotency key of one business event: the BODID and the Idempotency-Key header (ERP-03)."""
    if revision < 1:
        raise InvalidInput("A posting revision starts at 1.")
    return str(uuid.uuid5(KEY_NAMESPACE, f"ebr:{site}:{batch_id}:{kind}:{revision}"))


@dataclass(frozen=True)
class MaterialLine:
    """One material movement: the lot produced, scrapped, or consumed from a container."""

    use: MaterialUse
    material_code: str
    lot: str
    quantity: Decimal
    unit: str
    container: str | None = None
    quality_status: str | None = None  # e.g. "QualityInspection" for a goods receipt awaiting QA

    def __post_init__(self) -> None:
        check_code(self.material_code, "Material code")
        check_code(self.lot, "Lot")
        parse_quantity(self.quantity, f"Quantity of {self.material_code} lot {self.lot}")
        check_unit(self.unit)


@dataclass(frozen=True)
class Posting:
    """A posting's content, frozen when its state change commits; retries send exactly these bytes."""

    kind: PostingKind
    site: str
    batch_id: str
    order_number: str
    revision: int
    created_at: datetime
    procedure: str  # the master recipe: procedure id and version
    state: PerformanceState
    start: datetime | None = None
    end: datetime | None = None
    lines: tuple[MaterialLine, ...] = ()
    data: tuple[tuple[str, str], ...] = ()  # SegmentData facts: YieldPercent, QualityDisposition, BatchRecordSHA256…
    reverses: str | None = None  # the key of the posting a reversal cancels
    key: str = field(init=False)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise InvalidInput("A posting's time must carry a zone.")
        if (self.kind is PostingKind.REVERSAL) != (self.reverses is not None):
            raise InvalidInput("A reversal, and only a reversal, names the posting it cancels.")
        object.__setattr__(self, "key", posting_key(self.site, self.batch_id, self.kind, self.revision))

    @property
    def performance_id(self) -> str:
        """The performance document's id: unique per batch, event and revision."""
        return f"{self.batch_id}-{self.kind}-{self.revision}"


@dataclass(frozen=True)
class BomLine:
    """A component the order plans to consume."""

    material_code: str
    quantity: Decimal
    unit: str

    def __post_init__(self) -> None:
        check_code(self.material_code, "BOM material code")
        parse_quantity(self.quantity, f"BOM quantity of {self.material_code}")
        check_unit(self.unit)


@dataclass(frozen=True)
class InboundOrder:
    """A production order as the ERP sends it (B2MML OperationsSchedule or JSON)."""

    order_number: str
    product_code: str
    planned_quantity: Decimal
    unit: str
    batch_id: str
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    bom: tuple[BomLine, ...] = ()

    def __post_init__(self) -> None:
        check_code(self.order_number, "Order number")
        check_code(self.product_code, "Product code")
        check_code(self.batch_id, "Batch id")
        parse_quantity(self.planned_quantity, "Planned quantity")
        check_unit(self.unit)
        for moment in (self.planned_start, self.planned_end):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput("Order dates must carry a zone.")
        if self.planned_start and self.planned_end and self.planned_end < self.planned_start:
            raise InvalidInput("The planned end is before the planned start.")
