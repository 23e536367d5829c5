"""Master data received from the ERP (materials, lots, containers) and the identity checks made by scan.

The ERP is the system of record for materials and lots with their QC status and expiry; the eBR keeps an audited copy.
A lot is usable only while its expiry date lies in the future: on the expiry date itself it is expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from ebr.domain.errors import InvalidInput

# Units of measure a material, container or order may be counted in (no conversion between them).
UNITS = frozenset({"kg", "g", "mg", "L", "mL", "pcs"})
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
MAX_NAME = 200
MAX_DIGITS = 15  # before the decimal point
MAX_PLACES = 6  # after it


class QcStatus(StrEnum):
    """The QC status the ERP assigns to a lot; only released material may be used."""

    QUARANTINE = "quarantine"
    RELEASED = "released"
    REJECTED = "rejected"
    BLOCKED = "blocked"


def check_code(value: str, what: str) -> str:
    """Codes, lot numbers and barcodes: 1-64 characters, a letter or digit first, then letters, digits, . _ / -."""
    if not CODE_RE.fullmatch(value):
        raise InvalidInput(
            f"{what}: 1-64 characters, a letter or digit first, then letters, digits, '.', '_', '/', '-'."
        )
    return value


def check_unit(unit: str) -> str:
    """A known unit of measure."""
    if unit not in UNITS:
        raise InvalidInput(f"Unknown unit {unit[:20]!r}: one of {', '.join(sorted(UNITS))}.")
    return unit


def parse_quantity(raw: str | Decimal, what: str = "Quantity") -> Decimal:
    """A positive decimal with at most 15 digits before and 6 after the point."""
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what}: {str(raw)[:40]!r} is not a number.") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput(f"{what} must be a positive number.")
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > MAX_PLACES or value.adjusted() + 1 > MAX_DIGITS:
        raise InvalidInput(f"{what}: at most {MAX_DIGITS} digits before and {MAX_PLACES} after the decimal point.")
    return value


def quantity_text(value: Decimal) -> str:
    """The canonical text of a quantity: 10.50 and 10.5 are the same quantity."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Material:
    """A material as defined in the ERP, counted in one unit."""

    code: str
    name: str
    unit: str

    def __post_init__(self) -> None:
        check_code(self.code, "Material code")
        check_unit(self.unit)
        if not self.name.strip() or len(self.name) > MAX_NAME or not self.name.isprintable():
            raise InvalidInput(f"Material name: 1-{MAX_NAME} printable characters.")


@dataclass(frozen=True)
class MaterialLot:
    """One lot of a material with its QC status and expiry date; the quantity is optional."""

    material_code: str
    lot_number: str
    qc_status: QcStatus
    expiry: date
    quantity: Decimal | None = None

    def __post_init__(self) -> None:
        check_code(self.material_code, "Material code")
        check_code(self.lot_number, "Lot number")
        if self.quantity is not None:
            parse_quantity(self.quantity)

    def expired_on(self, today: date) -> bool:
        """True from the expiry date on."""
        return today >= self.expiry


@dataclass(frozen=True)
class Container:
    """A labelled container holding part of one lot."""

    barcode: str
    material_code: str
    lot_number: str
    quantity: Decimal
    unit: str

    def __post_init__(self) -> None:
        check_code(self.barcode, "Barcode")
        check_code(self.material_code, "Material code")
        check_code(self.lot_number, "Lot number")
        parse_quantity(self.quantity)
        check_unit(self.unit)


@dataclass(frozen=True)
class IdentityResult:
    """The outcome of an identity check; a refusal always names its reason."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def check_lot(lot: MaterialLot, expected_material: str, today: date) -> IdentityResult:
    """Right material, released by QC, not expired."""
    if lot.material_code != expected_material:
        return IdentityResult(
            False, f"Wrong material: lot {lot.lot_number} is {lot.material_code}, the step needs {expected_material}."
        )
    if lot.qc_status is not QcStatus.RELEASED:
        return IdentityResult(False, f"Lot {lot.lot_number} is {lot.qc_status}: only released material may be used.")
    if lot.expired_on(today):
        return IdentityResult(False, f"Lot {lot.lot_number} expired on {lot.expiry.isoformat()}.")
    return IdentityResult(True, f"Lot {lot.lot_number} of {lot.material_code}: released, expires {lot.expiry}.")


def check_container(
    barcode: str, container: Container | None, lot: MaterialLot | None, expected_material: str, today: date
) -> IdentityResult:
    """A scanned barcode: a known container of a known lot that passes check_lot."""
    if container is None:
        return IdentityResult(False, f"Unknown barcode {barcode[:64]!r}: no such container.")
    if lot is None or (lot.material_code, lot.lot_number) != (container.material_code, container.lot_number):
        return IdentityResult(False, f"Container {container.barcode}: its lot {container.lot_number} is unknown.")
    result = check_lot(lot, expected_material, today)
    if not result:
        return IdentityResult(False, f"Container {container.barcode}: {result.reason}")
    return result
