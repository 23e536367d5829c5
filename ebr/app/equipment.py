"""Equipment instances as audited master data: register, change, look up, and their logbook and uses (MISSION.md).

A procedure pins equipment *classes*; which instance answers where is master data here. So changing an instance's
endpoint, place or service state never touches a procedure version and needs no re-approval. Cleaning, calibration
and qualification are never edited: they come only from signed logbook entries (equipment_logbook.py).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.equipment_logbook import (
    OBJECT_TYPE,
    SIGNED_KINDS,
    SOILED,
    apply_entry,
    check_detail,
    stored_instance,
    validity_text,
)
from ebr.app.policy import effective_policy
from ebr.app.ports import (
    Clock,
    EquipmentUse,
    LogbookEntry,
    StoredEquipment,
    StoredSignature,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.domain.accounts import Permission, User
from ebr.domain.batch import ENDED
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied

CLASS_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")  # the library's identifier of an equipment class
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
MAX_TIMEOUT_S = 30.0  # a dead device must not hold an operator longer than timeout x (retries + 1)
MAX_RETRIES = 5


def check_endpoint(endpoint: Endpoint) -> Endpoint:
    """A Modbus TCP endpoint that can be dialled: host name or IP, port, unit id and bounded waits."""
    problems = []
    if not _host_ok(endpoint.host):
        problems.append("host: a DNS name or an IP address")
    if not 1 <= endpoint.port <= 65535:
        problems.append("port: 1 to 65535")
    if not 0 <= endpoint.unit_id <= 255:
        problems.append("unit id: 0 to 255")
    if not (math.isfinite(endpoint.timeout_s) and 0 < endpoint.timeout_s <= MAX_TIMEOUT_S):
        problems.append(f"timeout: more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
    if not 0 <= endpoint.retries <= MAX_RETRIES:
        problems.append(f"retries: 0 to {MAX_RETRIES}")
    if problems:
        raise InvalidInput("Device endpoint: " + "; ".join(problems) + ".")
    return endpoint


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return 0 < len(host) <= 253 and all(HOST_LABEL.fullmatch(label) for label in labels)
    return True


@dataclass(frozen=True)
class LogbookLine:
    """A logbook entry as the equipment page shows it: who asked for it and, once applied, its signature."""

    entry: LogbookEntry
    requested_by: str
    signature: StoredSignature | None


@dataclass(frozen=True)
class UseLine:
    """A use as the equipment page shows it: the batch and step by the ids people know, and who used it."""

    use: EquipmentUse
    batch: str
    step: str
    used_by: str


@dataclass(frozen=True)
class BatchUseLine:
    """One batch that used the instance: when the batch ran and when it used the instance (BR-05)."""

    batch: str
    status: str
    started_at: datetime
    ended_at: datetime | None  # the last step completed, once the batch has ended
    first_used_at: datetime
    last_used_at: datetime
    uses: int
    statuses: tuple[str, ...]  # the instance's status at each use, as recorded then


def _person(user: User) -> str:
    return f"{user.full_name} ({user.username})"


class EquipmentService:
    """Register and change instances (EQUIPMENT_MANAGE); request logbook entries (EQUIPMENT_LOG); read both."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, classes: Callable[[], Iterable[str]]) -> None:
        self._uow = uow
        self._clock = clock
        self._classes = classes  # the equipment classes of the controlled library, read when needed

    def _open(self, actor: Actor, reason: str, request: RequestInfo | None) -> UnitOfWork:
        return self._uow(AuditContext(actor, self._clock.now(), require_reason(reason), request or RequestInfo()))

    def _read(self) -> UnitOfWork:
        return self._uow(AuditContext(Actor.system(), self._clock.now()))

    @staticmethod
    def _authorise(uow: UnitOfWork, actor: Actor, permission: Permission) -> None:
        if actor.user_id is not None:
            require(uow.users.get(actor.user_id), permission)

    def classes(self) -> list[str]:
        """The equipment classes an instance may belong to."""
        return sorted(set(self._classes()))

    def _check_class(self, class_id: str) -> None:
        if not CLASS_ID.fullmatch(class_id):
            raise InvalidInput("Class: a library class id (a letter, then lower-case letters, digits or '_').")
        known = self.classes()
        if class_id not in known:
            raise InvalidInput(f"Unknown equipment class {class_id!r}: the library defines {', '.join(known)}.")

    def register(
        self, actor: Actor, instance: EquipmentInstance, reason: str, request: RequestInfo | None = None
    ) -> StoredEquipment:
        """Register a new instance; it starts not clean, with no calibration or qualification recorded."""
        self._check_class(instance.class_id)
        if instance.endpoint is not None:
            check_endpoint(instance.endpoint)
        fresh = replace(instance, clean=False, clean_until=None, calibration_due=None, qualified_until=None)
        if fresh != instance:
            raise InvalidInput(
                "Cleaning, calibration and qualification are recorded in the instance's logbook with a "
                "signature, not at registration."
            )
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor, Permission.EQUIPMENT_MANAGE)
            if uow.equipment.get(instance.code) is not None:
                raise Conflict(f"Equipment {instance.code} is registered already; equipment ids are never reused.")
            stored = uow.equipment.add(instance, self._clock.now())
            uow.commit()
        return stored

    def update(
        self,
        actor: Actor,
        code: str,
        instance: EquipmentInstance,
        expected_version: int,
        reason: str,
        request: RequestInfo | None = None,
    ) -> StoredEquipment:
        """Change description, location, endpoint or service state; every changed field is audited with the reason."""
        if instance.endpoint is not None:
            check_endpoint(instance.endpoint)
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor, Permission.EQUIPMENT_MANAGE)
            stored = stored_instance(uow, code)
            if stored.version != expected_version:
                raise Conflict(
                    f"Equipment {code} changed meanwhile (version {stored.version}, you edited version "
                    f"{expected_version}): reload the page and make the change again."
                )
            changed = _editable_change(stored.instance, instance)
            updated = uow.equipment.update(changed, expected_version, self._clock.now())
            uow.commit()
        return updated

    def get(self, code: str) -> StoredEquipment:
        """One instance by its code."""
        with self._read() as uow:
            return stored_instance(uow, code)

    def logbook(self, code: str) -> list[LogbookLine]:
        """The instance's logbook, newest first, each applied entry with its signature's manifestation."""
        with self._read() as uow:
            stored_instance(uow, code)
            people: dict[int, str] = {}
            lines = []
            for entry in reversed(uow.logbook.for_equipment(code)):
                if entry.requested_by not in people:
                    people[entry.requested_by] = _person(uow.users.get(entry.requested_by))
                signature = None
                if entry.signature_id is not None:
                    signed = uow.signatures.for_object(OBJECT_TYPE, str(entry.id))
                    signature = next((s for s in signed if s.id == entry.signature_id), None)
                lines.append(LogbookLine(entry, people[entry.requested_by], signature))
            return lines

    def uses(self, code: str) -> list[UseLine]:
        """Every use of the instance by a batch step, newest first."""
        with self._read() as uow:
            stored_instance(uow, code)
            # One look-up per batch, step and person, however often the instance was used by them.
            batches: dict[int, str] = {}
            steps: dict[int, str] = {}
            people: dict[int, str] = {}
            lines = []
            for use in reversed(uow.equipment_uses.for_equipment(code)):
                if use.batch_id not in batches:
                    batches[use.batch_id] = uow.batches.by_pk(use.batch_id).batch.id
                if use.step_record_id not in steps:
                    steps[use.step_record_id] = uow.batches.step(use.step_record_id).step_id
                if use.used_by not in people:
                    people[use.used_by] = _person(uow.users.get(use.used_by))
                line = UseLine(use, batches[use.batch_id], steps[use.step_record_id], people[use.used_by])
                lines.append(line)
            return lines

    def batches(self, code: str) -> list[BatchUseLine]:
        """The equipment-use history by batch, newest use first: which batches used the instance, and when."""
        with self._read() as uow:
            stored_instance(uow, code)
            by_batch: dict[int, list[EquipmentUse]] = {}
            for use in uow.equipment_uses.for_equipment(code):
                by_batch.setdefault(use.batch_id, []).append(use)
            lines = [_batch_line(uow, batch_pk, uses) for batch_pk, uses in by_batch.items()]
        return sorted(lines, key=lambda line: line.last_used_at, reverse=True)

    def request_log_entry(
        self,
        actor: Actor,
        code: str,
        kind: str,
        detail: str,
        valid_until: date | None,
        reason: str,
        request: RequestInfo | None = None,
    ) -> int:
        """Record a logbook entry; a cleaning, calibration or qualification takes effect when signed with the
        meaning of its kind, a soiled mark at once. Returns the entry's id (the object the signature is on)."""
        now = self._clock.now()
        text = check_detail(kind, detail)
        validity = validity_text(kind, valid_until, now)
        if actor.user_id is None:
            raise PermissionDenied("A logbook entry is recorded by a person, not by the system.")
        with self._open(actor, reason, request) as uow:
            require(uow.users.get(actor.user_id), Permission.EQUIPMENT_LOG)
            stored_instance(uow, code)
            if kind in SIGNED_KINDS:
                effective_policy(uow).rule(OBJECT_TYPE, kind)  # refuse now rather than leave what nobody can sign
            status, applied_at = ("applied", now) if kind == SOILED else ("pending", None)
            entry = uow.logbook.add(
                LogbookEntry(0, code, kind, text, validity, actor.user_id, now, status, applied_at=applied_at)
            )
            if kind == SOILED:
                apply_entry(uow, entry, now)
            uow.commit()
        return entry.id

    # Last: inside the class body, a method named list would shadow the built-in in later annotations.
    def list(self, class_id: str | None = None) -> list[StoredEquipment]:
        """Every instance, or those of one class, by code."""
        with self._read() as uow:
            return uow.equipment.list(class_id)


