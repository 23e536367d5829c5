"""B2MML from the ERP: the sample order and material master read into domain objects, and every bad message (missing
field, wrong type, unzoned time, malformed XML, DTD and entity tricks, oversized body, wrong root) is refused with a
message that says what and where, before anything reaches the application."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ebr.adapters.batchml import MAX_XML_BYTES, B2mmlInvalid, parse_material_master, parse_orders
from ebr.demo.erp_samples import MATERIAL_MASTER_XML, ORDER_JSON, ORDER_XML, load
from ebr.domain.erp import BomLine, InboundOrder
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import Material, MaterialLot, QcStatus

CET = timezone(timedelta(hours=1))
ORDER = load(ORDER_XML)
MASTER = load(MATERIAL_MASTER_XML)
EXPECTED_ORDER = InboundOrder(
    order_number="PO-1003",
    product_code="PARA-500",
    planned_quantity=Decimal("60"),
    unit="kg",
    batch_id="B-PARA-0002",
    planned_start=datetime(2026, 12, 21, 6, 0, tzinfo=CET),
    planned_end=datetime(2026, 12, 21, 18, 0, tzinfo=CET),
    bom=(
        BomLine("PARA-API", Decimal("30"), "kg"),
        BomLine("MCC-101", Decimal("24.6"), "kg"),
        BomLine("PVP-K30", Decimal("3"), "kg"),
        BomLine("CCS-01", Decimal("1.8"), "kg"),
        BomLine("MGST-01", Decimal("0.6"), "kg"),
    ),
)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML" releaseID="&lol3;"/>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML" releaseID="7.0"><ApplicationArea>
<CreationDateTime>2026-12-18T07:15:00Z</CreationDateTime><BODID>&secret;</BODID></ApplicationArea></SyncOperationsSchedule>"""


def test_the_sample_order_reads_as_the_inbound_order_it_describes() -> None:
    bodid, orders = parse_orders(ORDER)
    assert bodid == "3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03"
    assert orders == (EXPECTED_ORDER,)
    assert orders[0].planned_start and orders[0].planned_start.utcoffset() == timedelta(hours=1)


def test_the_json_sample_order_has_the_same_content_as_the_xml_one() -> None:
    (order,) = json.loads(load(ORDER_JSON))["orders"]
    from_json = InboundOrder(
        order_number=order["order_number"],
        product_code=order["product_code"],
        planned_quantity=Decimal(order["planned_quantity"]),
        unit=order["unit"],
        batch_id=order["batch_id"],
        planned_start=datetime.fromisoformat(order["planned_start"]),
        planned_end=datetime.fromisoformat(order["planned_end"]),
        bom=tuple(BomLine(b["material_code"], Decimal(b["quantity"]), b["unit"]) for b in order["bom"]),
    )
    assert (from_json,) == parse_orders(ORDER)[1]


def test_the_sample_material_master_reads_as_materials_and_lots_with_status_and_expiry() -> None:
    bodid, materials, lots = parse_material_master(MASTER)
    assert bodid == "8b6e2f10-4c7a-4d2e-b3f9-0a1c5d7e9f21"
    assert materials == (
        Material("PARA-API", "Paracetamol API", "kg"),
        Material("MCC-101", "Microcrystalline cellulose PH-101", "kg"),
        Material("TALC-01", "Talc, purified", "kg"),
    )
    assert lots == (
        MaterialLot("PARA-API", "PA-25001", QcStatus.RELEASED, date(2029, 6, 30), Decimal("250")),
        MaterialLot("PARA-API", "PA-25002", QcStatus.QUARANTINE, date(2029, 9, 30), Decimal("250")),
        MaterialLot("MCC-101", "MC-25004", QcStatus.RELEASED, date(2030, 3, 31), Decimal("500")),
        MaterialLot("TALC-01", "TL-25001", QcStatus.REJECTED, date(2028, 12, 31), Decimal("20")),
        MaterialLot("TALC-01", "TL-25002", QcStatus.BLOCKED, date(2029, 1, 31), None),
    )


