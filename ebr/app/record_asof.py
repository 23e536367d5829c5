"""The evidence of a batch as it stood at a past moment (AUD-11; ISA-88 Part 4 ChangeHistory).

What can be rebuilt, and how:
* rows that are only ever added (values, signatures, yields, reconciliations, equipment uses, scan checks,
  dispensings, samples, attachments, audit entries) existed at the moment when their own time stamp is not later
  than it;
* step records, deviations and actions existed when they became ready, were detected or were requested by then;
* the fields that change on the batch, its order, step records, deviations and actions, and people's printed
  names, are rewound with the old value of every audit entry written after the moment, newest first (each such
  change writes an entry with old and new value in its own transaction, AUD-01).

What it cannot rebuild: master data read from the ERP copy (a lot's expiry, a material's name) is shown as it is
now, and the engine's cursor is not part of the record. An entry at the very moment counts as already made.
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Any, TypeVar

from ebr.app.record_evidence import Evidence
from ebr.domain.accounts import User
from ebr.domain.audit import Action, AuditEntry
from ebr.domain.errors import NotFound

Row = TypeVar("Row")
Changes = dict[tuple[str, str], list[AuditEntry]]


PARSERS: dict[object, Callable[[str], object]] = {
    bool: lambda text: text == "true",
    int: int,
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    Decimal: Decimal,
}


def _parse(text: str | None, hint: Any) -> object:
    """An audit entry's text (the audit guard's encoding) back as the field's type."""
    if text is None:
        return None
    union = typing.get_origin(hint) in (typing.Union, UnionType)
    kinds = [k for k in typing.get_args(hint) if k is not type(None)] if union else [hint]
    kind = kinds[0] if kinds else str
    if kind in PARSERS:
        return PARSERS[kind](text)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(text)
    return text


def rewind(row: Row, entries: Sequence[AuditEntry]) -> Row:
    """The row with every changed field set back to its old value, the newest change undone first."""
    if not entries:
        return row
    names = {f.name for f in fields(row)}  # type: ignore[arg-type]  # every evidence row is a dataclass
    hints = typing.get_type_hints(type(row))
    for entry in sorted(entries, key=lambda e: e.seq, reverse=True):
        name = entry.draft.field
        if name in names:
            row = replace(row, **{name: _parse(entry.draft.old_value, hints[name])})  # type: ignore[type-var]
    return row


def later_changes(entries: Iterable[AuditEntry], moment: datetime) -> Changes:
    """Field changes made after the moment, by object."""
    found: Changes = defaultdict(list)
    for entry in entries:
        if entry.draft.at > moment and entry.draft.action is Action.UPDATE and entry.draft.field:
            found[(entry.draft.object_type, entry.draft.object_id)].append(entry)
    return found


def _rows(rows: Iterable[Row], object_type: str, changes: Changes) -> tuple[Row, ...]:
    return tuple(rewind(row, changes.get((object_type, str(row.id)), [])) for row in rows)  # type: ignore[attr-defined]


def evidence_at(evidence: Evidence, moment: datetime, renames: Iterable[AuditEntry]) -> Evidence:
    """The evidence as it stood at the moment; a batch not yet started then had no record."""
    if evidence.batch.started_at > moment:
        raise NotFound(f"Batch {evidence.batch.batch.id} had not started at {moment.isoformat()}.")
    changes = later_changes(evidence.audit, moment)
    batch = evidence.batch
    batch_changes = changes.get(("batch", str(batch.id)), [])
    order = evidence.order
    order_changes = changes.get(("production_order", str(order.id)), [])
    dispensings = tuple(d for d in evidence.dispensings if d.dispensed_at <= moment)
    return replace(
        evidence,
        batch=replace(rewind(batch, batch_changes), batch=rewind(batch.batch, batch_changes)),
        order=replace(rewind(order, order_changes), order=rewind(order.order, order_changes)),
        steps=_rows((s for s in evidence.steps if s.became_ready_at <= moment), "step_record", changes),
        values=tuple(v for v in evidence.values if v.captured_at <= moment),
        signatures=tuple(s for s in evidence.signatures if s.signed_at <= moment),
        approvals=tuple(s for s in evidence.approvals if s.signed_at <= moment),
        deviations=_rows((d for d in evidence.deviations if d.detected_at <= moment), "deviation", changes),
        actions=_rows((a for a in evidence.actions if a.requested_at <= moment), "batch_action", changes),
        yields=tuple(y for y in evidence.yields if y.recorded_at <= moment),
        reconciliations=tuple(r for r in evidence.reconciliations if r.recorded_at <= moment),
        uses=tuple(u for u in evidence.uses if u.used_at <= moment),
        checks=tuple(c for c in evidence.checks if c.checked_at <= moment),
        dispensings=dispensings,
        lots={k: v for k, v in evidence.lots.items() if k in {(d.material_code, d.lot_number) for d in dispensings}},
        people=_people_at(evidence, moment, renames),
        audit=tuple(e for e in evidence.audit if e.draft.at <= moment),
        samples=tuple(s for s in evidence.samples if s.recorded_at <= moment),
        attachments=tuple(a for a in evidence.attachments if a.uploaded_at <= moment),
    )


def _people_at(evidence: Evidence, moment: datetime, renames: Iterable[AuditEntry]) -> dict[int, User]:
    # Only the printed name: the record shows no other field of an account.
    changes = later_changes((e for e in renames if e.draft.field == "full_name"), moment)
    return {uid: rewind(user, changes.get(("user", str(uid)), [])) for uid, user in evidence.people.items()}
