"""Pure ERP boundary rules: the posting key, what a posting and an inbound order accept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ebr.domain.erp import (
    BomLine,
    InboundOrder,
    MaterialLine,
    MaterialUse,
    PerformanceState,
    Posting,
    PostingKind,
    posting_key,
)
from ebr.domain.errors import InvalidInput

WHEN = datetime(2026, 12, 15, 14, 30, tzinfo=UTC)


def posting(**change: object) -> Posting:
    fields: dict[str, object] = {
        "kind": PostingKind.COMPLETION,
        "site": "SITE-A",
        "batch_id": "B-1",
        "order_number": "PO-1",
        "revision": 1,
        "created_at": WHEN,
        "procedure": "granulation@3",
        "state": PerformanceState.COMPLETED,
    }
    return Posting(**{**fields, **change})  # type: ignore[arg-type]  # keyword fields checked by the class


def order(**change: object) -> InboundOrder:
    fields: dict[str, object] = {
        "order_number": "PO-1003",
        "product_code": "PARA-500",
        "planned_quantity": Decimal("60"),
        "unit": "kg",
        "batch_id": "B-PARA-0002",
        "planned_start": datetime(2026, 12, 21, 5, tzinfo=UTC),
        "planned_end": datetime(2026, 12, 21, 17, tzinfo=UTC),
    }
    return InboundOrder(**{**fields, **change})  # type: ignore[arg-type]  # keyword fields checked by the class


def test_the_posting_key_is_deterministic_and_the_posting_carries_it() -> None:
    key = posting_key("SITE-A", "B-1", PostingKind.COMPLETION, 1)
    assert key == posting_key("SITE-A", "B-1", PostingKind.COMPLETION, 1)
    # Pinned: every installation replaying the same history must derive the same key (a fixed UUID5 namespace).
    assert key == "7731c222-90c7-58ab-b08e-d8bc2288ff8a" and uuid.UUID(key).version == 5
    assert posting().key == key == posting(created_at=datetime(2027, 1, 1, tzinfo=UTC)).key  # the event, not the time


@pytest.mark.parametrize(
    "other",
    [
        ("SITE-B", "B-1", PostingKind.COMPLETION, 1),
        ("SITE-A", "B-2", PostingKind.COMPLETION, 1),
        ("SITE-A", "B-1", PostingKind.USAGE_DECISION, 1),
        ("SITE-A", "B-1", PostingKind.COMPLETION, 2),
    ],
)
def test_the_posting_key_differs_per_site_batch_kind_and_revision(other: tuple[str, str, PostingKind, int]) -> None:
    assert posting_key(*other) != posting_key("SITE-A", "B-1", PostingKind.COMPLETION, 1)


@pytest.mark.parametrize("revision", [0, -1])
def test_a_revision_below_one_is_refused(revision: int) -> None:
    with pytest.raises(InvalidInput, match="A posting revision starts at 1"):
        posting_key("SITE-A", "B-1", PostingKind.COMPLETION, revision)
    with pytest.raises(InvalidInput, match="starts at 1"):
        posting(revision=revision)


def test_a_posting_time_without_a_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must carry a zone"):
        posting(created_at=datetime(2026, 12, 15, 14, 30))


def test_a_reversal_and_only_a_reversal_names_what_it_reverses() -> None:
    with pytest.raises(InvalidInput, match="only a reversal, names the posting it cancels"):
        posting(kind=PostingKind.REVERSAL)
    with pytest.raises(InvalidInput, match="only a reversal, names the posting it cancels"):
        posting(reverses=posting().key)
    reversal = posting(kind=PostingKind.REVERSAL, reverses=posting().key)
    assert reversal.key != posting().key and reversal.performance_id == "B-1-reversal-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"material_code": "PARA API"}, "Material code"),
        ({"lot": ""}, "Lot"),
        ({"quantity": Decimal("0")}, "must be a positive number"),
        ({"quantity": Decimal("1.0000001")}, "at most 15 digits before and 6 after"),
        ({"unit": "tons"}, "Unknown unit 'tons'"),
    ],
)
def test_a_bad_material_line_is_refused(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "use": MaterialUse.CONSUMED,
        "material_code": "PARA-API",
        "lot": "PA-24001",
        "quantity": Decimal("25"),
        "unit": "kg",
    }
    with pytest.raises(InvalidInput, match=message):
        MaterialLine(**{**fields, **change})  # type: ignore[arg-type]


def test_a_good_inbound_order_keeps_its_fields() -> None:
    bom = (BomLine("PARA-API", Decimal("30"), "kg"),)
    assert order(bom=bom).bom == bom and order().planned_quantity == Decimal("60")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_number": "PO 1003"}, "Order number"),
        ({"product_code": ""}, "Product code"),
        ({"batch_id": "-B"}, "Batch id"),
        ({"planned_quantity": Decimal("-1")}, "Planned quantity must be a positive number"),
        ({"unit": "kgs"}, "Unknown unit 'kgs'"),
        ({"planned_start": datetime(2026, 12, 21, 5)}, "Order dates must carry a zone"),
        ({"planned_end": datetime(2026, 12, 21, 4, tzinfo=UTC)}, "The planned end is before the planned start"),
    ],
)
def test_a_bad_inbound_order_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        order(**change)


@pytest.mark.parametrize(
    ("code", "quantity", "unit", "message"),
    [
        ("MCC 101", Decimal("1"), "kg", "BOM material code"),
        ("MCC-101", Decimal("0"), "kg", "BOM quantity of MCC-101 must be a positive number"),
        ("MCC-101", Decimal("1"), "lb", "Unknown unit 'lb'"),
    ],
)
def test_a_bad_bom_line_is_refused(code: str, quantity: Decimal, unit: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        BomLine(code, quantity, unit)
