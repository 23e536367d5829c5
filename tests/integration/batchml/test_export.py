"""The BatchML export of a whole batch validates against MESA's BatchProductionRecord schema, and holds one entry
per value row, signature, deviation, lot and equipment use; no DTD or entity is ever written or read."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.export import to_batchml, validate_batchml
from ebr.bootstrap import Runtime
from tests.app.record_support import counts, granulation_batch, quick_batch, record_service
from tests.fakes import FakeClock

NS = {"b": "http://www.mesa.org/xml/B2MML"}
SCHEMAS = Path(str(resources.files("ebr.adapters.batchml").joinpath("schemas")))


def _parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))


def _entries(document: etree._Element, prefix: str) -> list[str]:
    return [e for e in document.xpath("//b:EntryID/text()", namespaces=NS) if e.startswith(prefix)]


def _count(document: etree._Element, path: str) -> int:
    return len(document.xpath(path, namespaces=NS))


@pytest.mark.slow
def test_the_batchml_of_a_whole_batch_validates_and_holds_every_value_signature_deviation_lot_and_use(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = granulation_batch(runtime, clock)
    service = record_service(runtime)
    record = service.record(floor.batch_id)
    xml = service.batchml(floor.batch_id)
    assert validate_batchml(xml) == []
    document = _parse(xml)
    db = counts(runtime, floor.batch_id)
    assert _count(document, "//b:DataSet/b:OrderedData/b:DataValue") == db["values"]  # superseded rows included
    assert _count(document, "//b:ChangeHistory/b:Change") >= 1  # the signed correction, with its original value
    assert len(_entries(document, "signature-")) == db["signatures"] + db["approvals"]
    assert sorted(_entries(document, "deviation-")) == sorted(f"deviation-{d['id']}" for d in record["deviations"])
    assert len(_entries(document, "equipment-use-")) == db["equipment_uses"]
    assert _count(document, "//b:EquipmentActual") == db["equipment_uses"]
    consumed = document.xpath("//b:MaterialActual[b:MaterialUse='Consumed']/b:MaterialLotID/text()", namespaces=NS)
    assert sorted(consumed) == sorted(d["lot_number"] for d in record["dispensings"]) and len(consumed) == 5
    produced = document.xpath("//b:MaterialActual[b:MaterialUse='Produced']/b:MaterialLotID/text()", namespaces=NS)
    assert produced == [floor.batch_id]
    assert _count(document, "//b:RecipeElement[b:RecipeElementType='Phase']") == db["steps"]
    assert len(_entries(document, "audit-")) == len(record["audit_trail"])
    assert b"<!DOCTYPE" not in xml and b"<!ENTITY" not in xml


def test_the_batchml_of_a_running_batch_validates_with_its_hold_correction_and_refused_scan(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = quick_batch(runtime, clock)
    record = record_service(runtime).record(floor.batch_id)
    xml = to_batchml(record)
    assert validate_batchml(xml) == []
    document = _parse(xml)
    assert document.tag == "{http://www.mesa.org/xml/B2MML}BatchProductionRecord"
    assert document.findtext("b:BatchID", namespaces=NS) == floor.batch_id
    assert len(_entries(document, "action-")) == len(record["actions"]) == 4
    assert len(_entries(document, "check-")) == 1  # the refused scan
    [change] = document.xpath("//b:Change", namespaces=NS)
    assert change.findtext("b:PrechangeData/b:ValueString", namespaces=NS) == "LOT-1"
    assert change.findtext("b:Reason", namespaces=NS) == "misread label"


def test_a_document_that_breaks_the_schema_is_reported(runtime: Runtime, clock: FakeClock) -> None:
    floor = quick_batch(runtime, clock)
    xml = record_service(runtime).batchml(floor.batch_id)
    broken = re.sub(rb"<ObjectType>Batch Production Record</ObjectType>", b"", xml, count=1)
    problems = validate_batchml(broken)
    assert problems and any("ObjectType" in p for p in problems)
    assert validate_batchml(b"<BatchProductionRecord") != []


def test_text_xml_cannot_carry_is_written_as_an_escape_and_still_validates(runtime: Runtime, clock: FakeClock) -> None:
    floor = quick_batch(runtime, clock)
    record = copy.deepcopy(record_service(runtime).record(floor.batch_id))
    record["steps"][0]["values"][0]["value"] = "LOT\x01-1"  # type: ignore[index]
    xml = to_batchml(record)
    assert validate_batchml(xml) == [] and b"LOT\\u0001-1" in xml


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'.encode("utf-16"),
    ],
    ids=["external-entity", "entity-expansion", "external-dtd", "utf-16-dtd"],
)
def test_a_document_with_a_dtd_or_entity_is_refused_unread(hostile: bytes) -> None:
    problems = validate_batchml(hostile)
    assert problems
    assert not any("passwd" in p or "root:" in p for p in problems)


def test_the_packaged_schemas_are_exactly_what_the_entry_schemas_need_with_mesas_acknowledgement() -> None:
    entry_points = ["BatchML-BatchProductionRecord.xsd", "B2MML-OperationsPerformance.xsd"]
    entry_points += ["B2MML-OperationsSchedule.xsd", "B2MML-Material.xsd"]  # the ERP's messages
    needed, todo = set(), list(entry_points)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        text = re.sub(r"<!--.*?-->", "", (SCHEMAS / name).read_text(encoding="utf-8"), flags=re.DOTALL)
        todo += re.findall(r'schemaLocation\s*=\s*"([^"]+)"', text)
    assert {p.name for p in SCHEMAS.glob("*.xsd")} == needed
    acknowledgement = "The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA International."
    assert acknowledgement in (SCHEMAS / "README.md").read_text(encoding="utf-8")
    assert "MESA International" in (SCHEMAS / "LICENSE").read_text(encoding="utf-8")
