"""An instance's logbook: cleaning, calibration and qualification change its status only when signed.

An entry is first requested with what was done and until when it holds; the signature's unit of work then applies
it to the instance (21 CFR 211.67, 211.68, 211.182: cleaning and calibration records, with who performed them).
Marking an instance soiled needs no signature: it only ever makes the instance less usable, and it is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from ebr.app.context import AuditContext
from ebr.app.policy import effective_policy
from ebr.app.ports import LogbookEntry, StoredEquipment, StoredSignature, UnitOfWork
from ebr.domain.audit import to_utc_text
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.domain.signatures import SitePolicy

OBJECT_TYPE = "equipment_log"
# Kinds that take effect only when signed; each is also the signature's meaning in the site policy.
SIGNED_KINDS = {"cleaned": "A cleaning", "calibrated": "A calibration", "qualified": "A qualification"}
SOILED = "soiled"
KINDS = (*SIGNED_KINDS, SOILED)
MAX_DETAIL = 2000
LONGEST_VALIDITY = timedelta(days=3660)  # ten years: anything later is a typing error, not a plan


def stored_instance(uow: UnitOfWork, code: str) -> StoredEquipment:
    """The instance, or a refusal naming the unknown code."""
    stored = uow.equipment.get(code)
    if stored is None:
        raise NotFound(f"No equipment {code[:64]!r} is registered.")
    return stored


def check_detail(kind: str, detail: str) -> str:
    """What was done (procedure, certificate number): required for a signed kind, printable, bounded."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown logbook entry {kind[:20]!r}; known: {', '.join(KINDS)}.")
    text = detail.strip()
    if len(text) > MAX_DETAIL or not all(ch.isprintable() or ch in "\r\n" for ch in text):
        raise InvalidInput(f"Detail: at most {MAX_DETAIL} printable characters.")
    if kind in SIGNED_KINDS and len(text) < 3:
        raise InvalidInput(f"{SIGNED_KINDS[kind]} needs its detail: what was done, by which procedure or certificate.")
    return text


def validity_text(kind: str, valid_until: date | None, now: datetime) -> str:
    """The entry's validity as stored: a UTC date-time for a cleaning, a date otherwise, '' when soiled."""
    if kind == SOILED:
        if valid_until is not None:
            raise InvalidInput("Marking equipment soiled takes no validity.")
        return ""
    if valid_until is None:
        raise InvalidInput(f"{SIGNED_KINDS[kind]} needs the date it is valid until.")
    if kind == "cleaned":
        return _cleaning_validity(valid_until, now)
    return _date_validity(SIGNED_KINDS[kind], valid_until, now)


def _cleaning_validity(valid_until: date, now: datetime) -> str:
    # A cleaning holds for hours or days (the clean hold time), so it expires at a moment, not on a day.
    if not isinstance(valid_until, datetime) or valid_until.tzinfo is None:
        raise InvalidInput("A cleaning is valid until a date and time with its zone (TIME-01).")
    if valid_until <= now:
        raise InvalidInput("The cleaning's expiry must be in the future.")
    if valid_until > now + LONGEST_VALIDITY:
        raise InvalidInput("The cleaning's expiry is more than ten years away: check the date.")
    return valid_until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _date_validity(what: str, valid_until: date, now: datetime) -> str:
    if isinstance(valid_until, datetime):
        raise InvalidInput(f"{what} is valid until a date, without a time.")
    if valid_until <= now.date():
        raise InvalidInput(f"{what} must be valid until a date in the future.")
    if valid_until > (now + LONGEST_VALIDITY).date():
        raise InvalidInput(f"{what} valid for more than ten years: check the date.")
    return valid_until.isoformat()


def applied_status(instance: EquipmentInstance, entry: LogbookEntry, at: datetime) -> EquipmentInstance:
    """The instance as the entry leaves it; a validity that lapsed before the signature is refused."""
    if entry.kind == SOILED:
        return replace(instance, clean=False, clean_until=None)
    if entry.kind == "cleaned":
        until = datetime.fromisoformat(entry.valid_until)
        if until <= at:
            raise Conflict(f"This cleaning expired at {entry.valid_until} before it was signed: record a new one.")
        return replace(instance, clean=True, clean_until=until)
    valid = date.fromisoformat(entry.valid_until)
    if valid <= at.date():
        raise Conflict(f"This {entry.kind} entry lapsed on {entry.valid_until} before it was signed: record anew.")
    if entry.kind == "calibrated":
        return replace(instance, calibration_due=valid)
    return replace(instance, qualified_until=valid)


def apply_entry(uow: UnitOfWork, entry: LogbookEntry, at: datetime) -> None:
    """Change the instance as the entry says; the audit guard records each changed field with old and new value."""
    stored = stored_instance(uow, entry.equipment_code)
    changed = applied_status(stored.instance, entry, at)
    if changed != stored.instance:
        uow.equipment.update(changed, stored.version, at)


def _superseded(uow: UnitOfWork, entry: LogbookEntry) -> str:
    """Why an older entry must not be applied over a newer one ('' when it may)."""
    overriding = {entry.kind, SOILED} if entry.kind == "cleaned" else {entry.kind}
    for later in uow.logbook.for_equipment(entry.equipment_code):
        if later.id > entry.id and later.status == "applied" and later.kind in overriding:
            return f"a later {later.kind} entry ({later.id}) was applied since this one was requested"
    return ""


def _entry_id(object_id: str) -> int:
    if not object_id.isdigit() or len(object_id) > 10:
        raise NotFound(f"No logbook entry {object_id[:20]!r}.")
    return int(object_id)


class LogbookSignable:
    """A requested logbook entry, applied to its instance by the signature whose meaning is the entry's kind."""

    object_type = OBJECT_TYPE

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        entry = uow.logbook.get(_entry_id(object_id))
        instance = stored_instance(uow, entry.equipment_code).instance
        # Only what never changes: applying the entry moves its status, which must not invalidate the signature.
        return {
            "object": OBJECT_TYPE,
            "id": entry.id,
            "equipment": entry.equipment_code,
            "class": instance.class_id,
            "kind": entry.kind,
            "detail": entry.detail,
            "valid_until": entry.valid_until,
            "requested_by": uow.users.get(entry.requested_by).username,
            "requested_at": to_utc_text(entry.requested_at),
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        entry = uow.logbook.get(_entry_id(object_id))
        return f"logbook of {entry.equipment_code}: {entry.kind}; {entry.detail}"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        entry = uow.logbook.get(_entry_id(object_id))
        if entry.kind not in SIGNED_KINDS or signature.meaning != entry.kind:
            raise Conflict(f"A {entry.kind} entry is applied by a {entry.kind!r} signature only.")
        if entry.status != "pending":
            raise Conflict(f"Logbook entry {entry.id} is {entry.status} already.")
        problem = _superseded(uow, entry)
        if problem:
            raise Conflict(f"Logbook entry {entry.id} cannot be applied: {problem}. Record a new one.")
        apply_entry(uow, entry, ctx.at)
        uow.logbook.set_applied(entry.id, signature.id, ctx.at)
