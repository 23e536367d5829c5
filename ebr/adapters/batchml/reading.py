"""Small readers for validated B2MML: a child's text, a required field, a zoned time, a quantity with its unit.

Each refusal names where it happened (the element, its line) and what was expected, so the sender can fix the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.safe import B2mmlInvalid
from ebr.adapters.batchml.xml import NS
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import check_unit, parse_quantity

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def children(parent: etree._Element | None, tag: str) -> list[etree._Element]:
    """The direct children with this B2MML tag."""
    return [] if parent is None else list(parent.iterfind(f"{{{NS}}}{tag}"))


def child(parent: etree._Element | None, tag: str) -> etree._Element | None:
    """The first direct child with this B2MML tag, if any."""
    return None if parent is None else parent.find(f"{{{NS}}}{tag}")


def text(parent: etree._Element | None, tag: str) -> str | None:
    """The trimmed text of the first such child; None when it is missing or empty."""
    node = child(parent, tag)
    value = (node.text or "").strip() if node is not None else ""
    return value or None


def required(parent: etree._Element | None, tag: str, where: str) -> str:
    """The trimmed text of a child the eBR cannot do without."""
    value = text(parent, tag)
    if value is None:
        raise B2mmlInvalid(f"{where}: {tag} is missing.")
    return value


def value_of(parent: etree._Element, tag: str, wanted: str) -> str | None:
    """The ValueString of the first `tag` property whose ID is `wanted` (…Property/ID, …Property/Value/ValueString)."""
    for prop in children(parent, tag):
        if text(prop, "ID") == wanted:
            return text(child(prop, "Value"), "ValueString")
    return None


def moment(parent: etree._Element, tag: str, where: str) -> datetime | None:
    """An optional xsd:dateTime that must carry a zone (Z or ±hh:mm)."""
    raw = text(parent, tag)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise B2mmlInvalid(f"{where}: {tag} {raw[:40]!r} is not an ISO 8601 date and time.") from None
    if value.tzinfo is None:
        raise B2mmlInvalid(f"{where}: {tag} {raw[:40]!r} has no time zone; times must carry one (Z or +hh:mm).")
    return value


def day(raw: str | None, where: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    if raw is None:
        raise B2mmlInvalid(f"{where} is missing.")
    try:
        if not DATE_RE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise B2mmlInvalid(f"{where}: {raw[:40]!r} is not a date (YYYY-MM-DD).") from None


def quantity(parent: etree._Element, where: str, unit_required: bool = True) -> tuple[Decimal, str | None]:
    """The first Quantity child as (decimal, unit): QuantityString a positive decimal, UnitOfMeasure a known unit."""
    node = child(parent, "Quantity")
    if node is None:
        raise B2mmlInvalid(f"{where}: Quantity is missing.")
    raw = required(node, "QuantityString", f"{where}: Quantity")
    unit = text(node, "UnitOfMeasure")
    with located(f"{where}: Quantity"):
        value = parse_quantity(raw, "QuantityString")
        if unit is None and unit_required:
            raise InvalidInput("UnitOfMeasure is missing.")
        if unit is not None:
            check_unit(unit)
    return value, unit


@contextmanager
def located(where: str) -> Iterator[None]:
    """Turn a domain refusal into a B2mmlInvalid that says where in the message it happened."""
    try:
        yield
    except B2mmlInvalid:
        raise
    except InvalidInput as error:
        raise B2mmlInvalid(f"{where}: {error}") from None
