"""Ports of the execution evidence: values as entered, deviations, signed batch actions, yields, reconciliations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredValue:
    """One value as entered: a change is a new value superseding this one, which stays (AUD-04)."""

    id: int
    batch_id: int
    step_record_id: int
    field_id: str
    value: str | None
    unit: str
    source: str
    captured_at: datetime
    captured_by: int | None
    terminal: str
    raw: str = ""
    device_time: datetime | None = None
    override_reason: str = ""
    late: bool = False
    within_limits: bool | None = None
    limit_text: str = ""
    double_checked: bool = False
    supersedes_id: int | None = None
    change_reason: str = ""
    after_signing: bool = False
    signature_id: int | None = None
    deviation_id: int | None = None
    equipment_code: str = ""  # device values: the instance read (DEV-01)
    tag: str = ""  # and its tag
    quality: str = ""  # "good" for a validated device read
    device_detail: str = ""  # canonical JSON: endpoint, register, data type, orders, scale, status at the time
    void_reason: str = ""  # a void: this row supersedes an unsigned entry, with no value, for this reason
    paper_form: str = ""  # transcribed from this controlled paper form after an outage (OPS-02)

    @property
    def voided(self) -> bool:
        """This row voids the entry it supersedes."""
        return bool(self.void_reason)


@dataclass(frozen=True)
class StoredDeviation:
    """A deviation as stored, with its number, links and lifecycle."""

    id: int
    number: str
    batch_id: int
    step_record_id: int | None
    field_id: str
    kind: str
    severity: str
    description: str
    immediate_action: str
    detected_at: datetime
    reported_by: int | None
    status: str
    disposition: str = ""
    impact: str = ""
    decision_reason: str = ""
    decided_by: int | None = None
    decided_at: datetime | None = None
    closure_summary: str = ""
    closed_by: int | None = None
    closed_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class StoredAction:
    """A requested act on a batch that takes effect only when signed."""

    id: int
    batch_id: int
    step_record_id: int | None
    deviation_id: int | None
    kind: str
    reason: str
    payload: str
    requested_by: int
    requested_at: datetime
    status: str
    applied_at: datetime | None = None
    signature_id: int | None = None


@dataclass(frozen=True)
class StoredYield:
    """A batch's yield as structured data (SEQ-10)."""

    id: int
    batch_id: int
    step_record_id: int
    unit: str
    produced: str
    scrap: str
    samples: str
    theoretical: str
    yield_percent: str
    low: str
    high: str
    within: bool
    formula: str
    deviation_id: int | None
    recorded_at: datetime
    recorded_by: int | None


@dataclass(frozen=True)
class StoredReconciliation:
    """One material's balance for a batch."""

    id: int
    batch_id: int
    step_record_id: int
    material_code: str
    unit: str
    issued: str
    used: str
    returned: str
    waste: str
    discrepancy: str
    formula: str
    recorded_at: datetime
    lots: str = ""  # the lots dispensed for the material: "lot (source container, net unit)", "; "-separated


class StepValueRepository(Protocol):
    """Values are only ever added; the current value of a field is the one nothing supersedes."""

    def add(self, value: StoredValue) -> StoredValue: ...
    def for_step(self, step_pk: int) -> list[StoredValue]: ...
    def for_batch(self, batch_pk: int) -> list[StoredValue]: ...
    def current(self, step_pk: int, field_id: str) -> StoredValue | None: ...
    def latest(self, batch_pk: int, field_ids: frozenset[str]) -> dict[str, StoredValue]: ...


class DeviationRepository(Protocol):
    """Deviations of batches; never deleted."""

    def add(self, deviation: StoredDeviation) -> StoredDeviation: ...
    def get(self, deviation_pk: int) -> StoredDeviation: ...
    def for_batch(self, batch_pk: int) -> list[StoredDeviation]: ...
    def update(self, deviation: StoredDeviation, expected_version: int) -> StoredDeviation: ...
    def next_number(self, batch_pk: int, batch_id: str) -> str: ...


class BatchActionRepository(Protocol):
    """Signed batch actions; a pending one is applied by its signature."""

    def add(self, action: StoredAction) -> StoredAction: ...
    def get(self, action_pk: int) -> StoredAction: ...
    def for_batch(self, batch_pk: int) -> list[StoredAction]: ...
    def mark(self, action_pk: int, status: str, at: datetime, signature_id: int | None) -> None: ...


class YieldRepository(Protocol):
    """Yields and material reconciliations; append-only."""

    def add_yield(self, record: StoredYield) -> StoredYield: ...
    def add_reconciliation(self, record: StoredReconciliation) -> StoredReconciliation: ...
    def yields(self, batch_pk: int) -> list[StoredYield]: ...
    def reconciliations(self, batch_pk: int) -> list[StoredReconciliation]: ...
