"""The sections of the canonical batch record, each a plain JSON value built from stored evidence.

Times are UTC text with a Z, decimals are text, people are {id, username, name}; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ebr.app.batch_actions import payload_of
from ebr.app.ports import (
    Dispensing,
    EquipmentUse,
    IdentityCheck,
    StoredAction,
    StoredDeviation,
    StoredReconciliation,
    StoredSignature,
    StoredValue,
    StoredYield,
)
from ebr.domain.accounts import User
from ebr.domain.audit import AuditEntry, to_utc_text
from ebr.domain.materials import MaterialLot

Json = dict[str, object]


def when(at: datetime | None) -> str | None:
    """A time as the record writes it."""
    return to_utc_text(at) if at is not None else None


class People:
    """People by id as the record names them: id, username and printed name."""

    def __init__(self, users: Mapping[int, User]) -> None:
        self._users = users

    def __call__(self, user_id: int | None) -> Json | None:
        if user_id is None:
            return None
        user = self._users.get(user_id)
        if user is None:
            return {"id": user_id, "username": "", "name": ""}
        return {"id": user.id, "username": user.username, "name": user.full_name}


def signature(stored: StoredSignature) -> Json:
    """A signature manifestation as it was stored at signing (SIG-02), with the hash of what it covers."""
    return {
        "id": stored.id,
        "object_type": stored.object_type,
        "object_id": stored.object_id,
        "meaning": stored.meaning,
        "meaning_text": stored.meaning_text,
        "signer": {"id": stored.signer_id, "username": stored.signer_username, "name": stored.signer_name},
        "signed_at": when(stored.signed_at),
        "content_hash": stored.content_hash,
        "policy_hash": stored.policy_hash,
    }


def value(row: StoredValue, label: str, superseded_by: int | None, current: bool, people: People) -> Json:
    """One value row with its provenance; superseded rows stay in the record with what replaced them (AUD-04)."""
    return {
        "id": row.id,
        "field_id": row.field_id,
        "label": label,
        "value": row.value,
        "unit": row.unit,
        "limit": row.limit_text,
        "within": row.within_limits,
        "source": row.source,
        "equipment_code": row.equipment_code,
        "tag": row.tag,
        "raw": row.raw,
        "device_time": when(row.device_time),
        "device_detail": row.device_detail,
        "quality": row.quality,
        "captured_by": people(row.captured_by),
        "captured_at": when(row.captured_at),
        "terminal": row.terminal,
        "late": row.late,
        "override_reason": row.override_reason,
        "change_reason": row.change_reason,
        "after_signing": row.after_signing,
        "double_checked": row.double_checked,
        "supersedes_id": row.supersedes_id,
        "superseded_by": superseded_by,
        "current": current,
        "signature_id": row.signature_id,
        "deviation_id": row.deviation_id,
        "void_reason": row.void_reason,
        "paper_form": row.paper_form,
    }


def deviation(row: StoredDeviation, signatures: Iterable[StoredSignature], people: People) -> Json:
    """A deviation with its disposition, closure and the signatures that decided them (BR-10)."""
    return {
        "id": row.id,
        "number": row.number,
        "step_record_id": row.step_record_id,
        "field_id": row.field_id,
        "kind": row.kind,
        "severity": row.severity,
        "description": row.description,
        "immediate_action": row.immediate_action,
        "detected_at": when(row.detected_at),
        "reported_by": people(row.reported_by),
        "status": row.status,
        "disposition": row.disposition,
        "impact": row.impact,
        "decision_reason": row.decision_reason,
        "decided_by": people(row.decided_by),
        "decided_at": when(row.decided_at),
        "closure_summary": row.closure_summary,
        "closed_by": people(row.closed_by),
        "closed_at": when(row.closed_at),
        "signatures": [signature(s) for s in signatures],
    }


def hold_periods(actions: Iterable[StoredAction]) -> dict[int, tuple[datetime, int]]:
    """Each applied hold with the time it was lifted (resume or cancel) and how many seconds it lasted (SEQ-04)."""
    periods: dict[int, tuple[datetime, int]] = {}
    held: StoredAction | None = None
    applied = sorted((a for a in actions if a.applied_at is not None), key=lambda a: (a.applied_at, a.id))
    for action in applied:
        assert action.applied_at is not None
        if action.kind == "hold":
            held = action
        elif action.kind in ("resume", "cancel") and held is not None and held.applied_at is not None:
            periods[held.id] = (action.applied_at, int((action.applied_at - held.applied_at).total_seconds()))
            held = None
    return periods


def action(
    row: StoredAction, signed: StoredSignature | None, period: tuple[datetime, int] | None, people: People
) -> Json:
    """A signed act on the batch: hold, resume, cancel, skip, reassign, correction, disposition or closure."""
    return {
        "id": row.id,
        "kind": row.kind,
        "reason": row.reason,
        "parameters": dict(sorted(payload_of(row).items())),
        "step_record_id": row.step_record_id,
        "deviation_id": row.deviation_id,
        "requested_by": people(row.requested_by),
        "requested_at": when(row.requested_at),
        "status": row.status,
        "applied_at": when(row.applied_at),
        "signature": signature(signed) if signed is not None else None,
        "lifted_at": when(period[0]) if period else None,
        "held_seconds": period[1] if period else None,
    }


def dispensing(row: Dispensing, lot: MaterialLot | None, verifier: Json | None, people: People) -> Json:
    """A lot consumed: material, lot, expiry, containers, weights against target, who dispensed and verified (BR-03)."""
    return {
        "id": row.id,
        "step_record_id": row.step_record_id,
        "material_code": row.material_code,
        "lot_number": row.lot_number,
        "expiry": lot.expiry.isoformat() if lot is not None else None,
        "source_container": row.source_container,
        "label": row.label,
        "tare": str(row.tare),
        "gross": str(row.gross),
        "net": str(row.net),
        "unit": row.unit,
        "target": str(row.target),
        "tolerance": str(row.tolerance),
        "within": row.within,
        "equipment_code": row.equipment_code,
        "dispensed_at": when(row.dispensed_at),
        "dispensed_by": people(row.dispensed_by),
        "verified_by": verifier,
        "terminal": row.terminal,
        "deviation_id": row.deviation_id,
    }


def charged(label: str, checks: Iterable[IdentityCheck], people: People) -> Json:
    """Who added a dispensed container to the process: the first passed scan of its label at a later step."""
    scan = next((c for c in checks if c.passed and c.kind == "material_lot" and c.barcode == label), None)
    return {
        "added_by": people(scan.checked_by) if scan else None,
        "added_at": when(scan.checked_at) if scan else None,
        "added_step_record_id": scan.step_record_id if scan else None,
    }


def yield_line(row: StoredYield, people: People) -> Json:
    """Actual, theoretical and % of theoretical yield with its limits (BR-04)."""
    return {
        "id": row.id,
        "step_record_id": row.step_record_id,
        "unit": row.unit,
        "produced": row.produced,
        "scrap": row.scrap,
        "samples": row.samples,
        "theoretical": row.theoretical,
        "yield_percent": row.yield_percent,
        "low": row.low,
        "high": row.high,
        "within": row.within,
        "formula": row.formula,
        "deviation_id": row.deviation_id,
        "recorded_at": when(row.recorded_at),
        "recorded_by": people(row.recorded_by),
    }


def reconciliation(row: StoredReconciliation) -> Json:
    """One material's balance with the lots it drew on."""
    return {
        "id": row.id,
        "step_record_id": row.step_record_id,
        "material_code": row.material_code,
        "unit": row.unit,
        "issued": row.issued,
        "used": row.used,
        "returned": row.returned,
        "waste": row.waste,
        "discrepancy": row.discrepancy,
        "formula": row.formula,
        "lots": row.lots,
        "recorded_at": when(row.recorded_at),
    }


