"""Ports of batch execution: the stored batches, their engine cursor and step records, and the engine itself."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.domain.batch import Batch
from ebr.domain.procedure import ProcedureBundle


class EngineCursor(Protocol):
    """The engine's opaque state of one batch: bytes to store, and their SHA-256."""

    @property
    def value(self) -> bytes: ...
    @property
    def digest(self) -> str: ...


class EngineStep(Protocol):
    """A step the engine says is ready; `key` names it to the engine until it is done."""

    @property
    def key(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def process_id(self) -> str: ...
    @property
    def iteration(self) -> int: ...


class EngineAdvance(Protocol):
    """One engine call's outcome: the new cursor, the ready steps, whether the procedure is finished."""

    @property
    def state(self) -> EngineCursor: ...
    @property
    def ready(self) -> Sequence[EngineStep]: ...
    @property
    def completed(self) -> bool: ...
    @property
    def path(self) -> Sequence[str]: ...


class BatchEngine(Protocol):
    """Runs a batch's pinned procedure; the state is a value the app stores in its own transaction."""

    def start(self, bundle: ProcedureBundle, initial: Mapping[str, object]) -> EngineAdvance: ...
    def complete(
        self, bundle: ProcedureBundle, state: EngineCursor, step_key: str, values: Mapping[str, object]
    ) -> EngineAdvance: ...
    def ready(self, bundle: ProcedureBundle, state: EngineCursor) -> EngineAdvance: ...


@dataclass(frozen=True)
class Cursor:
    """A stored engine state handed back to the engine."""

    value: bytes
    digest: str


@dataclass(frozen=True)
class StoredBatch:
    """A batch as stored, with the order it makes and who started it when."""

    id: int
    batch: Batch
    order_id: int
    started_at: datetime
    started_by: int | None
    held_since: datetime | None = None


@dataclass(frozen=True)
class StoredStep:
    """One step record of a batch: which step, which pass, and its engine key while ready."""

    id: int
    batch_id: int
    step_id: str
    process_id: str
    iteration: int
    engine_key: str
    status: str
    became_ready_at: datetime
    version: int = 1
    assigned_to: int | None = None
    performed_by: int | None = None
    performed_at: datetime | None = None
    verified_by: int | None = None
    verified_at: datetime | None = None
    completed_at: datetime | None = None
    hold_earliest: datetime | None = None
    hold_latest: datetime | None = None
    hold_deviation_id: int | None = None


class BatchRepository(Protocol):
    """Batches (pinned for life to their procedure version), their engine cursor and step records; never deleted."""

    def add(self, batch: Batch, order_id: int, started_at: datetime, started_by: int | None) -> StoredBatch: ...
    def get(self, batch_id: str) -> StoredBatch: ...
    def by_order(self, order_id: int) -> StoredBatch | None: ...
    def put_state(
        self, batch_pk: int, state: bytes, digest: str, at: datetime, expected: str | None = None
    ) -> None: ...
    def state(self, batch_pk: int) -> tuple[bytes, str]: ...
    def add_step(
        self,
        batch_pk: int,
        step: EngineStep,
        at: datetime,
        hold: tuple[datetime | None, datetime | None] = (None, None),
    ) -> StoredStep: ...
    def steps(self, batch_pk: int, status: str | None = None) -> list[StoredStep]: ...
    def open_steps(self, batch_pk: int) -> list[StoredStep]: ...
    def by_pk(self, batch_pk: int) -> StoredBatch: ...
    def lock(self, batch_id: str) -> StoredBatch: ...
    def lock_pk(self, batch_pk: int) -> StoredBatch: ...
    def step(self, step_pk: int) -> StoredStep: ...
    def update_step(self, step_pk: int, expected_version: int, **changes: object) -> StoredStep: ...
    def update_batch(self, batch: Batch, expected_version: int, held_since: datetime | None) -> None: ...
    def active(self) -> list[StoredBatch]: ...
    def listed(self, ranks: Mapping[str, int], offset: int, limit: int, newest_first: bool) -> list[StoredBatch]: ...
    def count(self, statuses: Collection[str]) -> int: ...
    def open_steps_of(self, batch_pks: Collection[int]) -> list[StoredStep]: ...
    def overdue_steps(self, now: datetime) -> list[StoredStep]: ...