def test_lots_alone_may_come_as_sync_material_lot() -> None:
    start, end = MASTER.index(b"<MaterialLot>"), MASTER.rindex(b"</MaterialLot>") + len(b"</MaterialLot>")
    head = MASTER[: MASTER.index(b"<DataArea>")].replace(b"SyncMaterialInformation", b"ProcessMaterialLot")
    message = head + b"<DataArea><Process/>" + MASTER[start:end] + b"</DataArea></ProcessMaterialLot>"
    bodid, materials, lots = parse_material_master(message)
    assert bodid == "8b6e2f10-4c7a-4d2e-b3f9-0a1c5d7e9f21" and materials == ()
    assert [lot.lot_number for lot in lots] == ["PA-25001", "PA-25002", "MC-25004", "TL-25001", "TL-25002"]


def _edit(message: bytes, old: bytes, new: bytes) -> bytes:
    assert old in message, old
    return message.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<MaterialLotID>B-PARA-0002</MaterialLotID>", b"",
         r"^OperationsRequest PO-1003: MaterialRequirement \(Produced\): MaterialLotID is missing\.$"),
        (b"<BODID>3d0f6a52-8c1e-4f7b-9a61-5e2c7b1d4a03</BODID>", b"", r"^ApplicationArea: BODID is missing\.$"),
        (b"<CreationDateTime>2026-12-18T07:15:00Z</CreationDateTime>", b"",
         r"B2MML-OperationsSchedule\.xsd: line 9: Element 'BODID': This element is not expected\. Expected is one of "
         r"\( Receiver, CreationDateTime \)"),
        (b"<QuantityString>60</QuantityString>", b"<QuantityString>ten</QuantityString>",
         r"^OperationsRequest PO-1003: MaterialRequirement \(Produced\): Quantity: QuantityString: 'ten' is not a "),
        (b"<QuantityString>24.6</QuantityString>", b"<QuantityString>-2</QuantityString>",
         r"^OperationsRequest PO-1003: BOM line MCC-101: Quantity: QuantityString must be a positive number\.$"),
        (b"<UnitOfMeasure>kg</UnitOfMeasure>", b"<UnitOfMeasure>kgs</UnitOfMeasure>",
         r"^OperationsRequest PO-1003: MaterialRequirement \(Produced\): Quantity: Unknown unit 'kgs'"),
        (b"<StartTime>2026-12-21T06:00:00+01:00</StartTime>", b"<StartTime>2026-12-21T06:00:00</StartTime>",
         r"^OperationsRequest PO-1003: StartTime '2026-12-21T06:00:00' has no time zone"),
        (b"<StartTime>2026-12-21T06:00:00+01:00</StartTime>", b"<StartTime>tomorrow</StartTime>",
         r"line 21: Element 'StartTime': 'tomorrow' is not a valid value of the atomic type 'xs:dateTime'"),
        (b"<EndTime>2026-12-21T18:00:00+01:00</EndTime>", b"<EndTime>2026-12-20T18:00:00+01:00</EndTime>",
         r"^OperationsRequest PO-1003: The planned end is before the planned start\.$"),
        (b"<MaterialUse>Produced</MaterialUse>", b"<MaterialUse>Made</MaterialUse>",
         r"Element 'MaterialUse': \[facet 'enumeration'\] The value 'Made' is not an element of the set"),
        (b"<MaterialUse>Consumed</MaterialUse>", b"<MaterialUse>Consumable</MaterialUse>",
         r"MaterialRequirement \(line 37\): MaterialUse is 'Consumable'; the eBR reads Produced"),
        (b"<MaterialUse>Produced</MaterialUse>", b"<MaterialUse>Consumed</MaterialUse>",
         r"^OperationsRequest PO-1003: exactly one MaterialRequirement with MaterialUse Produced .* found 0\.$"),
        (b"<ID>PO-1003</ID>", b"<ID>PO 1003</ID>", r"^OperationsRequest PO 1003: Order number: 1-64 characters"),
        (b"<RequestState>Released</RequestState>", b"<State>Released</State>",
         r"line 23: Element 'State': This element is not expected\. Expected is one of \( Priority, RequestState, "),
    ],
)  # fmt: skip
def test_a_bad_order_is_refused_naming_the_field_and_the_order(old: bytes, new: bytes, message: str) -> None:
    with pytest.raises(B2mmlInvalid, match=message):
        parse_orders(_edit(ORDER, old, new))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<Status>Released</Status>", b"<Status>Approved</Status>",
         r"^MaterialLot PA-25001: Status \(the QC status\) is 'Approved'; expected one of Quarantine, Released, "),
        (b"<Status>Released</Status>", b"", r"^MaterialLot PA-25001: Status \(the QC status\) is missing"),
        (b"<ValueString>2029-06-30</ValueString>", b"<ValueString>30.06.2029</ValueString>",
         r"^MaterialLot PA-25001: MaterialLotProperty ExpiryDate: '30\.06\.2029' is not a date \(YYYY-MM-DD\)\.$"),
        (b"<ID>ExpiryDate</ID>", b"<ID>BestBefore</ID>", r"^MaterialLot PA-25001: MaterialLotProperty ExpiryDate is "),
        (b"<ID>UnitOfMeasure</ID>", b"<ID>Unit</ID>",
         r"^MaterialDefinition PARA-API: no MaterialDefinitionProperty UnitOfMeasure"),
        (b"<ValueString>kg</ValueString>", b"<ValueString>KG</ValueString>",
         r"^MaterialDefinition PARA-API: Unknown unit 'KG'"),
        (b"<Description>Paracetamol API</Description>", b"", r"^MaterialDefinition PARA-API: Description is missing"),
        (b"<QuantityString>250</QuantityString>", b"<QuantityString>lots</QuantityString>",
         r"^MaterialLot PA-25001: Quantity: QuantityString: 'lots' is not a number\.$"),
        (b"<ID>PA-25002</ID>", b"<ID>PA-25001</ID>", r"names lot PARA-API/PA-25001 more than once"),
        (b"<ID>MCC-101</ID>", b"",
         r"line \d+: Element 'Description': This element is not expected\. Expected is \( ID \)"),
    ],
)  # fmt: skip
def test_a_bad_material_master_is_refused_naming_the_lot_or_material(old: bytes, new: bytes, message: str) -> None:
    with pytest.raises(B2mmlInvalid, match=message):
        parse_material_master(_edit(MASTER, old, new))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (ORDER[:-40], r"^The XML message is not well-formed: line \d+: "),
        (b"", r"^The XML message is not well-formed"),
        (b"not xml at all", r"^The XML message is not well-formed: line 1: Start tag expected"),
        (BILLION_LAUGHS, r"document type declaration \(DOCTYPE or ENTITY\): refused unread"),
        (EXTERNAL_ENTITY, r"document type declaration \(DOCTYPE or ENTITY\): refused unread"),
        (EXTERNAL_ENTITY.decode().replace("1.0\"?>", '1.0" encoding="UTF-16"?>').encode("utf-16"),
         r"document type declaration \(DOCTYPE or ENTITY\): refused\.$"),
        (MASTER, r"^Unknown root element 'SyncMaterialInformation': expected one of SyncOperationsSchedule, "),
        (ORDER.replace(b"http://www.mesa.org/xml/B2MML", b"urn:other"),
         r"^Unknown root element '\{urn:other\}SyncOperationsSchedule'"),
    ],
)  # fmt: skip
@pytest.mark.error_handling
def test_malformed_xml_dtd_tricks_and_a_wrong_root_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(B2mmlInvalid, match=message) as refused:
        parse_orders(body)
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd was read into the message
    assert isinstance(refused.value, InvalidInput)


def test_the_material_parser_refuses_an_order_and_dtd_tricks_too() -> None:
    with pytest.raises(B2mmlInvalid, match=r"^Unknown root element 'SyncOperationsSchedule'"):
        parse_material_master(ORDER)
    with pytest.raises(B2mmlInvalid, match="document type declaration"):
        parse_material_master(EXTERNAL_ENTITY)


@pytest.mark.limits
def test_the_size_cap_admits_exactly_max_bytes_and_refuses_one_more() -> None:
    at_cap = ORDER + b" " * (MAX_XML_BYTES - len(ORDER))  # trailing white space after the root is allowed XML
    assert len(at_cap) == MAX_XML_BYTES == 1024 * 1024
    assert parse_orders(at_cap)[1] == (EXPECTED_ORDER,)
    with pytest.raises(B2mmlInvalid, match=rf"^The XML message is {MAX_XML_BYTES + 1} bytes; at most {MAX_XML_BYTES} "):
        parse_orders(at_cap + b" ")
    with pytest.raises(B2mmlInvalid, match="at most"):
        parse_material_master(MASTER + b" " * MAX_XML_BYTES)
