"""What a step records: captured values with their source, corrections, limit checks, late entries and hold times."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NoReturn

from ebr.domain.audit import to_utc_text
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.steps import FieldDefinition

FieldValue = Decimal | str | bool | datetime


class Source(StrEnum):
    """Where a value came from (ALCOA attributable and original; DEV-01, DEV-03)."""

    TYPED = "typed"
    DEVICE = "device"
    CALCULATED = "calculated"


def _aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"The {what} must carry its time zone (TIME-01).")


@dataclass(frozen=True)
class CapturedValue:
    """One value as entered: who, when, on which terminal, and for device reads the raw value and read time."""

    field_id: str
    value: FieldValue | None
    unit: str
    source: Source
    captured_at: datetime
    captured_by: int
    terminal: str
    raw: str = ""
    device_time: datetime | None = None
    override_reason: str = ""
    late: bool = False

    def __post_init__(self) -> None:
        """Refuse a value without its terminal, zone or device metadata (DEV-01, DEV-05, TIME-01)."""
        _aware(self.captured_at, "capture time")
        if not self.terminal.strip():
            raise InvalidInput("Every entry records the terminal it came from (11.10(h)).")
        if self.source is Source.DEVICE and (not self.raw or self.device_time is None):
            raise InvalidInput("A device value needs its raw value and the device's read time (DEV-01).")
        if self.device_time is not None:
            _aware(self.device_time, "device read time")


def check_override(field: FieldDefinition, source: Source, reason: str) -> None:
    """Typing over a device-bound field is an explicit manual override with a reason (DEV-03)."""
    if field.source is not None and source is Source.TYPED and not reason.strip():
        raise InvalidInput(f"{field.label} is captured from a device: typing over it needs a reason.")


@dataclass(frozen=True)
class Correction:
    """A change to a recorded value; the original stays visible (11.10(e) 'shall not obscure')."""

    field_id: str
    before: CapturedValue
    after: CapturedValue
    reason: str
    at: datetime
    by: int
    after_signing: bool


@dataclass(frozen=True)
class StepRecord:
    """The record of one step of one batch: every value ever captured and every correction, in order."""

    batch_id: str
    step_id: str
    activated_at: datetime
    values: tuple[CapturedValue, ...] = ()
    corrections: tuple[Correction, ...] = ()
    signed_at: datetime | None = None

    def current(self, field_id: str) -> CapturedValue | None:
        """The value in force for a field: the latest captured."""
        return next((v for v in reversed(self.values) if v.field_id == field_id), None)

    def history(self, field_id: str) -> tuple[CapturedValue, ...]:
        """Every value the field has held, the original first."""
        return tuple(v for v in self.values if v.field_id == field_id)

    def capture(self, value: CapturedValue) -> StepRecord:
        """Record a first value; changing an existing one goes through correct."""
        if self.signed_at is not None:
            raise Conflict(f"Step {self.step_id} is signed: change a value only by a signed correction.")
        if self.current(value.field_id) is not None:
            raise Conflict(f"{value.field_id} already has a value: correct it instead.")
        return replace(self, values=(*self.values, value))

    def sign(self, at: datetime) -> StepRecord:
        """Mark the step signed; later changes need a signed correction with a reason (SIG-03)."""
        _aware(at, "signing time")
        return replace(self, signed_at=at)

    def correct(self, new: CapturedValue, reason: str, at: datetime, by: int) -> tuple[StepRecord, Correction]:
        """Correct a value, keeping the original; after signing a reason is required and the signature lapses."""
        old = self.current(new.field_id)
        if old is None:
            raise InvalidInput(f"{new.field_id} has no value to correct.")
        _aware(at, "correction time")
        after_signing = self.signed_at is not None
        if after_signing and not reason.strip():
            raise InvalidInput("A correction after signing needs a reason (11.10(e), SIG-03).")
        correction = Correction(new.field_id, old, new, reason.strip(), at, by, after_signing)
        record = replace(self, values=(*self.values, new), corrections=(*self.corrections, correction), signed_at=None)
        return record, correction


_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
NUMERIC_TYPES = frozenset({"number", "quantity", "reading"})


def _number(field: FieldDefinition, text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise InvalidInput(f"{field.label}: {text!r} is not a number.")
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if field.precision is not None and places > field.precision:
        raise InvalidInput(f"{field.label}: at most {field.precision} decimal places, got {text}.")
    return value


def _text(field: FieldDefinition, text: str) -> str:
    return text


def _choice(field: FieldDefinition, text: str) -> str:
    if text not in field.choices:
        raise InvalidInput(f"{field.label}: {text!r} is not one of {', '.join(field.choices)}.")
    return text


def _boolean(field: FieldDefinition, text: str) -> bool:
    if text.lower() not in _BOOLEANS:
        raise InvalidInput(f"{field.label}: answer yes or no.")
    return _BOOLEANS[text.lower()]


def _moment(field: FieldDefinition, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field.label}: {text!r} is not an ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field.label}: the time needs its zone, e.g. Z or +01:00 (TIME-01).")
    return moment


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _attachment(field: FieldDefinition, text: str) -> str:
    # The value of an attachment field is the SHA-256 of the uploaded file, so the step's signature covers it.
    if not _SHA256.fullmatch(text):
        raise InvalidInput(f"{field.label}: upload the file; the value is its SHA-256.")
    return text


def _calculated(field: FieldDefinition, text: str) -> NoReturn:
    raise InvalidInput(f"{field.label} is calculated on the server and cannot be entered (SEQ-10).")


_PARSERS: dict[str, Callable[[FieldDefinition, str], FieldValue]] = {
    "number": _number,
    "quantity": _number,
    "reading": _number,
    "text": _text,
    "barcode": _text,
    "choice": _choice,
    "boolean": _boolean,
    "datetime": _moment,
    "calculated": _calculated,
    "attachment": _attachment,
}


def _check_unit(field: FieldDefinition, unit: str) -> None:
    if field.type in NUMERIC_TYPES and unit != field.unit:
        expected = repr(field.unit) if field.unit else "no unit"
        raise InvalidInput(f"{field.label}: wrong unit {unit!r}, expected {expected}.")


def validate_value(field: FieldDefinition, submitted: str | None, unit: str = "") -> FieldValue | None:
    """The typed value of a submission, or a refusal naming the broken rule (type, unit, precision, choice)."""
    text = (submitted or "").strip()
    if field.type == "calculated":
        _calculated(field, text)
    if not text:
        if field.required:
            raise InvalidInput(f"{field.label} is required.")
        return None
    _check_unit(field, unit.strip())
    parser = _PARSERS.get(field.type)
    if parser is None:
        raise InvalidInput(f"{field.label}: unknown field type {field.type!r}.")
    return parser(field, text)


@dataclass(frozen=True)
class LimitCheck:
    """A value against its field's limits; out of limit needs confirmation and opens a deviation (SEQ-09)."""

    within: bool
    reason: str = ""
    limit: str = ""

    @property
    def needs_confirmation(self) -> bool:
        """An out-of-limit value is never accepted silently."""
        return not self.within

    @property
    def opens_deviation(self) -> bool:
        """An out-of-limit value takes the deviation path (QA-01)."""
        return not self.within


