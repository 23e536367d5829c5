"""Equipment instances (master data owned by the eBR) and the check made when one is scanned for use (SEQ-07).

An instance may be used only while it exists, is of the class the step needs, is in service, is clean with its cleaning
not expired, and neither its calibration nor its qualification has lapsed. Dates are inclusive of their last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ebr.domain.equipment import Endpoint
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import IdentityResult, check_code

MAX_TEXT = 200


@dataclass(frozen=True)
class EquipmentInstance:
    """One piece of equipment: its barcode (the id on its label), class, device endpoint and status."""

    code: str
    class_id: str
    description: str = ""
    location: str = ""
    endpoint: Endpoint | None = None  # None: no device to read (a blender, an IBC)
    in_service: bool = True
    clean: bool = False
    clean_until: datetime | None = None  # cleaning expires at this time
    calibration_due: date | None = None  # None: needs no calibration, unless the eBR reads it (it has an endpoint)
    qualified_until: date | None = None  # None: no periodic requalification

    def __post_init__(self) -> None:
        check_code(self.code, "Equipment id")
        for what, text in (("Description", self.description), ("Location", self.location)):
            if len(text) > MAX_TEXT or not text.isprintable():
                raise InvalidInput(f"{what}: at most {MAX_TEXT} printable characters.")
        if self.clean_until is not None and self.clean_until.tzinfo is None:
            raise InvalidInput("The cleaning expiry needs its time zone (TIME-01).")


def check_instance(
    barcode: str, instance: EquipmentInstance | None, expected_class: str, now: datetime
) -> IdentityResult:
    """Exists, right class, in service, clean and not expired, calibrated and qualified: the first failure names why."""
    if instance is None:
        return IdentityResult(False, f"Unknown equipment {barcode[:64]!r}: no such instance is registered.")
    refusal = next((reason for failed, reason in _refusals(instance, expected_class, now) if failed), None)
    if refusal is not None:
        return IdentityResult(False, refusal)
    return IdentityResult(True, f"{instance.code} ({instance.class_id}): {status_text(instance)}.")


def _refusals(instance: EquipmentInstance, expected_class: str, now: datetime) -> list[tuple[bool, str]]:
    """Each rule of SEQ-07 as (broken?, reason), in the order an operator would fix them."""
    code, today = instance.code, now.date()
    due, qualified, until = instance.calibration_due, instance.qualified_until, instance.clean_until
    return [
        (
            bool(expected_class) and instance.class_id != expected_class,
            f"Wrong equipment: {code} is a {instance.class_id}, the step needs a {expected_class}.",
        ),
        (not instance.in_service, f"{code} is out of service."),
        (not instance.clean, f"{code} is not clean: record its cleaning first."),
        (until is not None and now >= until, f"{code}: its cleaning expired at {until.isoformat() if until else ''}."),
        (
            due is None and instance.endpoint is not None,
            f"{code} has never been calibrated: a device the eBR reads must be.",
        ),
        (due is not None and today > due, f"{code}: calibration overdue since {due.isoformat() if due else ''}."),
        (
            qualified is not None and today > qualified,
            f"{code}: qualification lapsed on {qualified.isoformat() if qualified else ''}.",
        ),
    ]


def status_text(instance: EquipmentInstance) -> str:
    """The status recorded with every use and every captured value (DEV-01: status at the time)."""
    parts = ["in service" if instance.in_service else "out of service"]
    if instance.clean and instance.clean_until is not None:
        parts.append(f"clean until {instance.clean_until.isoformat()}")
    else:
        parts.append("clean" if instance.clean else "not clean")
    if instance.calibration_due is not None:
        parts.append(f"calibration due {instance.calibration_due.isoformat()}")
    if instance.qualified_until is not None:
        parts.append(f"qualified until {instance.qualified_until.isoformat()}")
    return ", ".join(parts)
