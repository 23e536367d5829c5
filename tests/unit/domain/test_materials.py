"""Pure master data rules: codes, units, quantities, and the identity checks a scan makes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ebr.domain.errors import InvalidInput
from ebr.domain.materials import (
    Container,
    Material,
    MaterialLot,
    QcStatus,
    check_container,
    check_lot,
    parse_quantity,
    quantity_text,
)

TODAY = date(2026, 11, 25)
API = "PARA-API"


def lot(status: QcStatus = QcStatus.RELEASED, expiry: date = date(2027, 6, 30), material: str = API) -> MaterialLot:
    return MaterialLot(material, "L-0001", status, expiry, Decimal("25"))


def container(barcode: str = "C-0001") -> Container:
    return Container(barcode, API, "L-0001", Decimal("5.5"), "kg")


def test_a_released_lot_of_the_right_material_within_expiry_passes() -> None:
    result = check_lot(lot(), API, TODAY)
    assert result.ok and bool(result)
    assert "released" in result.reason


def test_a_lot_of_another_material_is_refused_naming_both_materials() -> None:
    result = check_lot(lot(material="MCC-101"), API, TODAY)
    assert not result
    assert result.reason == "Wrong material: lot L-0001 is MCC-101, the step needs PARA-API."


@pytest.mark.parametrize("status", [QcStatus.QUARANTINE, QcStatus.REJECTED, QcStatus.BLOCKED])
def test_a_lot_that_is_not_released_is_refused_with_its_status(status: QcStatus) -> None:
    result = check_lot(lot(status), API, TODAY)
    assert not result
    assert result.reason == f"Lot L-0001 is {status}: only released material may be used."


def test_an_expired_lot_is_refused_with_its_expiry_date() -> None:
    result = check_lot(lot(expiry=date(2026, 11, 1)), API, TODAY)
    assert not result
    assert result.reason == "Lot L-0001 expired on 2026-11-01."


def test_a_lot_is_expired_on_its_expiry_date_and_usable_the_day_before() -> None:
    assert not check_lot(lot(expiry=TODAY), API, TODAY)
    assert check_lot(lot(expiry=TODAY), API, date(2026, 11, 24))


def test_the_wrong_material_is_reported_before_the_status() -> None:
    result = check_lot(lot(QcStatus.QUARANTINE, material="MCC-101"), API, TODAY)
    assert result.reason.startswith("Wrong material")


def test_an_unknown_barcode_is_refused_naming_the_barcode() -> None:
    result = check_container("NO-SUCH", None, None, API, TODAY)
    assert not result
    assert result.reason == "Unknown barcode 'NO-SUCH': no such container."


def test_a_container_passes_or_fails_with_its_lot() -> None:
    assert check_container("C-0001", container(), lot(), API, TODAY)
    refused = check_container("C-0001", container(), lot(QcStatus.QUARANTINE), API, TODAY)
    assert refused.reason == "Container C-0001: Lot L-0001 is quarantine: only released material may be used."
    missing = check_container("C-0001", container(), None, API, TODAY)
    assert missing.reason == "Container C-0001: its lot L-0001 is unknown."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "must be a positive number"),
        ("0", "must be a positive number"),
        ("abc", "is not a number"),
        ("NaN", "must be a positive number"),
        ("Infinity", "must be a positive number"),
        ("1.0000001", "at most 15 digits before and 6 after"),
        ("1" + "0" * 15, "at most 15 digits before and 6 after"),
    ],
)
def test_bad_quantities_are_refused(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_quantity(raw)


def test_quantities_have_one_canonical_text() -> None:
    assert parse_quantity(" 10.50 ") == Decimal("10.5")
    assert [quantity_text(Decimal(v)) for v in ("10.50", "100", "0.000001")] == ["10.5", "100", "0.000001"]


def test_materials_refuse_unknown_units_bad_codes_and_empty_names() -> None:
    assert Material("MCC-101", "Microcrystalline cellulose", "kg").unit == "kg"
    with pytest.raises(InvalidInput, match="Unknown unit 'lbs'"):
        Material("MCC-101", "Microcrystalline cellulose", "lbs")
    for code in ("", " MCC", "MCC 101", "-MCC", "M" * 65, "MCC\n"):
        with pytest.raises(InvalidInput, match="Material code"):
            Material(code, "Microcrystalline cellulose", "kg")
    with pytest.raises(InvalidInput, match="Material name"):
        Material("MCC-101", " ", "kg")


def test_lots_and_containers_validate_their_fields() -> None:
    with pytest.raises(InvalidInput, match="Lot number"):
        MaterialLot(API, "L 1", QcStatus.RELEASED, TODAY)
    with pytest.raises(InvalidInput, match="positive"):
        MaterialLot(API, "L-1", QcStatus.RELEASED, TODAY, Decimal("-2"))
    with pytest.raises(InvalidInput, match="Barcode"):
        Container("", API, "L-1", Decimal("1"), "kg")
    with pytest.raises(InvalidInput, match="positive"):
        Container("C-1", API, "L-1", Decimal("0"), "kg")