def evaluate_limits(field: FieldDefinition, value: Decimal) -> LimitCheck:
    """Check a numeric value against the field's limit with its unit (21 CFR 211.100(b); SEQ-09)."""
    if field.limit is None:
        return LimitCheck(True)
    result = field.limit.evaluate(value)
    return LimitCheck(result.within, result.reason, field.limit.describe())


def is_late_entry(activated_at: datetime, entered_at: datetime, window: timedelta) -> bool:
    """Whether an entry came later than the window after the step became active; exactly at it is on time (TIME-03)."""
    _aware(activated_at, "activation time")
    _aware(entered_at, "entry time")
    if window < timedelta(0):
        raise InvalidInput("The late-entry window cannot be negative.")
    if entered_at < activated_at:
        raise InvalidInput("An entry cannot precede the activation of its step.")
    return entered_at - activated_at > window


_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d{1,6})?)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (PT30M, PT4H, P1DT2H)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        if re.match(r"P[^T]*\d[YM]", text.strip()):
            raise InvalidInput(f"Duration {text!r}: years and months have no fixed length; use days.")
        raise InvalidInput(f"{text!r} is not an ISO 8601 duration such as PT30M, PT4H or P1DT2H.")
    parts = {name: number or "0" for name, number in match.groupdict().items()}
    seconds = Decimal(parts["seconds"].replace(",", "."))
    try:
        return timedelta(
            weeks=int(parts["weeks"]),
            days=int(parts["days"]),
            hours=int(parts["hours"]),
            minutes=int(parts["minutes"]),
            microseconds=int(seconds * 1_000_000),
        )
    except OverflowError:
        raise InvalidInput(f"Duration {text!r} is too long.") from None


class HoldStatus(StrEnum):
    """Where the time since the previous step stands against its hold window."""

    TOO_EARLY = "too_early"
    OK = "ok"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class HoldCheck:
    """The hold window of a step and where now stands in it; overdue opens a deviation."""

    status: HoldStatus
    earliest: datetime | None
    latest: datetime | None

    @property
    def opens_deviation(self) -> bool:
        """A hold time exceeded is an investigation (21 CFR 211.111, 211.192)."""
        return self.status is HoldStatus.OVERDUE


class HoldNotElapsed(Conflict):
    """The minimum hold time after the previous step has not passed yet."""


def hold_status(now: datetime, completed_at: datetime, hold_min: str, hold_max: str) -> HoldCheck:
    """Compare now with the window [completed + min, completed + max]; both edges are inclusive (211.111)."""
    _aware(now, "current time")
    _aware(completed_at, "completion time")
    if now < completed_at:
        raise InvalidInput("The current time precedes the completion of the previous step: check the clock.")
    earliest = completed_at + parse_duration(hold_min) if hold_min.strip() else None
    latest = completed_at + parse_duration(hold_max) if hold_max.strip() else None
    if earliest is not None and latest is not None and earliest > latest:
        raise InvalidInput(f"The minimum hold {hold_min} is longer than the maximum hold {hold_max}.")
    if earliest is not None and now < earliest:
        return HoldCheck(HoldStatus.TOO_EARLY, earliest, latest)
    if latest is not None and now > latest:
        return HoldCheck(HoldStatus.OVERDUE, earliest, latest)
    return HoldCheck(HoldStatus.OK, earliest, latest)


def check_hold(now: datetime, completed_at: datetime, hold_min: str, hold_max: str) -> HoldCheck:
    """Refuse to proceed before the minimum hold, naming when it may; otherwise ok or overdue (211.111)."""
    check = hold_status(now, completed_at, hold_min, hold_max)
    if check.status is HoldStatus.TOO_EARLY:
        assert check.earliest is not None
        when = to_utc_text(check.earliest)
        raise HoldNotElapsed(f"The minimum hold of {hold_min} has not elapsed: proceed at {when}.")
    return check
