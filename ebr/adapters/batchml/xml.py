"""Small lxml helpers shared by the BatchML builders: one namespace, elements in schema order, nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

NS = "http://www.mesa.org/xml/B2MML"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
Record = Mapping[str, Any]
# Characters XML 1.0 cannot carry at all; the JSON record keeps them exactly, the XML names them as \uXXXX.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text an XML document can hold."""
    return NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))


def element(tag: str) -> etree._Element:
    """A root element in the B2MML namespace."""
    return etree.Element(f"{{{NS}}}{tag}", nsmap={None: NS, "xsi": XSI})


def add(parent: etree._Element, tag: str, text: object = None, **attributes: str) -> etree._Element:
    """A child element; text is written as given (the record already holds text, UTC times and decimals)."""
    child = etree.SubElement(parent, f"{{{NS}}}{tag}", {k: xml_text(v) for k, v in attributes.items() if v})
    if text is not None:
        child.text = xml_text(text)
    return child


def add_nillable(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """A required but nillable element: nil when there is nothing to say (e.g. a unitless value)."""
    child = add(parent, tag, text or None)
    if not text:
        child.set(f"{{{XSI}}}nil", "true")
    return child


def add_value(parent: etree._Element, tag: str, text: object, unit: str = "", key: str = "") -> etree._Element:
    """A B2MML ValueType: the value as text, its data type, unit and key."""
    value = add(parent, tag)
    add(value, "ValueString", "" if text is None else text)
    add(value, "DataType", "string")
    if unit:
        add(value, "UnitOfMeasure", unit)
    if key:
        add(value, "Key", key)
    return value


def add_entry(parent: etree._Element, tag: str, entry_id: str, object_type: str, at: object = None) -> etree._Element:
    """A record entry (BatchProductionRecordEntryType): entry id, object type, time stamp."""
    node = add(parent, tag)
    add(node, "EntryID", entry_id)
    known = object_type in OBJECT_TYPES
    add(node, "ObjectType", object_type if known else "Other", OtherValue="" if known else object_type)
    if at is not None:
        add(node, "TimeStamp", at)
    return node


OBJECT_TYPES = frozenset(
    {
        "Batch Production Record",
        "Change",
        "Comment",
        "Control Recipe",
        "Data Set",
        "Event",
        "Master Recipe",
        "Personnel Identification Manifest",
        "Resource Definition Manifest",
        "Recipe Element",
        "Sample",
        "Work Performance",
    }
)


def items(record: Record, key: str) -> Iterable[Record]:
    """A list section of the record."""
    found = record.get(key) or []
    assert isinstance(found, list)
    return found


def name_of(person: Record | None) -> str:
    """A person as BatchML names them: printed name and username."""
    if not person:
        return ""
    return f"{person.get('name', '')} ({person.get('username', '')})".strip()
