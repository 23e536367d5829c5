"""BatchML sections for what happened around the steps, who signed, which materials and equipment were used.

* Events: one per deviation (with disposition, closure and their signatures), per signed batch action (holds
  with their duration, resumes, skips, reassignments, corrections), per refused scan check, and per audit entry
  of the batch (who, when, terminal, old and new value, reason: ISA-88 Part 4 events and changes);
* PersonnelIdentification: one manifest per signature, referring to what it signs, with its meaning;
* OperationsPerformances: the batch as one segment response producing its lot, with one nested segment response
  per step record naming the lots it consumed (MaterialActual) and the equipment it used (EquipmentActual);
* ResourceQualifications: one manifest per equipment use, with the instance's status at use.
"""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.xml import Record, add, add_entry, add_value, items, name_of

ACTION_EVENTS = {
    "hold": ("Control Recipe", "State Command"),
    "resume": ("Control Recipe", "State Command"),
    "cancel": ("Control Recipe", "State Command"),
    "skip": ("Procedural Execution", "Mode Command"),
    "reassign": ("Operator", "Allocation"),
    "correct": ("Operator", "Modification"),
    "disposition": ("Operator", "Status Change"),
    "close": ("Operator", "Status Change"),
}
MANIFEST = "Personnel Identification Manifest"
STEP_STATES = {"ready": "Ready", "performed": "Running", "completed": "Completed", "cancelled": "Aborted"}


def _typed(event: etree._Element, kind: tuple[str, str], other: str) -> etree._Element:
    event_type, sub_type = kind
    add(event, "EventType", event_type, OtherValue=other if event_type == "Other" else "")
    add(event, "EventSubType", sub_type, OtherValue=other if sub_type == "Other" else "")
    return event


def _attribute(event: etree._Element, key: str, text: object) -> None:
    if text in (None, ""):
        return
    attribute = add(event, "UserAttribute")
    add(attribute, "AttributeID", key)
    add_value(attribute, "Value", text)


def events(root: etree._Element, rec: Record) -> None:
    """Deviations, batch actions, refused scans and audit entries, each an Event."""
    parent = add(root, "Events")
    for deviation in items(rec, "deviations"):
        _deviation(parent, deviation)
    for action in items(rec, "actions"):
        _action(parent, action)
    for check in items(rec, "identity_checks"):
        if check["refused"]:
            _refused(parent, check)
    for entry in items(rec, "audit_trail"):
        _audit(parent, entry)


def _deviation(parent: etree._Element, row: Record) -> None:
    event = add_entry(parent, "Event", f"deviation-{row['id']}", "Event", row["detected_at"])
    add(event, "ExternalReference", row["number"])
    add(event, "Description", row["description"])
    _typed(event, ("Other", "Other"), f"deviation: {row['kind']}")
    add_value(event, "Value", row["status"], key="status")
    add(event, "MessageText", row["description"])
    if row["reported_by"]:
        add(event, "PersonID", name_of(row["reported_by"]))
    if row["step_record_id"] is not None:
        add(event, "ProceduralElementReference", f"phase-{row['step_record_id']}")
    add(event, "Category", row["severity"])
    facts = ("disposition", "impact", "decision_reason", "decided_at", "closure_summary", "closed_at")
    for key in facts:
        _attribute(event, key, row[key])
    _attribute(event, "decided_by", name_of(row["decided_by"]))
    _attribute(event, "closed_by", name_of(row["closed_by"]))
    _attribute(event, "signatures", " ".join(f"signature-{s['id']}" for s in items(row, "signatures")))


def _action(parent: etree._Element, row: Record) -> None:
    at = row["applied_at"] or row["requested_at"]
    event = add_entry(parent, "Event", f"action-{row['id']}", "Event", at)
    add(event, "Description", f"{row['kind']}: {row['reason']}")
    _typed(event, ACTION_EVENTS.get(str(row["kind"]), ("Other", "Other")), str(row["kind"]))
    add_value(event, "Value", row["status"], key="status")
    add(event, "MessageText", row["reason"])
    add(event, "PersonID", name_of(row["requested_by"]))
    if row["step_record_id"] is not None:
        add(event, "ProceduralElementReference", f"phase-{row['step_record_id']}")
    if row["deviation_id"] is not None:
        add(event, "AssociatedEventID", f"deviation-{row['deviation_id']}")
    for key, text in sorted(row["parameters"].items()):
        _attribute(event, key, text)
    _attribute(event, "lifted_at", row["lifted_at"])
    _attribute(event, "held_seconds", row["held_seconds"])
    if row["signature"]:
        _attribute(event, "signature", f"signature-{row['signature']['id']}")


def _refused(parent: etree._Element, row: Record) -> None:
    event = add_entry(parent, "Event", f"check-{row['id']}", "Event", row["checked_at"])
    add(event, "Description", f"{row['kind']} {row['barcode']} refused: {row['reason']}")
    _typed(event, ("Alarm", "Other"), "identity check refused")
    add_value(event, "Value", row["barcode"], key=row["field_id"])
    add(event, "MessageText", row["reason"])
    add(event, "PersonID", name_of(row["checked_by"]))
    add(event, "ComputerID", row["terminal"] or "unknown")
    add(event, "ProceduralElementReference", f"phase-{row['step_record_id']}")


def _audit(parent: etree._Element, row: Record) -> None:
    event = add_entry(parent, "Event", f"audit-{row['seq']}", "Event", row["at"])
    add(event, "ExternalReference", row["hash"])
    add(event, "Description", f"{row['action']} {row['object_type']} {row['object_id']} {row['field']}".strip())
    _typed(event, ("General", "Other"), str(row["action"]))
    if row["new"] is not None:
        add_value(event, "Value", row["new"], key=row["field"])
    if row["old"] is not None:
        add_value(event, "PreviousValue", row["old"], key=row["field"])
    if row["reason"]:
        add(event, "MessageText", row["reason"])
    add(event, "PersonID", name_of(row["user"]))
    context = row["context"]
    computer = context.get("terminal") or context.get("workstation") or context.get("address")
    if computer:
        add(event, "ComputerID", computer)


