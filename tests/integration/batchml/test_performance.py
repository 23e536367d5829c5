"""The ERP posting as B2MML OperationsPerformance: every kind validates against MESA's schema (checked here with a
schema compiled independently of the builder), quantities are decimal text with a unit, times carry a zone, scrap is
Other/OtherValue="Scrap", the bytes are deterministic, and the message reads back to the posting's facts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.performance import (
    B2mmlInvalid,
    parse_performance,
    performance_json,
    performance_xml,
    validate_performance,
)
from ebr.domain.erp import MaterialLine, MaterialUse, PerformanceState, Posting, PostingKind, posting_key
from ebr.domain.materials import UNITS, quantity_text

NS = {"b": "http://www.mesa.org/xml/B2MML"}
SCHEMAS = Path(str(resources.files("ebr.adapters.batchml").joinpath("schemas")))
CET = timezone(timedelta(hours=1))
TIME_TAGS = ("CreationDateTime", "PublishedDate", "StartTime", "EndTime", "ActualStartTime", "ActualEndTime")
DECIMAL_TEXT = re.compile(r"\d+(\.\d*[1-9])?")
REVERSED = posting_key("EBR-SITE-BASEL", "B-PARA-0001", PostingKind.COMPLETION, 1)  # the completion it corrects
LINES = (
    MaterialLine(MaterialUse.PRODUCED, "PARA-500", "B-PARA-0001", Decimal("118.50"), "kg", None, "QualityInspection"),
    MaterialLine(MaterialUse.SCRAP, "PARA-500", "B-PARA-0001", Decimal("1.5"), "kg"),
    MaterialLine(MaterialUse.CONSUMED, "PARA-API", "PA-24001", Decimal("25.000"), "kg", "C-PA-0001"),
    MaterialLine(MaterialUse.CONSUMED, "PARA-API", "PA-24001", Decimal("4.75"), "kg", "C-PA-0002"),
    MaterialLine(MaterialUse.CONSUMED, "MGST-01", "MG-24002", Decimal("600"), "g", "C-MG-0001"),
)


def posting(kind: PostingKind, **change: object) -> Posting:
    """A realistic posting of batch B-PARA-0001; times in CET, as a plant's clock might give them."""
    released = kind is PostingKind.USAGE_DECISION
    fields: dict[str, object] = {
        "kind": kind,
        "site": "EBR-SITE-BASEL",
        "batch_id": "B-PARA-0001",
        "order_number": "PO-1001",
        "revision": 1,
        "created_at": datetime(2026, 12, 15, 14, 30, 5, tzinfo=CET),
        "procedure": "granulation@3",
        "state": PerformanceState.ABORTED if kind is PostingKind.ABORTED else PerformanceState.COMPLETED,
        "start": datetime(2026, 12, 15, 6, 0, tzinfo=UTC),
        "end": datetime(2026, 12, 15, 13, 12, 30, 250000, tzinfo=UTC),
        "lines": () if released else (LINES[2:] if kind is PostingKind.ABORTED else LINES),
        "data": (("QualityDisposition", "Released"),) if released else (("YieldPercent", "98.75"), ("Deviations", "1")),
        "reverses": REVERSED if kind is PostingKind.REVERSAL else None,
    }
    return Posting(**{**fields, **change})  # type: ignore[arg-type]  # keyword fields checked by the class


