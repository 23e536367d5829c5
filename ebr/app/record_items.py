"""The record's sections on samples, device identification, attachments and packaging (BR-06, BR-07, BR-09).

Each is a plain JSON value built from stored evidence, like the other sections: times UTC text, decimals text,
people {id, username, name}, lists in id order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ebr.app.device_release import device_release
from ebr.app.execution_context import COMPLETED
from ebr.app.ports import StoredAttachment, StoredSignature, StoredStep
from ebr.app.record_evidence import ACTION_SIGNATURES, Evidence
from ebr.app.record_sections import Json, People, signature, when
from ebr.app.sampling import SampleResult, result_status, results_by_sample


def _result(result: SampleResult, signed: StoredSignature | None, people: People) -> Json:
    action = result.action
    return {
        "action_id": action.id,
        "result": result.result,
        "conforms": result.conforms,
        "reason": action.reason,
        "status": action.status,
        "recorded_by": people(action.requested_by),
        "recorded_at": when(action.requested_at),
        "approved_at": when(action.applied_at),
        "signature": signature(signed) if signed is not None else None,
    }


def samples(evidence: Evidence, people: People) -> list[Json]:
    """Every sample with its ID, time, quantity, person, purpose and linked results (211.188(b)(10))."""
    results = results_by_sample(evidence.actions)
    signed = {s.id: s for s in evidence.signatures if s.object_type == ACTION_SIGNATURES}
    found = []
    for row in evidence.samples:
        linked = results.get(row.sample_id, [])
        found.append(
            {
                "id": row.id,
                "sample_id": row.sample_id,
                "step_record_id": row.step_record_id,
                "quantity": row.quantity,
                "unit": row.unit,
                "purpose": row.purpose,
                "reference": row.reference,
                "taken_at": when(row.taken_at),
                "taken_by": people(row.taken_by),
                "terminal": row.terminal,
                "recorded_at": when(row.recorded_at),
                "result_required": row.result_required,
                "result_status": result_status(row, linked),
                "results": [_result(r, signed.get(r.action.signature_id or 0), people) for r in linked],
            }
        )
    return found


def device_identification(evidence: Evidence, people: People) -> Json | None:
    """Quantities made and approved and the UDI of a device batch; None for a procedure that makes no devices."""
    found = device_release(evidence.procedure, evidence.steps, evidence.values)
    if found is None:
        return None
    item = found.identification
    return {
        "step_record_id": found.step.id,
        "quantity_manufactured": item.quantity_manufactured,
        "quantity_approved": item.quantity_approved,
        "unit": item.unit,
        "udi_di": item.udi_di,
        "lot": item.lot,
        "serial": item.serial,
        "expiry": item.expiry,
        "udi": item.human_readable(),
        "recorded_by": people(found.step.performed_by),
        "recorded_at": when(found.step.performed_at),
    }


def attachment(row: StoredAttachment, people: People) -> Json:
    """A file attached to a step field: its name, type, size and SHA-256 (the bytes are embedded in the PDF)."""
    return {
        "id": row.id,
        "step_record_id": row.step_record_id,
        "field_id": row.field_id,
        "filename": row.filename,
        "media_type": row.media_type,
        "size": row.size,
        "sha256": row.sha256,
        "uploaded_at": when(row.uploaded_at),
        "uploaded_by": people(row.uploaded_by),
        "terminal": row.terminal,
    }


def _current(evidence: Evidence, step: StoredStep, field_id: str) -> str:
    rows = [v for v in evidence.values if v.step_record_id == step.id and v.field_id == field_id]
    return (rows[-1].value or "") if rows else ""


def _position(step: StoredStep, labels: Sequence[StoredStep]) -> str:
    """Before or after the labelling, in the order the steps became ready (step records are numbered in that
    order); '' when the batch labels nothing or the clearance falls between two labelling steps."""
    if not labels:
        return ""
    if step.id < min(s.id for s in labels):
        return "before"
    return "after" if step.id > max(s.id for s in labels) else ""


def _line_clearance(evidence: Evidence, step: StoredStep, labels: Sequence[StoredStep], people: People) -> Json:
    form = evidence.procedure.forms[evidence.procedure.steps[step.step_id].form_id]
    assert form.line_clearance is not None
    return {
        "step_record_id": step.id,
        "name": evidence.procedure.steps[step.step_id].name,
        "position": _position(step, labels),
        "clear": _current(evidence, step, form.line_clearance.clear) == "true",
        "status": step.status,
        "performed_by": people(step.performed_by),
        "verified_by": people(step.verified_by),
        "completed_at": when(step.completed_at),
    }


def _label(evidence: Evidence, step: StoredStep, people: People) -> Json:
    form = evidence.procedure.forms[evidence.procedure.steps[step.step_id].form_id]
    spec = form.labelling
    assert spec is not None
    sha = _current(evidence, step, spec.specimen)
    specimen = next((a for a in evidence.attachments if a.step_record_id == step.id and a.sha256 == sha), None)
    return {
        "step_record_id": step.id,
        "name": evidence.procedure.steps[step.step_id].name,
        "label_version": _current(evidence, step, spec.version),
        "material_code": spec.material,
        "specimen": attachment(specimen, people) if specimen is not None else None,
        "status": step.status,
        "performed_by": people(step.performed_by),
        "completed_at": when(step.completed_at),
    }


def _with_block(evidence: Evidence, block: str) -> list[StoredStep]:
    procedure = evidence.procedure
    return [
        s
        for s in evidence.steps
        if s.step_id in procedure.steps
        and getattr(procedure.forms[procedure.steps[s.step_id].form_id], block) is not None
    ]


def packaging(evidence: Evidence, people: People) -> Json:
    """Line clearances (before and after labelling), labels with version and specimen, and the label reconciliations
    (211.188(b)(6), (8))."""
    labels = [s for s in _with_block(evidence, "labelling") if s.status == COMPLETED]
    materials = {str(label["material_code"]) for label in (_label(evidence, s, people) for s in labels)}
    return {
        "line_clearances": [
            _line_clearance(evidence, s, labels, people) for s in _with_block(evidence, "line_clearance")
        ],
        "labels": [_label(evidence, s, people) for s in labels],
        "label_reconciliation_ids": [r.id for r in evidence.reconciliations if r.material_code in materials],
    }
