"""The canonical batch record: one deterministic JSON document per batch and its SHA-256 (REC-01, 211.188).

The record holds the evidence only. Nothing about the copy being made (who, when) enters it, so two builds of an
unchanged batch hash the same, and QA can compare the record it reviewed with the one it releases; a copy carries
its own metadata beside it (copy_metadata, REC-08). Lists are in id order, times UTC text, decimals text, so the
canonical JSON (sorted keys, no floats) of the same evidence is the same bytes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from importlib import resources

from ebr.app.context import Actor
from ebr.app.execution_context import ProcedureCache
from ebr.app.ports import AuditFilter, Clock, UnitOfWorkFactory
from ebr.app.ports.records import BatchRecordExporter
from ebr.app.record_asof import evidence_at
from ebr.app.record_cache import RecordHashes
from ebr.app.record_evidence import ACTION_SIGNATURES, Evidence, gather, system_context
from ebr.app.record_items import attachment, device_identification, packaging, samples
from ebr.app.record_recipe import control_recipe
from ebr.app.record_sections import (
    Json,
    People,
    action,
    audit_entry,
    charged,
    deviation,
    dispensing,
    equipment_use,
    hold_periods,
    identity_check,
    reconciliation,
    signature,
    when,
    yield_line,
)
from ebr.app.record_steps import procedure_tree, steps
from ebr.domain.batch import ENDED
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import canonical_json

SCHEMA_ID = "urn:ebr:batch-record:1"
SCHEMA_RESOURCE = "schemas/batch_record.schema.json"


def record_digest(record: Mapping[str, object]) -> str:
    """The record hash: SHA-256 of the record's canonical JSON."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def record_schema() -> dict[str, object]:
    """The published JSON Schema (Draft 2020-12) of the record, read from the package."""
    text = resources.files("ebr.app").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    loaded = json.loads(text)
    assert isinstance(loaded, dict), "the packaged schema is a JSON object"
    return loaded


def _batch(evidence: Evidence, people: People) -> Json:
    batch = evidence.batch
    ended = [s.completed_at for s in evidence.steps if s.completed_at is not None]
    return {
        "id": batch.batch.id,
        "status": str(batch.batch.status),
        "product_code": batch.batch.product,
        "procedure_hash": batch.batch.procedure_hash,
        "started_at": when(batch.started_at),
        "started_by": people(batch.started_by),
        "held_since": when(batch.held_since),
        "ended_at": when(max(ended)) if ended and batch.batch.status in ENDED else None,
    }


def _order(evidence: Evidence, people: People) -> Json:
    order = evidence.order.order
    return {
        "number": order.order_number,
        "product_code": order.product_code,
        "product_name": evidence.product.name if evidence.product else "",
        "planned_quantity": str(order.planned_quantity),
        "unit": order.unit,
        "status": str(order.status),
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "created_at": when(evidence.order.created_at),
        "created_by": people(evidence.order.created_by),
    }


def _procedure(evidence: Evidence) -> Json:
    """The master the batch is pinned to, with the approvals in force when the batch started (211.188(a))."""
    version = evidence.version
    started = evidence.batch.started_at
    return {
        "id": evidence.procedure.bundle.procedure_id,
        "title": version.title,
        "version": version.version,
        "content_hash": version.content_hash,
        "effective_from": when(version.effective_from),
        "approvals": [signature(s) for s in evidence.approvals if s.signed_at <= started],
    }


def _produced(evidence: Evidence) -> Json:
    """The lot the batch makes: the batch id, of the order's product, with the yield recorded last."""
    order = evidence.order.order
    last = evidence.yields[-1] if evidence.yields else None
    return {
        "material_code": order.product_code,
        "lot_number": evidence.batch.batch.id,
        "name": evidence.product.name if evidence.product else "",
        "planned_quantity": str(order.planned_quantity),
        "unit": order.unit,
        "produced": {"quantity": last.produced, "scrap": last.scrap, "unit": last.unit} if last else None,
    }


def _deviations(evidence: Evidence, people: People) -> list[Json]:
    by_id = {s.id: s for s in evidence.signatures if s.object_type == ACTION_SIGNATURES}
    decided: dict[int, list[int]] = {}
    for act in evidence.actions:
        if act.deviation_id is not None and act.signature_id in by_id:
            decided.setdefault(act.deviation_id, []).append(act.signature_id)
    return [deviation(d, [by_id[i] for i in sorted(decided.get(d.id, []))], people) for d in evidence.deviations]


def _actions(evidence: Evidence, people: People) -> list[Json]:
    by_id = {s.id: s for s in evidence.signatures if s.object_type == ACTION_SIGNATURES}
    periods = hold_periods(evidence.actions)
    return [
        action(a, by_id.get(a.signature_id) if a.signature_id else None, periods.get(a.id), people)
        for a in evidence.actions
    ]


