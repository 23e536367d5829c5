"""The posting the eBR sends the ERP, as B2MML V0700 OperationsPerformance (REQUIREMENTS 5.1, ERP-06), and back.

Mapping (Posting → message):
* completion, usage decision, aborted → `ProcessOperationsPerformance releaseID="7.0"`; a reversal →
  `CancelOperationsPerformance` (verb Cancel) with its own BODID;
* ApplicationArea: Sender/LogicalID the site, CreationDateTime the posting's time, BODID the posting key (ERP-03);
* OperationsPerformance: ID the performance id, OperationsType Production, PerformanceState the posting's state,
  PublishedDate the posting's time; OperationsResponse: ID the batch id, OperationsRequestID the ERP order number,
  Start/EndTime when known, OperationsDefinitionID the procedure, ResponseState the state;
* one SegmentResponse for the whole batch: ID the batch id, ActualStart/EndTime, PostingDate the posting's time,
  SegmentState, one SegmentData per data pair (Value/ValueString, DataType string), one MaterialActual per line:
  MaterialDefinitionID, MaterialLotID, MaterialSubLotID the container, MaterialUse, Quantity (QuantityString the
  canonical decimal text, DataType decimal, UnitOfMeasure) and a MaterialActualProperty "QualityStatus";
* scrap is `MaterialUse` Other with `OtherValue="Scrap"` (the schema's enumeration has no Scrap);
* a Cancel names the posting it reverses in DataArea/Cancel/ActionCriteria/ActionExpression (actionCode Delete,
  expressionLanguage XPath): `/ProcessOperationsPerformance/ApplicationArea[BODID='<reversed key>']`.
Times are ISO 8601 in UTC with their zone. The JSON form holds the same tree: element names as keys, repeated
elements as lists, attributes as "@name" and an element's text beside attributes as "#text"; all values are strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.reading import children, located, quantity, required, text, value_of
from ebr.adapters.batchml.safe import PERFORMANCE_XSD, B2mmlInvalid, local, parse_untrusted, validate
from ebr.adapters.batchml.xml import NS, add, element
from ebr.domain.erp import MaterialLine, MaterialUse, Posting, PostingKind
from ebr.domain.materials import check_code, quantity_text

__all__ = [
    "B2mmlInvalid",
    "ParsedPerformance",
    "parse_performance",
    "performance_json",
    "performance_xml",
    "validate_performance",
]

Json: TypeAlias = str | list["Json"] | dict[str, "Json"]
RELEASE = "7.0"
ROOTS = ("ProcessOperationsPerformance", "CancelOperationsPerformance")
QUALITY_STATUS = "QualityStatus"
SCRAP = "Scrap"
CANCELLED = "/ProcessOperationsPerformance/ApplicationArea[BODID='{}']"
CANCELLED_RE = re.compile(r"/ProcessOperationsPerformance/ApplicationArea\[BODID='([^']+)'\]")


@dataclass(frozen=True)
class ParsedPerformance:
    """The facts of an OperationsPerformance message, read back (ERP-07 compares them with the record)."""

    verb: str  # "Process" or "Cancel"
    bodid: str
    performance_id: str
    batch_id: str  # OperationsResponse/ID
    order_number: str  # OperationsRequestID
    state: str  # PerformanceState, else ResponseState
    lines: tuple[MaterialLine, ...]
    data: dict[str, str]  # SegmentData ID -> value
    reverses: str | None  # for a Cancel: the BODID it cancels


def performance_xml(posting: Posting) -> bytes:
    """Deterministic: the same Posting always gives byte-identical UTF-8 XML (with XML declaration), schema-valid."""
    tag, body = _content(posting)
    root = element(tag)
    for key, value in body.items():
        if key.startswith("@") and isinstance(value, str):
            root.set(key[1:], value)
    _write_children(root, body)
    xml = bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    validate_performance(xml)
    return xml


def performance_json(posting: Posting) -> str:
    """The same content as canonical JSON (sorted keys, no spaces after separators, decimals as strings)."""
    tag, body = _content(posting)
    return json.dumps({tag: body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def validate_performance(xml: bytes) -> None:
    """Raise B2mmlInvalid naming the schema errors (line and message) unless `xml` is a valid Process/Cancel message."""
    validate(parse_untrusted(xml, ROOTS), PERFORMANCE_XSD)


# --- building ----------------------------------------------------------------------------------------------------


def _content(posting: Posting) -> tuple[str, dict[str, Json]]:
    """The message as (root tag, body): element names as keys in schema order, "@" attributes, "#text" text."""
    verb = "Cancel" if posting.kind is PostingKind.REVERSAL else "Process"
    area: dict[str, Json] = {"Sender": {"LogicalID": posting.site}, "CreationDateTime": _stamp(posting.created_at)}
    area["BODID"] = posting.key
    data_area: dict[str, Json] = {verb: _verb(posting), "OperationsPerformance": _performance(posting)}
    return f"{verb}OperationsPerformance", {"@releaseID": RELEASE, "ApplicationArea": area, "DataArea": data_area}


def _verb(posting: Posting) -> dict[str, Json]:
    if posting.reverses is None:
        return {}
    with located("Reversal"):  # the key goes into an XPath string literal: no quotes in it
        check_code(posting.reverses, "The reversed posting's key")
    expression: dict[str, Json] = {
        "@actionCode": "Delete",
        "@expressionLanguage": "XPath",
        "#text": CANCELLED.format(posting.reverses),
    }
    return {"ActionCriteria": {"ActionExpression": expression}}


def _performance(posting: Posting) -> dict[str, Json]:
    state = str(posting.state)
    response = _compact(
        ID=posting.batch_id,
        OperationsRequestID=posting.order_number,
        StartTime=_utc(posting.start),
        EndTime=_utc(posting.end),
        OperationsDefinitionID=posting.procedure,
        ResponseState=state,
        SegmentResponse=_segment(posting),
    )
    return _compact(
        ID=posting.performance_id,
        OperationsType="Production",
        PerformanceState=state,
        PublishedDate=_stamp(posting.created_at),
        OperationsResponse=response,
    )


def _segment(posting: Posting) -> dict[str, Json]:
    data: list[Json] = [{"ID": key, "Value": _value(value)} for key, value in posting.data]
    return _compact(
        ID=posting.batch_id,
        ActualStartTime=_utc(posting.start),
        ActualEndTime=_utc(posting.end),
        PostingDate=_stamp(posting.created_at),
        SegmentState=str(posting.state),
        SegmentData=data,
        MaterialActual=[_material(line) for line in posting.lines],
    )


def _material(line: MaterialLine) -> dict[str, Json]:
    use: Json = {"@OtherValue": SCRAP, "#text": "Other"} if line.use is MaterialUse.SCRAP else str(line.use)
    props: list[Json] = []
    if line.quality_status:
        props.append({"ID": QUALITY_STATUS, "Value": _value(line.quality_status)})
    return _compact(
        MaterialDefinitionID=line.material_code,
        MaterialLotID=line.lot,
        MaterialSubLotID=line.container,
        MaterialUse=use,
        Quantity={"QuantityString": quantity_text(line.quantity), "DataType": "decimal", "UnitOfMeasure": line.unit},
        MaterialActualProperty=props,
    )


def _value(text_: str) -> dict[str, Json]:
    return {"ValueString": text_, "DataType": "string"}


def _compact(**fields: Json | None) -> dict[str, Json]:
    """The fields in schema order, without the ones there is nothing to say about."""
    return {key: value for key, value in fields.items() if value is not None and value != []}


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else _stamp(moment)


def _stamp(moment: datetime) -> str:
    """ISO 8601 in UTC, with its zone."""
    if moment.tzinfo is None:
        raise B2mmlInvalid("A posting's times must carry a zone.")
    return moment.astimezone(UTC).isoformat()


def _write_children(node: etree._Element, body: dict[str, Json]) -> None:
    for tag, value in body.items():
        if not tag.startswith(("@", "#")):
            _write(node, tag, value)


def _write(parent: etree._Element, tag: str, value: Json) -> None:
    if isinstance(value, list):
        for item in value:
            _write(parent, tag, item)
    elif isinstance(value, str):
        add(parent, tag, value)
    else:
        attributes = {key[1:]: str(item) for key, item in value.items() if key.startswith("@")}
        body = value.get("#text")
        _write_children(add(parent, tag, body if isinstance(body, str) else None, **attributes), value)


# --- reading -----------------------------------------------------------------------------------------------------


def parse_performance(xml: bytes) -> ParsedPerformance:
    """Parse safely, validate against the schema, then read the facts back out."""
    root = parse_untrusted(xml, ROOTS)
    validate(root, PERFORMANCE_XSD)
    verb = local(root).removesuffix("OperationsPerformance")
    data_area = children(root, "DataArea")[0]
    performance = _only(children(data_area, "OperationsPerformance"), "DataArea", "OperationsPerformance")
    response = _only(children(performance, "OperationsResponse"), "OperationsPerformance", "OperationsResponse")
    segments = list(response.iter(f"{{{NS}}}SegmentResponse"))  # nested segments too
    return ParsedPerformance(
        verb=verb,
        bodid=required(children(root, "ApplicationArea")[0], "BODID", "ApplicationArea"),
        performance_id=required(performance, "ID", "OperationsPerformance"),
        batch_id=required(response, "ID", "OperationsResponse"),
        order_number=required(response, "OperationsRequestID", "OperationsResponse"),
        state=text(performance, "PerformanceState") or required(response, "ResponseState", "OperationsResponse"),
        lines=tuple(_line(node) for segment in segments for node in children(segment, "MaterialActual")),
        data={
            required(node, "ID", f"SegmentData (line {node.sourceline})"): _segment_value(node)
            for segment in segments
            for node in children(segment, "SegmentData")
        },
        reverses=_reversed(data_area) if verb == "Cancel" else None,
    )


def _only(found: list[etree._Element], parent: str, tag: str) -> etree._Element:
    if len(found) != 1:
        raise B2mmlInvalid(f"{parent}: exactly one {tag} is expected, found {len(found)}.")
    return found[0]


def _segment_value(node: etree._Element) -> str:
    values = children(node, "Value")
    return (text(values[0], "ValueString") or "") if values else ""


def _line(node: etree._Element) -> MaterialLine:
    where = f"MaterialActual (line {node.sourceline})"
    use_node = children(node, "MaterialUse")
    if not use_node:
        raise B2mmlInvalid(f"{where}: MaterialUse is missing.")
    use = _use((use_node[0].text or "").strip(), use_node[0].get("OtherValue"), where)
    amount, unit = quantity(node, where)
    with located(where):
        return MaterialLine(
            use=use,
            material_code=required(node, "MaterialDefinitionID", where),
            lot=required(node, "MaterialLotID", where),
            quantity=amount,
            unit=unit or "",
            container=text(node, "MaterialSubLotID"),
            quality_status=value_of(node, "MaterialActualProperty", QUALITY_STATUS),
        )


def _use(raw: str, other: str | None, where: str) -> MaterialUse:
    if raw == "Other" and other == SCRAP:
        return MaterialUse.SCRAP
    if raw in (MaterialUse.PRODUCED, MaterialUse.CONSUMED):
        return MaterialUse(raw)
    shown = f"Other/{other}" if raw == "Other" else raw
    raise B2mmlInvalid(f"{where}: MaterialUse {shown!r} is not Produced, Consumed or Other with OtherValue 'Scrap'.")


def _reversed(data_area: etree._Element) -> str:
    for criteria in children(children(data_area, "Cancel")[0], "ActionCriteria"):
        for expression in children(criteria, "ActionExpression"):
            found = CANCELLED_RE.fullmatch((expression.text or "").strip())
            if found:
                return found.group(1)
    target = CANCELLED.format("<BODID>")
    raise B2mmlInvalid(f"Cancel: no ActionCriteria/ActionExpression names the cancelled message ({target}).")
