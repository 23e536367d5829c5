"""Values from the plant (DEV-01, DEV-02): a step's equipment scan, and Capture of a device-bound field.

A capture runs in three steps so that no database lock is held while a device is waited for: a short read finds the
field, its tag and the instance in use; the device is read with no transaction open (at most timeout x attempts);
a short write stores the value with its source, raw registers, read time and the instance's status, or, on a
fault, records the failure in the audit trail and opens a deviation. Nothing is half-written and a capture can be
repeated: the new value supersedes the old one, which stays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ebr.app.accounts import require
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.deviations import open_in
from ebr.app.execution_context import (
    READY,
    ProcedureCache,
    StepContext,
    check_open,
    check_performer,
    load_step,
)
from ebr.app.execution_results import open_out_of_limit, terminal_of
from ebr.app.incidents import open_incident
from ebr.app.ports import Clock, DeviceReader, EquipmentUse, StoredValue, UnitOfWork, UnitOfWorkFactory
from ebr.app.scans import ScanRefused, check_in, equipment_result, in_use
from ebr.app.step_completion import check_person
from ebr.domain.accounts import Permission, User
from ebr.domain.audit import Action
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.equipment import DeviceFault, Endpoint, FaultKind, Reading, tags_to_read, validate
from ebr.domain.equipment_status import EquipmentInstance, status_text
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.records import Source, evaluate_limits
from ebr.domain.steps import EquipmentClass, FieldDefinition, TagDefinition


@dataclass(frozen=True)
class _Plan:
    """What the read step found: the field, its class and tag, and the instance with its endpoint."""

    field: FieldDefinition
    equipment_class: EquipmentClass
    tag: TagDefinition
    instance: EquipmentInstance
    endpoint: Endpoint


class CaptureService:
    """Use cases of the operator at a step that works with equipment."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache, reader: DeviceReader) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._reader = reader

    def _ctx(self, actor: Actor, reason: str, request: RequestInfo) -> AuditContext:
        return AuditContext(actor, self._clock.now(), reason, request)

    def _ready(
        self, uow: UnitOfWork, actor: Actor, batch_id: str, step_pk: int, lock: bool
    ) -> tuple[User, StepContext]:
        """The performer and the ready step, with the same checks as entering a value."""
        assert actor.user_id is not None
        user = uow.users.get(actor.user_id)
        require(user, Permission.BATCH_EXECUTE)
        context = load_step(uow, self._cache, batch_id, step_pk, lock=lock)
        check_open(context, READY)
        check_performer(context, user)
        return user, context

    def check_in(self, actor: Actor, batch_id: str, step_pk: int, barcode: str, request: RequestInfo) -> EquipmentUse:
        """Scan the equipment the step names; a refusal is recorded, then raised (SEQ-07)."""
        ctx = self._ctx(actor, "equipment scanned for the step", request)
        with self._uow(ctx) as uow:
            user, context = self._ready(uow, actor, batch_id, step_pk, lock=True)
            check_person(uow, context, user, request, ctx.at)
            if not context.step.equipment_class:
                raise InvalidInput(f"Step {context.step.name!r} names no equipment to scan.")
            try:
                use = check_in(uow, context, barcode.strip(), user.id, ctx)
            except ScanRefused:
                uow.commit()  # the refused scan stays on record
                raise
            uow.commit()
        return use

    def capture(
        self, actor: Actor, batch_id: str, step_pk: int, field_id: str, request: RequestInfo, equipment_code: str = ""
    ) -> StoredValue:
        """Read the field's tag from the instance in use and store it; a fault is recorded, then raised (DEV-02)."""
        plan = self._plan(actor, batch_id, step_pk, field_id, request, equipment_code)
        try:
            tags = tags_to_read(plan.equipment_class, plan.tag.id)
            reads = self._reader.read(plan.endpoint, tags)
            reading = validate(plan.equipment_class, plan.tag.id, reads, self._clock.now())
        except DeviceFault as fault:
            self._fault(actor, batch_id, step_pk, plan, fault, request)
            raise
        return self._store(actor, batch_id, step_pk, plan, reading, request)

    def _plan(
        self, actor: Actor, batch_id: str, step_pk: int, field_id: str, request: RequestInfo, equipment_code: str
    ) -> _Plan:
        with self._uow(self._ctx(actor, "", request)) as uow:
            user, context = self._ready(uow, actor, batch_id, step_pk, lock=False)
            check_person(uow, context, user, request, self._clock.now())
            field = context.field(field_id)
            if field.source is None:
                raise InvalidInput(f"{field.label} is not captured from a device: enter it.")
            equipment_class = context.procedure.equipment[field.source.equipment]
            use = in_use(uow, context, equipment_class.id)
            if use is None:
                raise Conflict(f"{field.label} is read from a {equipment_class.id}: scan its equipment label first.")
            if equipment_code and equipment_code != use.equipment_code:
                raise InvalidInput(
                    f"{equipment_code[:64]} is not bound to {field.label}: only {use.equipment_code}, the "
                    f"{equipment_class.id} in use, may supply it (DEV-01)."
                )
            return _Plan(field, equipment_class, *_usable(uow, use, equipment_class, field, self._clock.now()))

    def _fault(
        self, actor: Actor, batch_id: str, step_pk: int, plan: _Plan, fault: DeviceFault, request: RequestInfo
    ) -> None:
        """The failure in the audit trail and, unless the balance was only settling, one open deviation per field."""
        ctx = self._ctx(actor, f"device capture failed: {fault}", request)
        with self._uow(ctx) as uow:
            context = load_step(uow, self._cache, batch_id, step_pk)
            where = f"{plan.instance.code} {plan.endpoint.host}:{plan.endpoint.port} unit {plan.endpoint.unit_id}"
            uow.audit.append(
                Action.DEVICE_FAULT, "step_record", str(step_pk), plan.field.id, None, f"{fault.kind}: {where}"
            )
            settling = fault.kind is FaultKind.UNSTABLE  # a balance coming to rest is no failure
            moved_on = context.record.status != READY  # finished meanwhile: the audit entry is enough
            if not settling and not moved_on and not _failure_open(uow, context, plan.field.id):
                text = f"{plan.field.label}: capture from {plan.instance.code} failed ({fault.kind}): {fault}"
                by = actor.user_id
                kind = DeviationKind.DEVICE_FAILURE
                open_in(uow, context.batch, step_pk, kind, Severity.MINOR, text, "", ctx.at, by, plan.field.id)
                # Admins learn of a failing device at once, not at batch review (OPS-01).
                key = f"device-failure:{plan.instance.code}:{step_pk}:{plan.field.id}"
                subject = f"equipment {plan.instance.code}"
                request_id = ctx.request.request_id
                open_incident(uow, key, "device_failure", "warning", subject, text, ctx.at, request_id)
            uow.commit()

    def _store(
        self, actor: Actor, batch_id: str, step_pk: int, plan: _Plan, reading: Reading, request: RequestInfo
    ) -> StoredValue:
        ctx = self._ctx(actor, "value captured from device", request)
        with self._uow(ctx) as uow:
            _, context = self._ready(uow, actor, batch_id, step_pk, lock=True)  # it may have moved while we read
            field = plan.field
            value = _rounded(field, reading.value)
            check = evaluate_limits(field, value)
            by = actor.user_id
            assert by is not None
            deviation = None if check.within else open_out_of_limit(uow, context, field, value, check, ctx.at, by)
            previous = uow.step_values.current(context.record.id, field.id)
            stored = uow.step_values.add(
                StoredValue(
                    0,
                    context.batch.id,
                    context.record.id,
                    field.id,
                    str(value),
                    field.unit,
                    str(Source.DEVICE),
                    ctx.at,
                    actor.user_id,
                    terminal_of(request),
                    raw=" ".join(str(r) for r in reading.registers),
                    device_time=reading.read_at,
                    within_limits=check.within if field.limit is not None else None,
                    limit_text=check.limit,
                    supersedes_id=previous.id if previous else None,
                    deviation_id=deviation.id if deviation else None,
                    equipment_code=plan.instance.code,
                    tag=plan.tag.id,
                    quality=reading.quality,
                    device_detail=_detail(plan, reading),
                )
            )
            uow.commit()
        return stored