def _dispensings(evidence: Evidence, step_lines: list[Json], people: People) -> list[Json]:
    verifiers = {line["id"]: line["verifier"] for line in step_lines}
    found = []
    for row in evidence.dispensings:
        verifier = verifiers.get(row.step_record_id)
        lot = evidence.lots.get((row.material_code, row.lot_number))
        line = dispensing(row, lot, verifier if isinstance(verifier, dict) else None, people)
        found.append(line | charged(row.label, evidence.checks, people))
    return found


def executed_with(evidence: Evidence) -> str:
    """The software version that started the batch, as its start entry states it.

    Taken from the record itself, never from the running software, so an upgrade leaves every record hash alone."""
    for entry in (e.draft for e in evidence.audit):
        if entry.object_type == "batch" and entry.field == "status" and entry.old_value == "created":
            try:
                started = json.loads(entry.new_value or "{}")
            except ValueError:
                break
            return str(started.get("software_version", "unknown"))
    return "unknown"


def build_record(evidence: Evidence) -> dict[str, object]:
    """The canonical record of the evidence (the content of 211.188 and EU GMP 4.20 the eBR holds)."""
    people = People(evidence.people)
    step_lines = steps(evidence, people)
    return {
        "schema": SCHEMA_ID,
        "software_version": executed_with(evidence),
        "batch": _batch(evidence, people),
        "order": _order(evidence, people),
        "procedure": _procedure(evidence),
        "control_recipe": control_recipe(evidence),
        "produced_lot": _produced(evidence),
        "procedure_tree": procedure_tree(evidence, step_lines),
        "steps": step_lines,
        "deviations": _deviations(evidence, people),
        "actions": _actions(evidence, people),
        "dispensings": _dispensings(evidence, step_lines, people),
        "yields": [yield_line(y, people) for y in evidence.yields],
        "reconciliations": [reconciliation(r) for r in evidence.reconciliations],
        "equipment_uses": [equipment_use(u, people) for u in evidence.uses],
        "identity_checks": [identity_check(c, people) for c in evidence.checks],
        "samples": samples(evidence, people),
        "device_identification": device_identification(evidence, people),
        "attachments": [attachment(a, people) for a in evidence.attachments],
        "packaging": packaging(evidence, people),
        "audit_trail": [audit_entry(e) for e in evidence.audit],
    }


class RecordService:
    """Builds the record of a batch, its hash, a past state of it and its BatchML export; reads only."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        cache: ProcedureCache,
        version: str,
        exporter: BatchRecordExporter,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._cache = cache
        self._version = version
        self._exporter = exporter
        self._hashes = RecordHashes()

    def record(self, batch_id: str) -> dict[str, object]:
        """The canonical record of the batch as it is now."""
        with self._uow(system_context(self._clock.now())) as uow:
            evidence = gather(uow, self._cache, batch_id)
        return build_record(evidence)

    def record_hash(self, batch_id: str) -> str:
        """The SHA-256 of the batch's canonical record."""
        return record_digest(self.record(batch_id))

    def shown_hash(self, batch_id: str) -> str:
        """The record hash a screen shows: the same, rebuilt only once something audited has changed since."""
        before = self._head()
        known = self._hashes.get(batch_id, before)
        if known is not None:
            return known
        digest = record_digest(self.record(batch_id))
        if self._head() == before:
            self._hashes.put(batch_id, before, digest)
        return digest

    def _head(self) -> int:
        with self._uow(system_context(self._clock.now())) as uow:
            return uow.audit.head()[0]

    def as_of(self, batch_id: str, moment: datetime) -> dict[str, object]:
        """The record as it stood at a past moment, rebuilt from append-only rows and audit entries (AUD-11)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidInput("The moment must carry its time zone (TIME-01).")
        with self._uow(system_context(self._clock.now())) as uow:
            evidence = gather(uow, self._cache, batch_id)
            renames = uow.audit.query(AuditFilter(object_type="user", since=moment), None)
        return build_record(evidence_at(evidence, moment, renames))

    def batchml(self, batch_id: str) -> bytes:
        """The record as an ISA-88 BatchProductionRecord (BatchML) document."""
        return self._exporter.to_batchml(self.record(batch_id))

    def copy_metadata(self, actor: Actor, at: datetime, record_hash: str = "") -> dict[str, object]:
        """What identifies a copy (REC-08): generation time and user, software version, the source record's hash.

        Kept apart from the record, so making a copy never changes the record hash."""
        return {
            "generated_at": when(at),
            "generated_by": {"id": actor.user_id, "username": actor.username, "name": actor.full_name},
            "software_version": self._version,
            "record_schema": SCHEMA_ID,
            "record_hash": record_hash,
        }
