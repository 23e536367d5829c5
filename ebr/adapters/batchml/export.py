"""The canonical batch record as an ISA-88 Part 4 BatchProductionRecord (BatchML V0700), and its validation.

Mapping (the record's sections → BatchML):
* header: ID, BatchID and LotID are the batch id, MaterialDefinitionID the product, RecordStatus the batch status;
* ChangeHistory: one Change per value row that superseded another (pre-change value and reason), voids included;
* ControlRecipes: the pinned procedure (id, version, content hash, approvals, batch size) with the executed
  procedure tree as nested RecipeElements: Procedure → UnitProcedure → Operation → Phase (one per step record);
* DataSets: one DataSet per step record with values, one OrderedData/DataValue per value row, superseded included;
* Events, PersonnelIdentification, OperationsPerformances, ResourceQualifications: see events.py.

Documents are written without a DTD and parsed with DTDs, entities and network access refused.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.events import events, performance, personnel, qualifications
from ebr.adapters.batchml.samples import samples
from ebr.adapters.batchml.xml import Record, add, add_entry, add_nillable, element, items, name_of

SCHEMA_FILE = "BatchML-BatchProductionRecord.xsd"
BATCH_STATUS = {
    "created": "Idle",
    "in_progress": "Running",
    "held": "Held",
    "completed": "Complete",
    "in_review": "Complete",
    "released": "Complete",
    "rejected": "Complete",
    "cancelled": "Aborted",
}
# A compiled schema keeps its error log on itself: one validation at a time reads its own errors.
_VALIDATING = threading.Lock()
LEVELS = {"procedure": "Procedure", "unit_procedure": "UnitProcedure", "operation": "Operation", "phase": "Phase"}


def _parser() -> etree.XMLParser:
    """No DTD, no entity expansion, no network, no huge trees (XXE and billion-laughs)."""
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, dtd_validation=False, no_network=True, huge_tree=False
    )


@functools.cache
def _schema() -> etree.XMLSchema:
    """The official schema, read once from this package (never from outside it)."""
    folder = resources.files("ebr.adapters.batchml").joinpath("schemas")
    with resources.as_file(folder) as path:
        return etree.XMLSchema(etree.parse(str(path / SCHEMA_FILE), _parser()))


def to_batchml(record: Mapping[str, object]) -> bytes:
    """The record as a BatchProductionRecord document (UTF-8, no DTD)."""
    rec: Record = record
    root = element("BatchProductionRecord")
    _header(root, rec)
    _changes(root, rec)
    _control_recipe(root, rec)
    _data_sets(root, rec)
    events(root, rec)
    personnel(root, rec)
    performance(root, rec)
    qualifications(root, rec)
    samples(root, rec)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def validate_batchml(xml: bytes) -> list[str]:
    """The document's problems against the official schema; empty when valid. A DTD or entity is refused unread."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        return ["document type declarations and entities are refused"]
    try:
        document = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as error:
        return [f"not well-formed: {error}"]
    if document.getroottree().docinfo.doctype:
        return ["document type declarations and entities are refused"]
    with _VALIDATING:
        schema = _schema()
        if schema.validate(document):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]


class BatchMLExporter:
    """The BatchRecordExporter port, implemented with lxml and the packaged MESA schemas."""

    def to_batchml(self, record: Mapping[str, object]) -> bytes:
        """The record as BatchML."""
        return to_batchml(record)

    def validate_batchml(self, xml: bytes) -> list[str]:
        """Problems against the official schema."""
        return validate_batchml(xml)


def _header(root: etree._Element, rec: Record) -> None:
    batch, order = rec["batch"], rec["order"]
    add(root, "ID", batch["id"])
    add(root, "EntryID", f"BPR-{batch['id']}")
    add(root, "ObjectType", "Batch Production Record")
    add(root, "Description", f"Batch record of {order['product_code']} {order['product_name']}".strip())
    add(root, "CreationDate", batch["started_at"])
    add(root, "BatchID", batch["id"])
    add(root, "BatchProductionRecordSpec", rec["schema"])
    add(root, "LotID", batch["id"])
    add(root, "MaterialDefinitionID", order["product_code"])
    add(root, "RecordStatus", batch["status"])
    add(root, "Version", rec["software_version"])


def _changes(root: etree._Element, rec: Record) -> None:
    """A value row that supersedes another is a change of recorded data: pre-change value and reason."""
    values = {v["id"]: v for step in items(rec, "steps") for v in items(step, "values")}
    changed = [v for v in values.values() if v["supersedes_id"] is not None]
    if not changed:
        return
    history = add(root, "ChangeHistory")
    for row in changed:
        change = add_entry(history, "Change", f"change-{row['id']}", "Change", row["captured_at"])
        verb = "VOIDED" if row.get("void_reason") else "changed"  # a void is a change to no value, with its reason
        add(change, "Description", f"{row['label']} {verb} by {name_of(row['captured_by'])}")
        add(change, "RecordReference", f"value-{row['supersedes_id']}")
        previous = values.get(row["supersedes_id"])
        prechange = add(change, "PrechangeData")
        add(prechange, "ValueString", "" if previous is None or previous["value"] is None else previous["value"])
        add(prechange, "DataType", "string")
        if row["change_reason"]:
            add(change, "Reason", row["change_reason"])


