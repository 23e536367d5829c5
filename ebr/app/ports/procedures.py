"""Ports of the procedure library: content loader, BPMN runtime and stored versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.domain.procedure import ProcedureBundle
from ebr.domain.scaling import NominalBatch
from ebr.domain.signatures import SitePolicy
from ebr.domain.steps import EquipmentClass, FormDefinition, StepDefinition


@dataclass(frozen=True)
class LintProblem:
    """One reason a procedure cannot be submitted, naming the element (or file) it concerns."""

    element_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.element_id}: {self.reason}"


@dataclass(frozen=True)
class DryRunResult:
    """The path a simulated run took (no batch, no posting): step and gateway ids in order."""

    path: tuple[str, ...]
    completed: bool
    waiting_at: tuple[str, ...]
    problems: tuple[str, ...]


class ProcedureLibrary(Protocol):
    """Controlled content (workflows/, forms/, equipment/, reports/) turned into bundles and definitions."""

    def procedure_ids(self) -> list[str]: ...
    def bundle(self, procedure_id: str) -> ProcedureBundle: ...
    def bundle_from_upload(self, filename: str, content: bytes) -> ProcedureBundle: ...
    def forms(self, bundle: ProcedureBundle) -> dict[str, FormDefinition]: ...
    def equipment(self, bundle: ProcedureBundle) -> dict[str, EquipmentClass]: ...
    def problems(self, bundle: ProcedureBundle) -> list[LintProblem]: ...
    def nominal_batch(self, bundle: ProcedureBundle) -> NominalBatch | None: ...


class ProcedureRuntime(Protocol):
    """The BPMN engine behind the app: reads steps, lints, and simulates a bundle."""

    def steps(self, bundle: ProcedureBundle) -> dict[str, StepDefinition]: ...
    def lint(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        equipment: Mapping[str, EquipmentClass],
        policy: SitePolicy | None,
    ) -> list[LintProblem]: ...
    def dry_run(
        self,
        bundle: ProcedureBundle,
        forms: Mapping[str, FormDefinition],
        values: Mapping[str, Mapping[str, object]],
        max_steps: int = 5000,
    ) -> DryRunResult: ...


@dataclass(frozen=True)
class StoredVersion:
    """A procedure version as stored (its bundle is loaded separately)."""

    id: int
    procedure_id: str
    version: int
    title: str
    content_hash: str
    status: str
    created_by: int | None
    created_at: datetime
    effective_from: datetime | None
    status_changed_at: datetime
    status_reason: str


class ProcedureRepository(Protocol):
    """Procedure versions, their frozen bundles and the product mapping."""

    def add(self, bundle: ProcedureBundle, created_by: int | None, at: datetime) -> StoredVersion: ...
    def get(self, version_id: int) -> StoredVersion: ...
    def bundle(self, version_id: int) -> ProcedureBundle: ...
    def versions(self, procedure_id: str | None = None) -> list[StoredVersion]: ...
    def by_hash(self, procedure_id: str, content_hash: str) -> StoredVersion | None: ...
    def set_status(
        self, version_id: int, status: str, at: datetime, reason: str, effective_from: datetime | None = None
    ) -> None: ...
    def map_product(self, product_code: str, version_id: int, at: datetime) -> None: ...
    def product_version(self, product_code: str) -> StoredVersion | None: ...
    def products(self) -> list[tuple[str, StoredVersion]]: ...