def _usable(
    uow: UnitOfWork, use: EquipmentUse, equipment_class: EquipmentClass, field: FieldDefinition, now: datetime
) -> tuple[TagDefinition, EquipmentInstance, Endpoint]:
    """The tag, and the instance in use if it still passes its check and has a device to read."""
    assert field.source is not None
    tag = equipment_class.tag(field.source.tag)
    if tag is None:
        raise Conflict(f"{equipment_class.id} has no tag {field.source.tag!r}.")
    result = equipment_result(uow, use.equipment_code, equipment_class.id, now)
    if not result:
        raise Conflict(result.reason)
    stored = uow.equipment.get(use.equipment_code)
    assert stored is not None  # a use names a registered instance
    if stored.instance.endpoint is None:
        raise Conflict(f"{stored.instance.code} has no device endpoint: ask an administrator to register it.")
    return tag, stored.instance, stored.instance.endpoint


def _failure_open(uow: UnitOfWork, context: StepContext, field_id: str) -> bool:
    return any(
        d.step_record_id == context.record.id
        and d.field_id == field_id
        and d.kind == str(DeviationKind.DEVICE_FAILURE)
        and d.status != "closed"
        for d in uow.deviations.for_batch(context.batch.id)
    )


def _rounded(field: FieldDefinition, value: Decimal) -> Decimal:
    """The reading at the field's precision (the raw registers keep the device's own value)."""
    if field.precision is None:
        return value
    return value.quantize(Decimal(1).scaleb(-field.precision))


def _detail(plan: _Plan, reading: Reading) -> str:
    """Where the value came from and the instance's status at the time (DEV-01), as canonical JSON."""
    tag, endpoint = plan.tag, plan.endpoint
    return json.dumps(
        {
            "equipment": plan.instance.code,
            "class": plan.equipment_class.id,
            "host": endpoint.host,
            "port": endpoint.port,
            "unit_id": endpoint.unit_id,
            "tag": tag.id,
            "register": tag.register,
            "register_type": tag.register_type,
            "data_type": tag.type,
            "word_order": tag.word_order,
            "byte_order": tag.byte_order,
            "scale": tag.scale,
            "offset": tag.offset,
            "engineering_value": str(reading.value),
            "unit": tag.unit,
            "status": status_text(plan.instance),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