def personnel(root: etree._Element, rec: Record) -> None:
    """One manifest per signature: the procedure's approvals, the steps' and the actions' signatures."""
    signed = [(s, "control-recipe") for s in items(rec["procedure"], "approvals")]
    signed += [(s, f"phase-{step['id']}") for step in items(rec, "steps") for s in items(step, "signatures")]
    signed += [(a["signature"], f"action-{a['id']}") for a in items(rec, "actions") if a["signature"]]
    if not signed:
        return
    parent = add(root, "PersonnelIdentification")
    for signature, reference in sorted(signed, key=lambda pair: int(pair[0]["id"])):
        entry_id, at = f"signature-{signature['id']}", signature["signed_at"]
        manifest = add_entry(parent, "PersonnelIdentificationManifest", entry_id, MANIFEST, at)
        add(manifest, "ExternalReference", f"sha256:{signature['content_hash']}")
        add(manifest, "Description", signature["meaning_text"])
        add(manifest, "RecordReference", reference)
        add(manifest, "Name", signature["signer"]["name"])
        add(manifest, "Name", signature["signer"]["username"])
        add(manifest, "ChangeIndication", signature["meaning"])
        add(manifest, "Reason", signature["meaning_text"])


def performance(root: etree._Element, rec: Record) -> None:
    """The batch's materials and equipment: its lot produced, and per step record what it consumed and used."""
    batch, lot = rec["batch"], rec["produced_lot"]
    records = add(root, "OperationsPerformances")
    entry = add_entry(records, "OperationsPerformanceRecord", "operations-performance", "Operations Performance")
    performed = add(entry, "OperationsPerformance")
    add(performed, "ID", batch["id"])
    add(performed, "OperationsType", "Production")
    add(performed, "StartTime", batch["started_at"])
    if batch["ended_at"]:
        add(performed, "EndTime", batch["ended_at"])
    response = add(performed, "OperationsResponse")
    add(response, "ID", batch["id"])
    segment = add(response, "SegmentResponse")
    add(segment, "ID", batch["id"])
    add(segment, "ActualStartTime", batch["started_at"])
    if batch["ended_at"]:
        add(segment, "ActualEndTime", batch["ended_at"])
    produced = add(segment, "MaterialActual")
    add(produced, "MaterialDefinitionID", lot["material_code"])
    add(produced, "MaterialLotID", lot["lot_number"])
    add(produced, "MaterialUse", "Produced")
    made = lot["produced"]
    _quantity(produced, made["quantity"] if made else lot["planned_quantity"], made["unit"] if made else lot["unit"])
    for step in items(rec, "steps"):
        _step_segment(segment, step, rec)


def _quantity(parent: etree._Element, amount: object, unit: object) -> None:
    quantity = add(parent, "Quantity")
    add(quantity, "QuantityString", amount)
    add(quantity, "DataType", "decimal")
    add(quantity, "UnitOfMeasure", unit)


def _step_segment(parent: etree._Element, step: Record, rec: Record) -> None:
    segment = add(parent, "SegmentResponse")
    add(segment, "ID", f"phase-{step['id']}")
    add(segment, "Description", step["name"])
    add(segment, "ProcessSegmentID", step["step_id"])
    add(segment, "ActualStartTime", step["became_ready_at"])
    if step["completed_at"]:
        add(segment, "ActualEndTime", step["completed_at"])
    state = STEP_STATES.get(str(step["status"]))
    add(segment, "SegmentState", state or "Other", OtherValue="" if state else str(step["status"]))
    for use in items(rec, "equipment_uses"):
        if use["step_record_id"] == step["id"]:
            used = add(segment, "EquipmentActual")
            add(used, "EquipmentClassID", use["class_id"])
            add(used, "EquipmentID", use["equipment_code"])
            add(used, "Description", use["status"])
            add(used, "EquipmentUse", "Used")
    for row in items(rec, "dispensings"):
        if row["step_record_id"] == step["id"]:
            consumed = add(segment, "MaterialActual")
            add(consumed, "MaterialDefinitionID", row["material_code"])
            add(consumed, "MaterialLotID", row["lot_number"])
            add(consumed, "MaterialSubLotID", row["source_container"])
            add(consumed, "MaterialSubLotID", row["label"])
            add(consumed, "Description", f"from {row['source_container']} into {row['label']}")
            add(consumed, "MaterialUse", "Consumed")
            _quantity(consumed, row["net"], row["unit"])


def qualifications(root: etree._Element, rec: Record) -> None:
    """Every equipment use with the instance's cleaning, calibration and qualification status at use (BR-05)."""
    uses = list(items(rec, "equipment_uses"))
    if not uses:
        return
    parent = add(root, "ResourceQualifications")
    for use in uses:
        entry_id, at = f"equipment-use-{use['id']}", use["used_at"]
        manifest = add_entry(parent, "ResourceQualificationsManifest", entry_id, "Resource Definition Manifest", at)
        add(manifest, "Description", use["status"])
        add(manifest, "RecordReference", f"phase-{use['step_record_id']}")
        add(manifest, "ResourceID", use["equipment_code"])
        add(manifest, "ResourceUse", "Used")
        add(manifest, "ResourceType", "Equipment")
        add(manifest, "QualificationStatus", use["status"])
        add(manifest, "EffectiveTimeStamp", use["used_at"])
