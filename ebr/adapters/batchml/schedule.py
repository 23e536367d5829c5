"""Production orders the ERP sends as B2MML V0700 SyncOperationsSchedule or ProcessOperationsSchedule.

Convention (one OperationsRequest per order, anywhere in the message's OperationsSchedules):
* OperationsRequest/ID is the ERP order number; StartTime and EndTime the planned start and end (zone required);
* its SegmentRequirements' MaterialRequirements say what the order makes and uses:
  - exactly one with `MaterialUse` Produced: MaterialDefinitionID the product, MaterialLotID the batch id the eBR
    will run it under, Quantity the planned quantity (QuantityString a decimal, UnitOfMeasure a known unit);
  - one per BOM line with `MaterialUse` Consumed: MaterialDefinitionID the component and its planned Quantity;
  - any other MaterialUse is refused rather than silently ignored.
The message is validated against B2MML-OperationsSchedule.xsd first; then every rule the schema cannot say (a zone on
each time, a decimal quantity, a known unit, a code-shaped identifier) is checked with a message naming the order.
"""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.reading import children, located, moment, quantity, required, text
from ebr.adapters.batchml.safe import SCHEDULE_XSD, B2mmlInvalid, parse_untrusted, validate
from ebr.adapters.batchml.xml import NS
from ebr.domain.erp import BomLine, InboundOrder

ROOTS = ("SyncOperationsSchedule", "ProcessOperationsSchedule")
PRODUCED = "Produced"
CONSUMED = "Consumed"


def parse_orders(xml: bytes) -> tuple[str, tuple[InboundOrder, ...]]:
    """(BODID, orders) from SyncOperationsSchedule or ProcessOperationsSchedule V0700; validated first."""
    root = parse_untrusted(xml, ROOTS)
    validate(root, SCHEDULE_XSD)
    bodid = required(children(root, "ApplicationArea")[0], "BODID", "ApplicationArea")
    requests = [
        request
        for schedule in children(children(root, "DataArea")[0], "OperationsSchedule")
        for request in children(schedule, "OperationsRequest")
    ]
    if not requests:
        raise B2mmlInvalid("OperationsSchedule: no OperationsRequest (one per production order) in the message.")
    orders = tuple(_order(request) for request in requests)
    numbers = [order.order_number for order in orders]
    repeated = sorted({number for number in numbers if numbers.count(number) > 1})
    if repeated:
        raise B2mmlInvalid(f"OperationsSchedule: order {', '.join(repeated)} appears more than once.")
    return bodid, orders


def _order(request: etree._Element) -> InboundOrder:
    number = required(request, "ID", f"OperationsRequest (line {request.sourceline})")
    where = f"OperationsRequest {number}"
    produced: list[etree._Element] = []
    consumed: list[etree._Element] = []
    for requirement in _requirements(request):
        use = text(requirement, "MaterialUse")
        place = f"{where}: MaterialRequirement (line {requirement.sourceline})"
        if use not in (PRODUCED, CONSUMED):
            shown = "missing" if use is None else repr(use)
            raise B2mmlInvalid(f"{place}: MaterialUse is {shown}; the eBR reads Produced (the product) or Consumed.")
        (produced if use == PRODUCED else consumed).append(requirement)
    if len(produced) != 1:
        raise B2mmlInvalid(
            f"{where}: exactly one MaterialRequirement with MaterialUse Produced is expected (the product, its batch "
            f"id as MaterialLotID and the planned quantity), found {len(produced)}."
        )
    product = produced[0]
    place = f"{where}: MaterialRequirement (Produced)"
    planned, unit = quantity(product, place)
    with located(where):
        return InboundOrder(
            order_number=number,
            product_code=required(product, "MaterialDefinitionID", place),
            planned_quantity=planned,
            unit=unit or "",
            batch_id=required(product, "MaterialLotID", place),
            planned_start=moment(request, "StartTime", where),
            planned_end=moment(request, "EndTime", where),
            bom=tuple(_bom_line(node, where) for node in consumed),
        )


def _requirements(request: etree._Element) -> list[etree._Element]:
    """The MaterialRequirements of the request's segment requirements, nested ones included."""
    return [
        requirement
        for segment in request.iter(f"{{{NS}}}SegmentRequirement")
        for requirement in children(segment, "MaterialRequirement")
    ]


def _bom_line(node: etree._Element, where: str) -> BomLine:
    material = required(node, "MaterialDefinitionID", f"{where}: MaterialRequirement (line {node.sourceline})")
    place = f"{where}: BOM line {material}"
    amount, unit = quantity(node, place)
    with located(place):
        return BomLine(material, amount, unit or "")