def _schema() -> etree.XMLSchema:
    """The vendored MESA schema compiled here, independently of the builder's own cache."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "B2MML-OperationsPerformance.xsd")))


def _doc(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))


@pytest.mark.req("ERP-06")
@pytest.mark.parametrize("kind", list(PostingKind))
def test_every_posting_kind_validates_against_the_operations_performance_schema(kind: PostingKind) -> None:
    subject = posting(kind)
    xml = performance_xml(subject)
    document = _doc(xml)
    _schema().assertValid(document)
    verb = "Cancel" if kind is PostingKind.REVERSAL else "Process"
    assert document.tag == f"{{{NS['b']}}}{verb}OperationsPerformance" and document.get("releaseID") == "7.0"
    assert document.xpath("b:ApplicationArea/b:BODID/text()", namespaces=NS) == [subject.key]
    assert document.xpath("b:ApplicationArea/b:Sender/b:LogicalID/text()", namespaces=NS) == ["EBR-SITE-BASEL"]
    assert len(document.xpath(f"b:DataArea/b:{verb}", namespaces=NS)) == 1
    response = document.xpath("b:DataArea/b:OperationsPerformance/b:OperationsResponse", namespaces=NS)[0]
    assert response.xpath("b:ID/text()", namespaces=NS) == ["B-PARA-0001"]
    assert response.xpath("b:OperationsRequestID/text()", namespaces=NS) == ["PO-1001"]
    assert response.xpath("b:OperationsDefinitionID/text()", namespaces=NS) == ["granulation@3"]
    assert response.xpath("b:ResponseState/text()", namespaces=NS) == [str(subject.state)]
    assert len(response.xpath(".//b:MaterialActual", namespaces=NS)) == len(subject.lines)
    assert len(response.xpath(".//b:SegmentData", namespaces=NS)) == len(subject.data)


@pytest.mark.req("ERP-06")
def test_quantities_are_decimal_text_with_a_unit_and_every_time_carries_a_zone() -> None:
    document = _doc(performance_xml(posting(PostingKind.COMPLETION)))
    quantities = document.xpath("//b:MaterialActual/b:Quantity", namespaces=NS)
    assert (
        [q.findtext("b:QuantityString", namespaces=NS) for q in quantities]
        == [quantity_text(line.quantity) for line in LINES]
        == ["118.5", "1.5", "25", "4.75", "600"]
    )
    for node in quantities:
        assert DECIMAL_TEXT.fullmatch(node.findtext("b:QuantityString", namespaces=NS))
        assert node.findtext("b:DataType", namespaces=NS) == "decimal"
        assert node.findtext("b:UnitOfMeasure", namespaces=NS) in UNITS
    times = [node.text for tag in TIME_TAGS for node in document.iter(f"{{{NS['b']}}}{tag}")]
    assert len(times) == 6 and document.findtext(".//b:PostingDate", namespaces=NS) == "2026-12-15T13:30:05+00:00"
    for text in times:
        assert datetime.fromisoformat(text).utcoffset() == timedelta(0), text  # zoned, and in UTC
    assert document.findtext("b:ApplicationArea/b:CreationDateTime", namespaces=NS) == "2026-12-15T13:30:05+00:00"
    assert document.findtext(".//b:EndTime", namespaces=NS) == "2026-12-15T13:12:30.250000+00:00"


@pytest.mark.req("ERP-06")
def test_scrap_is_other_with_other_value_scrap_and_material_use_scrap_fails_the_schema_enumeration() -> None:
    xml = performance_xml(posting(PostingKind.COMPLETION))
    scrap = _doc(xml).xpath("//b:MaterialActual/b:MaterialUse[@OtherValue]", namespaces=NS)
    assert [(node.text, node.get("OtherValue")) for node in scrap] == [("Other", "Scrap")]
    forged = xml.replace(b'<MaterialUse OtherValue="Scrap">Other</MaterialUse>', b"<MaterialUse>Scrap</MaterialUse>")
    assert forged != xml
    schema = _schema()
    assert not schema.validate(_doc(forged))
    assert "SCHEMAV_CVC_ENUMERATION_VALID" in {entry.type_name for entry in schema.error_log}
    with pytest.raises(B2mmlInvalid, match=r"line \d+: Element 'MaterialUse': \[facet 'enumeration'\]") as refused:
        validate_performance(forged)
    assert "SCHEMAV_CVC_ENUMERATION_VALID" in refused.value.codes


@pytest.mark.parametrize("kind", list(PostingKind))
def test_the_same_posting_always_gives_the_same_bytes_and_json(kind: PostingKind) -> None:
    first, again = posting(kind), posting(kind)
    assert first is not again
    xml = performance_xml(first)
    assert xml == performance_xml(again) == performance_xml(first)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert performance_json(first) == performance_json(again)
    revised = performance_xml(posting(kind, revision=2))
    assert revised != xml and posting(kind, revision=2).key.encode() in revised


@pytest.mark.parametrize("kind", list(PostingKind))
def test_a_posting_reads_back_with_its_lines_data_and_reversal(kind: PostingKind) -> None:
    subject = posting(kind)
    parsed = parse_performance(performance_xml(subject))
    assert parsed.verb == ("Cancel" if kind is PostingKind.REVERSAL else "Process")
    assert (parsed.bodid, parsed.performance_id) == (subject.key, subject.performance_id)
    assert (parsed.batch_id, parsed.order_number, parsed.state) == ("B-PARA-0001", "PO-1001", str(subject.state))
    assert parsed.lines == subject.lines  # use, material, lot, container, quantity, unit, quality status
    assert [line.use for line in parsed.lines] == [line.use for line in subject.lines]
    assert parsed.data == dict(subject.data)
    assert parsed.reverses == subject.reverses


def test_the_json_form_holds_the_same_facts_in_canonical_form() -> None:
    subject = posting(PostingKind.REVERSAL)
    text = performance_json(subject)
    content = json.loads(text)
    assert text == json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert _leaves(content) and all(isinstance(leaf, str) for leaf in _leaves(content))  # decimals as strings
    message = content["CancelOperationsPerformance"]
    assert message["ApplicationArea"]["BODID"] == subject.key
    expression = message["DataArea"]["Cancel"]["ActionCriteria"]["ActionExpression"]
    assert subject.reverses and subject.reverses in expression["#text"]
    segment = message["DataArea"]["OperationsPerformance"]["OperationsResponse"]["SegmentResponse"]
    assert {d["ID"]: d["Value"]["ValueString"] for d in segment["SegmentData"]} == dict(subject.data)
    parsed = parse_performance(performance_xml(subject))
    assert [_json_line(item) for item in segment["MaterialActual"]] == [
        (str(line.use), line.material_code, line.lot, line.container, quantity_text(line.quantity), line.unit)
        for line in parsed.lines
    ]


def _json_line(item: dict[str, object]) -> tuple[object, ...]:
    use = item["MaterialUse"]
    quantity = item["Quantity"]
    assert isinstance(quantity, dict)
    use_text = use["@OtherValue"] if isinstance(use, dict) else use
    return (
        use_text,
        item["MaterialDefinitionID"],
        item["MaterialLotID"],
        item.get("MaterialSubLotID"),
        quantity["QuantityString"],
        quantity["UnitOfMeasure"],
    )


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_a_posting_with_an_unzoned_time_is_refused() -> None:
    with pytest.raises(B2mmlInvalid, match="must carry a zone"):
        performance_xml(posting(PostingKind.COMPLETION, start=datetime(2026, 12, 15, 6, 0)))


def test_a_cancel_that_does_not_name_the_cancelled_message_is_refused_when_read() -> None:
    xml = performance_xml(posting(PostingKind.REVERSAL))
    stripped = re.sub(rb"<ActionCriteria>.*</ActionCriteria>", b"", xml, flags=re.S)
    validate_performance(stripped)  # still schema-valid: the schema cannot say a Cancel must name its target
    with pytest.raises(B2mmlInvalid, match=r"Cancel: no ActionCriteria/ActionExpression names the cancelled"):
        parse_performance(stripped)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<MaterialUse>Consumed</MaterialUse>", b"<MaterialUse>Consumable</MaterialUse>", "MaterialUse 'Consumable'"),
        (b"<QuantityString>25</QuantityString>", b"<QuantityString>ten</QuantityString>", "'ten' is not a number"),
        (b"<UnitOfMeasure>g</UnitOfMeasure>", b"", r"MaterialActual \(line \d+\): Quantity: UnitOfMeasure is missing"),
        (b"<OperationsRequestID>PO-1001</OperationsRequestID>", b"", "OperationsResponse: OperationsRequestID is"),
    ],
)
def test_reading_a_posting_refuses_what_the_ebr_never_sends(old: bytes, new: bytes, message: str) -> None:
    xml = performance_xml(posting(PostingKind.COMPLETION))
    assert old in xml
    with pytest.raises(B2mmlInvalid, match=message):
        parse_performance(xml.replace(old, new, 1))


def test_a_reversal_key_that_could_break_out_of_its_expression_is_refused() -> None:
    with pytest.raises(B2mmlInvalid, match="Reversal: The reversed posting's key"):
        performance_xml(posting(PostingKind.REVERSAL, reverses="x'] | //*['"))
