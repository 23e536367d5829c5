"""One value as the page submits it (form or JSON), checked against the step's form, then saved at once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ebr.app.execution_corrections import Entry
from ebr.app.ports import StoredValue
from ebr.domain.errors import InvalidInput
from ebr.domain.steps import FieldDefinition
from ebr.web.principal import actor, info, services

MAX_TEXT = 2000
MAX_UNIT = 32  # the stored unit is VARCHAR(32)
MAX_REASON = 500
MAX_FORM_NUMBER = 32  # a paper form's printed number (OPS-02)


def _string(data: dict[str, Any], key: str, limit: int, nullable: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        return None if nullable else ""
    if not isinstance(value, str):
        raise InvalidInput(f"{key!r} must be text{' or null' if nullable else ''}.")
    if len(value) > limit:
        raise InvalidInput(f"{key!r} has at most {limit} characters.")
    return value


def entry_from_json(data: object) -> Entry:
    """The JSON body {field, value, unit, confirmed, repeat, override_reason, change_reason} as an Entry."""
    if not isinstance(data, dict):
        raise InvalidInput('Send a JSON object: {"field": "...", "value": "..."}.')
    field = _string(data, "field", 100)
    if not field:
        raise InvalidInput("Name the field.")
    confirmed = data.get("confirmed", False)
    if not isinstance(confirmed, bool):
        raise InvalidInput("'confirmed' must be true or false.")
    return Entry(
        field,
        _string(data, "value", MAX_TEXT, nullable=True) or "",
        _string(data, "unit", MAX_UNIT) or "",
        confirmed,
        _string(data, "repeat", MAX_TEXT, nullable=True),
        _string(data, "override_reason", MAX_REASON) or "",
        _string(data, "change_reason", MAX_REASON) or "",
        paper_form=_string(data, "paper_form", MAX_FORM_NUMBER) or "",
        transcribed=_transcribed(data),
    )


def _transcribed(data: dict[str, Any]) -> bool:
    transcribed = data.get("transcribed", False)
    if not isinstance(transcribed, bool):
        raise InvalidInput("'transcribed' must be true or false.")
    return transcribed


def save(batch_id: str, step_pk: int, entry: Entry) -> tuple[FieldDefinition, StoredValue]:
    """Check the entry against the step's form, then save it at once (TIME-03)."""
    field = services().execution.field(batch_id, step_pk, entry.field_id)  # another batch's step or a forged id: 404
    if field.double_entry:
        if entry.text.strip() and not (entry.repeat or "").strip():
            # Saved without its second entry, the value could never be confirmed by re-entering the same value.
            raise InvalidInput(f"{field.label}: enter the value a second time to confirm it (DEV-04).")
    else:
        entry = replace(entry, repeat=None)
    return field, services().execution.enter(actor(), batch_id, step_pk, entry, info())


def saved_message(field: FieldDefinition, value: StoredValue) -> str:
    """What the person sees once the value is stored."""
    shown = f"{value.value} {value.unit}".strip() if value.value is not None else "(empty)"
    message = f"Saved {field.label} = {shown} at {value.captured_at.strftime('%H:%M:%SZ')}."
    if value.late:
        message += " Recorded as a late entry."
    if value.paper_form:
        message += f" Flagged as transcribed from paper form {value.paper_form}."
    if value.deviation_id is not None:
        message += " A deviation was opened: see the batch page."
    return message
