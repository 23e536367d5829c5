"""Device identification of a device batch: quantities made and approved, and the UDI (ISO 13485 7.5.1, 7.5.8;
QMSR 820.35(c); the former 820.184(b), (c), (f)).

A UDI is the device identifier (UDI-DI, fixed per device model) plus the production identifiers (UDI-PI: lot,
serial number, expiry). A GS1 device identifier is a GTIN whose last digit is a check digit; the other issuing
agencies (HIBCC, ICCBBA) use their own alphanumeric formats, so only the GS1 form is checked digit by digit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from ebr.domain.errors import InvalidInput

GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_PRINTABLE = re.compile(r"[!-~]{1,64}")  # no spaces: a DI or PI is printed and scanned as one token
ITEMS = {
    "quantity_manufactured": "quantity manufactured",
    "quantity_approved": "quantity approved for distribution",
    "udi_di": "UDI device identifier (UDI-DI)",
    "lot": "lot number (UDI-PI)",
    "serial": "serial number or range (UDI-PI)",
    "expiry": "expiry date (UDI-PI)",
}


@dataclass(frozen=True)
class DeviceIdentification:
    """What a device batch's record holds about the units it made, each item as text (empty when missing)."""

    quantity_manufactured: str
    quantity_approved: str
    unit: str
    udi_di: str
    lot: str
    serial: str
    expiry: str

    def missing(self, serial_required: bool) -> list[str]:
        """The items not recorded, named for a reader; the serial only where the procedure asks for one."""
        names = [name for name in ITEMS if name != "serial" or serial_required]
        return [ITEMS[name] for name in names if not str(getattr(self, name)).strip()]

    def problems(self, made: date, serial_required: bool) -> list[str]:
        """Every missing or invalid item, each named: what keeps the step from being signed and the batch from
        being released."""
        missing = self.missing(serial_required)
        if missing:
            return [f"{item} is not recorded" for item in missing]
        checks: list[Callable[[], object]] = [
            lambda: check_quantities(self.quantity_manufactured, self.quantity_approved),
            lambda: check_udi_di(self.udi_di),
            lambda: check_production_identifier("lot", self.lot),
            lambda: check_expiry(self.expiry, made),
        ]
        if self.serial.strip():
            checks.append(lambda: check_production_identifier("serial", self.serial))
        found = []
        for check in checks:
            try:
                check()
            except InvalidInput as exc:
                found.append(str(exc).rstrip("."))
        return found

    def human_readable(self) -> str:
        """The UDI as printed under its barcode: GS1 application identifiers for a GTIN, else the items joined."""
        if self.udi_di.isdigit() and len(self.udi_di) in GTIN_LENGTHS:
            parts = [f"(01){self.udi_di.zfill(14)}"]
            parts.append(f"(17){_yymmdd(self.expiry)}" if self.expiry else "")
            parts.append(f"(10){self.lot}" if self.lot else "")
            parts.append(f"(21){self.serial}" if self.serial else "")
            return "".join(parts)
        return " ".join(part for part in (self.udi_di, self.lot, self.serial, self.expiry) if part)


def _yymmdd(expiry: str) -> str:
    try:
        return date.fromisoformat(expiry).strftime("%y%m%d")
    except ValueError:
        return expiry  # printed as recorded; release names it as invalid


def gs1_check_digit_ok(digits: str) -> bool:
    """The GS1 mod-10 check: weights 3 and 1 from the right, the last digit making the sum a multiple of 10."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def check_udi_di(text: str) -> str:
    """A device identifier as issued: one printable token; a GS1 GTIN with a correct check digit."""
    value = text.strip()
    if not _PRINTABLE.fullmatch(value):
        raise InvalidInput(f"UDI-DI {value[:70]!r}: one token of at most 64 printable characters, no spaces.")
    if value.isdigit():
        if len(value) not in GTIN_LENGTHS:
            raise InvalidInput(f"UDI-DI {value}: a GS1 GTIN has 8, 12, 13 or 14 digits, not {len(value)}.")
        if not gs1_check_digit_ok(value):
            raise InvalidInput(f"UDI-DI {value}: the GS1 check digit is wrong (a typing or scanning error).")
    return value


def check_production_identifier(name: str, text: str) -> str:
    """A lot or serial number as printed on the label: one printable token."""
    value = text.strip()
    if not _PRINTABLE.fullmatch(value):
        raise InvalidInput(f"{ITEMS[name]} {value[:70]!r}: one token of at most 64 printable characters.")
    return value


def check_expiry(text: str, made: date) -> date:
    """The expiry as an ISO date (YYYY-MM-DD) after the day the batch is completed."""
    try:
        expiry = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"Expiry {text.strip()[:30]!r} is not a date (YYYY-MM-DD).") from None
    if expiry <= made:
        raise InvalidInput(f"Expiry {expiry.isoformat()} must be after the day of manufacture {made.isoformat()}.")
    return expiry


def check_quantities(manufactured: str, approved: str) -> tuple[Decimal, Decimal]:
    """Quantities made and approved: exact numbers, not negative, no more approved than made."""
    try:
        made, passed = Decimal(manufactured), Decimal(approved)
    except InvalidOperation:
        raise InvalidInput("The device quantities must be numbers.") from None
    if not made.is_finite() or not passed.is_finite() or made < 0 or passed < 0:
        raise InvalidInput("The device quantities must be numbers of at least 0.")
    if passed > made:
        raise InvalidInput(f"Quantity approved for distribution {passed} exceeds the quantity manufactured {made}.")
    return made, passed