def equipment_use(row: EquipmentUse, people: People) -> Json:
    """An instance used by a step, with its cleaning, calibration and qualification status at use (BR-05)."""
    return {
        "id": row.id,
        "equipment_code": row.equipment_code,
        "class_id": row.class_id,
        "step_record_id": row.step_record_id,
        "field_id": row.field_id,
        "used_at": when(row.used_at),
        "used_by": people(row.used_by),
        "terminal": row.terminal,
        "status": row.status,
    }


def identity_check(row: IdentityCheck, people: People) -> Json:
    """A scan check; a refused one is flagged with its reason (SEQ-07)."""
    return {
        "id": row.id,
        "step_record_id": row.step_record_id,
        "field_id": row.field_id,
        "kind": row.kind,
        "barcode": row.barcode,
        "passed": row.passed,
        "refused": not row.passed,
        "reason": row.reason,
        "checked_at": when(row.checked_at),
        "checked_by": people(row.checked_by),
        "terminal": row.terminal,
        "deviation_id": row.deviation_id,
    }


def audit_entry(entry: AuditEntry) -> Json:
    """An audit entry with the person as the entry recorded them, and its chain hash."""
    d = entry.draft
    return {
        "seq": entry.seq,
        "at": when(d.at),
        "user": {"id": d.user_id, "username": d.username, "name": d.user_name},
        "action": str(d.action),
        "object_type": d.object_type,
        "object_id": d.object_id,
        "field": d.field,
        "old": d.old_value,
        "new": d.new_value,
        "reason": d.reason,
        "context": dict(sorted(d.context.items())),
        "hash": entry.hash,
    }