def _batch_line(uow: UnitOfWork, batch_pk: int, uses: list[EquipmentUse]) -> BatchUseLine:
    batch = uow.batches.by_pk(batch_pk)
    completed = [s.completed_at for s in uow.batches.steps(batch_pk) if s.completed_at is not None]
    ended = max(completed) if completed and batch.batch.status in ENDED else None
    moments = [u.used_at for u in uses]
    statuses = tuple(dict.fromkeys(u.status for u in uses))
    return BatchUseLine(
        batch.batch.id,
        str(batch.batch.status),
        batch.started_at,
        ended,
        min(moments),
        max(moments),
        len(uses),
        statuses,
    )


def _editable_change(current: EquipmentInstance, wanted: EquipmentInstance) -> EquipmentInstance:
    """The current instance with the fields an edit may change; the rest must be as stored."""
    if wanted.code != current.code:
        raise InvalidInput("An equipment id never changes: register the new instance instead.")
    if wanted.class_id != current.class_id:
        raise InvalidInput("An instance's class never changes: register the new instance instead.")
    status = ("clean", "clean_until", "calibration_due", "qualified_until")
    if any(getattr(wanted, name) != getattr(current, name) for name in status):
        raise InvalidInput("Cleaning, calibration and qualification change only through signed logbook entries.")
    changed = replace(
        current,
        description=wanted.description,
        location=wanted.location,
        endpoint=wanted.endpoint,
        in_service=wanted.in_service,
    )
    if changed == current:
        raise InvalidInput("Nothing to change: the form holds the values already stored.")
    return changed
