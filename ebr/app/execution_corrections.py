"""One value entered or corrected: validated against its field, checked against its limits, stored as a new row.

The original is never overwritten (AUD-04): a change before signing is a new row superseding the old one; after
signing it is a signed correction with a reason (11.10(e)), marked so review and the PDF show both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ebr.app.context import AuditContext
from ebr.app.deviations import open_in
from ebr.app.execution_context import COMPLETED, PERFORMED, StepContext, current_values, stored_text
from ebr.app.execution_results import open_out_of_limit, rerecord_yield, terminal_of
from ebr.app.paper_forms import check_transcription
from ebr.app.ports import StoredDeviation, StoredSignature, StoredValue, UnitOfWork
from ebr.app.scans import check_field_scan
from ebr.domain.batch import BatchStatus
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.records import NUMERIC_TYPES, LimitCheck, Source, evaluate_limits, validate_value
from ebr.domain.steps import FieldDefinition


class OutOfLimit(Conflict):
    """The value is outside its limits: it is stored only once the person confirms it (SEQ-09)."""

    def __init__(self, field: FieldDefinition, value: object, check: LimitCheck) -> None:
        """Keep what the page shows: the field, the value and the limit."""
        self.field_id, self.limit = field.id, check.limit
        super().__init__(
            f"{field.label} = {value} {field.unit} is outside {check.limit} ({check.reason}). "
            "Confirm to record it: a deviation will be opened."
        )


@dataclass(frozen=True)
class Entry:
    """What a person submitted for one field."""

    field_id: str
    text: str
    unit: str = ""
    confirmed: bool = False  # an out-of-limit value is confirmed
    repeat: str | None = None  # the second entry of a double-entry field
    override_reason: str = ""  # typing over a device-bound field (DEV-03)
    change_reason: str = ""
    paper_form: str = ""  # transcribed after an outage from this issued paper form (OPS-02)
    transcribed: bool = False


def _unit(field: FieldDefinition, entry: Entry) -> str:
    """The unit stored: the one checked against a numeric field, else the field's own, never the client's."""
    return (entry.unit or field.unit) if field.type in NUMERIC_TYPES else field.unit


def typed_value(field: FieldDefinition, entry: Entry) -> tuple[object, LimitCheck]:
    """The value, or a refusal naming the broken rule; a double-entry mismatch is refused (DEV-04)."""
    value = validate_value(field, entry.text, entry.unit or field.unit)
    if field.double_entry and entry.repeat is not None and entry.repeat.strip() != entry.text.strip():
        raise InvalidInput(f"{field.label}: the two entries differ; enter the value again.")
    if field.source is not None and not entry.override_reason.strip():
        raise InvalidInput(f"{field.label} is captured from a device: typing over it needs a reason (DEV-03).")
    if value is not None and field.type in NUMERIC_TYPES:
        return value, evaluate_limits(field, value)  # type: ignore[arg-type]  # numeric types parse to Decimal
    return value, LimitCheck(True)


def _deviations(
    uow: UnitOfWork,
    context: StepContext,
    field: FieldDefinition,
    value: object,
    check: LimitCheck,
    entry: Entry,
    by: int,
    ctx: AuditContext,
) -> StoredDeviation | None:
    """An out-of-limit value or a manual override of a device field opens a deviation (QA-01)."""
    found = None
    if field.source is not None:
        found = open_in(
            uow,
            context.batch,
            context.record.id,
            DeviationKind.MANUAL_OVERRIDE,
            Severity.MINOR,
            f"{field.label} typed over its device reading: {entry.override_reason.strip()}",
            "",
            ctx.at,
            by,
            field.id,
        )
    if not check.within:
        found = open_out_of_limit(uow, context, field, value, check, ctx.at, by)
    return found


def store(
    uow: UnitOfWork,
    context: StepContext,
    entry: Entry,
    by: int,
    ctx: AuditContext,
    late: bool,
    signature: StoredSignature | None = None,
) -> StoredValue:
    """Validate, check limits, open what must be opened and add the value as a new row."""
    field = context.field(entry.field_id)
    value, check = typed_value(field, entry)
    paper_form = check_transcription(uow, context, entry.paper_form) if entry.transcribed else ""
    if (
        field.type == "attachment"
        and value is not None
        and not uow.attachments.find(context.record.id, field.id, str(value))
    ):
        raise InvalidInput(f"{field.label}: upload the file; no file with that SHA-256 is attached to this step.")
    if not check.within and not entry.confirmed and signature is None:
        raise OutOfLimit(field, value, check)
    previous = uow.step_values.current(context.record.id, field.id)
    confirms = field.double_entry and entry.repeat is not None and not (previous and previous.double_checked)
    if signature is None and previous is not None and previous.value == stored_text(value) and not confirms:
        return previous  # the same value again: nothing changed, nothing to record
    deviation = _deviations(uow, context, field, value, check, entry, by, ctx)
    if field.type == "barcode" and field.check and value is not None:
        deviation = check_field_scan(uow, context, field, str(value), by, ctx) or deviation
    return uow.step_values.add(
        StoredValue(
            0,
            context.batch.id,
            context.record.id,
            field.id,
            stored_text(value),
            _unit(field, entry),
            str(Source.TYPED),
            ctx.at,
            by,
            terminal_of(ctx.request),
            override_reason=entry.override_reason.strip(),
            late=late,
            within_limits=check.within if field.limit is not None else None,
            limit_text=check.limit,
            double_checked=field.double_entry and entry.repeat is not None,
            supersedes_id=previous.id if previous else None,
            change_reason=entry.change_reason.strip(),
            after_signing=signature is not None,
            signature_id=signature.id if signature else None,
            deviation_id=deviation.id if deviation else None,
            paper_form=paper_form,
        )
    )


def correct(
    uow: UnitOfWork,
    context: StepContext,
    params: Mapping[str, str],
    reason: str,
    signature: StoredSignature,
    ctx: AuditContext,
) -> StoredValue:
    """A signed correction of a signed step's value, with its reason; the original stays visible."""
    if context.batch.batch.status not in (BatchStatus.IN_PROGRESS, BatchStatus.HELD, BatchStatus.COMPLETED):
        raise Conflict(f"Batch {context.batch.batch.id} is {context.batch.batch.status}: its record is closed.")
    if context.record.status not in (PERFORMED, COMPLETED):
        raise Conflict(f"Step {context.step.name!r} is not signed: change the value on the step itself.")
    field_id = params.get("field", "")
    if field_id not in current_values(uow.step_values.for_step(context.record.id)):
        raise InvalidInput(f"Step {context.step.name!r} has no recorded value of {field_id!r} to correct.")
    # A device value corrected by hand is a manual override; the signed correction's reason is its reason (DEV-03).
    typed_over = reason if context.field(field_id).source is not None else ""
    entry = Entry(
        field_id,
        params.get("value", ""),
        params.get("unit", ""),
        True,
        override_reason=typed_over,
        change_reason=reason,
    )
    stored = store(uow, context, entry, signature.signer_id, ctx, False, signature)
    rerecord_yield(uow, context, field_id, signature.signer_id, ctx.at)
    return stored
