"""Flush listeners: refuse edits of the trail and unaudited GMP changes; derive field-level entries (AUD-01).

This is the one mechanism every feature reuses: a use case opens a unit of work with an
AuditContext and changes rows; each GMP insert becomes a 'create' entry and each changed field an
'update' entry with old and new value, in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from ebr.adapters.db.gmp import APPEND_ONLY_EXCEPT, GMP_TABLES, IMMUTABLE_TABLES, NOT_GMP, GmpTable
from ebr.app.context import AuditContext
from ebr.domain.audit import Action, EntryDraft, to_utc_text
from ebr.domain.errors import AuditContextMissing

CONTEXT_KEY = "ebr_audit_context"
DRAFTS_KEY = "ebr_audit_drafts"
REDACTED = "<changed; value not recorded>"


class AuditTrailImmutable(Exception):
    """An UPDATE or DELETE of the trail was attempted through the ORM."""


def text_of(value: Any) -> str | None:
    """The audit-trail text of a column value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return to_utc_text(value)
    return str(value)


def install() -> None:
    """Attach the guard to every ORM session, not only the unit of work's: a plain Session(engine) that
    changes a GMP row without who/when/why is refused too (AUD-01). Idempotent."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _table(obj: object) -> str:
    return str(obj.__table__.name)  # type: ignore[attr-defined]  # every mapped row has __table__


def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    for obj in session.deleted:
        name = _table(obj)
        if name in IMMUTABLE_TABLES or (name in GMP_TABLES and not GMP_TABLES[name].deletable):
            raise AuditTrailImmutable(f"{name} rows are never deleted; void them with a reason instead")
    for obj in session.dirty:
        if _table(obj) in IMMUTABLE_TABLES and session.is_modified(obj):
            raise AuditTrailImmutable(f"{_table(obj)} rows are append-only")
        _refuse_frozen_columns(obj)
    for obj in list(session.new) + list(session.dirty):
        name = _table(obj)
        if name not in GMP_TABLES and name not in NOT_GMP:
            raise AuditContextMissing(f"table {name} is not classified as GMP or not GMP")
        if name in GMP_TABLES and session.info.get(CONTEXT_KEY) is None:
            raise AuditContextMissing(f"change to {name} without who/when/why refused")


def _refuse_frozen_columns(obj: object) -> None:
    """Refuse a change to an append-only row beyond the columns allowed to move (a document's status)."""
    mutable = APPEND_ONLY_EXCEPT.get(_table(obj))
    if mutable is None:
        return
    state = inspect(obj)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if changed - mutable:
        raise AuditTrailImmutable(f"{_table(obj)} rows are append-only except {', '.join(sorted(mutable))}")


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    ctx: AuditContext | None = session.info.get(CONTEXT_KEY)
    drafts: list[EntryDraft] = session.info.setdefault(DRAFTS_KEY, [])
    for obj in session.new:
        spec = GMP_TABLES.get(_table(obj))
        if spec is not None and ctx is not None:
            drafts.append(_created(ctx, spec, obj))
    for obj in session.dirty:
        spec = GMP_TABLES.get(_table(obj))
        if spec is not None and ctx is not None:
            drafts.extend(_updated(ctx, spec, obj))
    for obj in session.deleted:
        spec = GMP_TABLES.get(_table(obj))
        if spec is not None and ctx is not None:
            drafts.append(_removed(ctx, spec, obj))


def _object_id(obj: object) -> str:
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return ":".join(str(part) for part in identity)


def _audited_columns(spec: GmpTable, obj: object) -> list[str]:
    columns = [c.key for c in inspect(obj).mapper.column_attrs]
    return [c for c in columns if c not in spec.operational]


def _values(spec: GmpTable, obj: object) -> str:
    """The audited columns of a row as sorted JSON; secrets redacted."""
    values = {
        col: (REDACTED if col in spec.redacted else text_of(getattr(obj, col))) for col in _audited_columns(spec, obj)
    }
    return json.dumps(values, sort_keys=True)


def _created(ctx: AuditContext, spec: GmpTable, obj: object) -> EntryDraft:
    return ctx.draft(
        action=Action.CREATE, object_type=spec.object_type, object_id=_object_id(obj), new_value=_values(spec, obj)
    )


def _removed(ctx: AuditContext, spec: GmpTable, obj: object) -> EntryDraft:
    """A deletable GMP row (a BOM line the ERP dropped) leaves its last values in the trail."""
    return ctx.draft(
        action=Action.VOID, object_type=spec.object_type, object_id=_object_id(obj), old_value=_values(spec, obj)
    )


def _updated(ctx: AuditContext, spec: GmpTable, obj: object) -> list[EntryDraft]:
    state = inspect(obj)
    drafts = []
    for col in _audited_columns(spec, obj):
        history = state.attrs[col].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if text_of(old) == text_of(new):
            continue
        old_text: str | None
        new_text: str | None
        if col in spec.redacted:
            old_text, new_text = None, REDACTED
        else:
            old_text, new_text = text_of(old), text_of(new)
        drafts.append(
            ctx.draft(
                action=Action.UPDATE,
                object_type=spec.object_type,
                object_id=_object_id(obj),
                field=col,
                old_value=old_text,
                new_value=new_text,
            )
        )
    return drafts