def _control_recipe(root: etree._Element, rec: Record) -> None:
    procedure, order, batch = rec["procedure"], rec["order"], rec["batch"]
    entry = add_entry(add(root, "ControlRecipes"), "ControlRecipeRecord", "control-recipe", "Control Recipe")
    recipe = add(entry, "ControlRecipe")
    add(recipe, "ID", procedure["id"])
    add(recipe, "Version", procedure["version"])
    if procedure["effective_from"]:
        add(recipe, "VersionDate", procedure["effective_from"])
    add(recipe, "Description", procedure["title"])
    add(recipe, "Description", f"content hash sha256:{procedure['content_hash']}")
    add(recipe, "BatchID", batch["id"])
    header = add(recipe, "Header")
    approvals = add(header, "ApprovalHistory")
    add(approvals, "Version", procedure["version"])
    for approval in items(procedure, "approvals"):
        individual = add(approvals, "IndividualApproval")
        add(individual, "ApprovedBy", name_of(approval["signer"]))
        add(individual, "ApprovalDate", approval["signed_at"])
        add(individual, "Description", f"{approval['meaning_text']} (signature {approval['id']})")
    if procedure["effective_from"]:
        add(header, "EffectiveDate", procedure["effective_from"])
    add(header, "ProductID", order["product_code"])
    if order["product_name"]:
        add(header, "ProductName", order["product_name"])
    size = add(header, "BatchSize")
    add(size, "Nominal", order["planned_quantity"])
    add(size, "UnitOfMeasure", order["unit"])
    known = BATCH_STATUS.get(str(batch["status"]))
    add(header, "Status", known or "Other", OtherValue="" if known else str(batch["status"]))
    _recipe_element(recipe, rec["procedure_tree"])


def _recipe_element(parent: etree._Element, node: Record) -> None:
    """One node of the executed procedure tree with its actual span, status, equipment and people."""
    level = str(node["level"])
    element_id = f"phase-{node['id']}" if level == "phase" else f"{level}-{node['id']}"
    recipe = add(parent, "RecipeElement")
    add(recipe, "ID", element_id)
    add(recipe, "Description", node["name"])
    add(recipe, "RecipeElementType", LEVELS[level])
    for code in node["equipment"]:
        add(recipe, "ActualEquipmentID", code)
    for child in items(node, "children"):
        _recipe_element(recipe, child)
    facts: dict[str, Any] = {"status": node["status"], "started_at": node["started_at"], "ended_at": node["ended_at"]}
    if level == "phase":
        facts |= {"iteration": node["iteration"], "performer": name_of(node["performer"])}
        facts["verifier"] = name_of(node["verifier"])
    facts["signatures"] = " ".join(f"signature-{i}" for i in node["signature_ids"])
    for key, fact in facts.items():
        if fact not in (None, ""):
            _other(recipe, key, str(fact))


def _other(parent: etree._Element, key: str, text: str) -> None:
    info = add(parent, "OtherInformation")
    add(info, "ID", key)
    value = add(info, "Value")
    add(value, "ValueString", text)
    add(value, "DataInterpretation", "Constant")
    add(value, "DataType", "string")
    add(value, "UnitOfMeasure", "")


def _data_sets(root: etree._Element, rec: Record) -> None:
    """One data set per step record: a tag per field, and every value row as it was entered, in order."""
    with_values = [step for step in items(rec, "steps") if step["values"]]
    if not with_values:
        return
    sets = add(root, "DataSets")
    for step in with_values:
        data_set = add_entry(sets, "DataSet", f"data-set-{step['id']}", "Data Set", step["became_ready_at"])
        add(data_set, "Description", f"{step['name']} (pass {step['iteration']})")
        tags: dict[str, int] = {}
        for row in items(step, "values"):
            if row["field_id"] not in tags:
                tags[row["field_id"]] = len(tags) + 1
                _tag(data_set, tags[row["field_id"]], row, step)
        for row in items(step, "values"):
            _ordered(data_set, tags[row["field_id"]], row)


def _tag(data_set: etree._Element, index: int, row: Record, step: Record) -> None:
    tag = add(data_set, "TagSpecification")
    add(tag, "TagIndex", index)
    add(tag, "DataType", "string")
    add_nillable(tag, "UnitOfMeasure", str(row["unit"]))
    add(tag, "Alias", row["field_id"])
    add(tag, "Description", row["label"])
    add(tag, "ProceduralElementReference", f"phase-{step['id']}")


def _ordered(data_set: etree._Element, index: int, row: Record) -> None:
    """One value row: its entry id, time, value, and whether it is the value in force or superseded."""
    ordered = add(data_set, "OrderedData")
    add(ordered, "OrderIndex", row["id"])
    add(ordered, "TimeValue", row["captured_at"])
    data = add(ordered, "DataValue")
    add(data, "TagIndex", index)
    add(data, "Value", "" if row["value"] is None else row["value"])
    state = "current" if row["current"] else f"superseded by value-{row['superseded_by']}"
    add(data, "Quality", f"VOIDED: {row['void_reason']}; {state}" if row.get("void_reason") else state)
