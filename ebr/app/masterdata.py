"""Master data copied from the ERP: materials, lots and containers as audited, idempotent upserts.

The same data again changes nothing and writes no audit entry; changed data is an audited update with its reason.
The ERP sync will call the same use cases as the system actor.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import Container, IdentityResult, Material, MaterialLot, check_container


class Outcome(StrEnum):
    """What an upsert did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def upsert_material(uow: UnitOfWork, material: Material, at: datetime) -> Outcome:
    """Create or update a material by its code inside the caller's unit of work; the same data changes nothing."""
    current = uow.materials.get(material.code)
    if current == material:
        return Outcome.UNCHANGED
    uow.materials.put(material, at)
    return Outcome.CREATED if current is None else Outcome.UPDATED


def upsert_lot(uow: UnitOfWork, lot: MaterialLot, at: datetime) -> Outcome:
    """Create or update a lot by (material code, lot number) inside the caller's unit of work; its material must be
    known."""
    if uow.materials.get(lot.material_code) is None:
        raise InvalidInput(f"Unknown material {lot.material_code!r}: receive the material first.")
    current = uow.lots.get(lot.material_code, lot.lot_number)
    if current == lot:
        return Outcome.UNCHANGED
    uow.lots.put(lot, at)
    return Outcome.CREATED if current is None else Outcome.UPDATED


class MasterDataService:
    """Use cases of the supervisor (and later the ERP sync) on the master data copy."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _open(self, actor: Actor, reason: str, request: RequestInfo | None) -> UnitOfWork:
        ctx = AuditContext(actor, self._clock.now(), require_reason(reason), request or RequestInfo())
        return self._uow(ctx)

    def _authorise(self, uow: UnitOfWork, actor: Actor) -> None:
        if actor.user_id is not None:
            require(uow.users.get(actor.user_id), Permission.MASTERDATA_MANAGE)

    def put_material(
        self, actor: Actor, material: Material, reason: str, request: RequestInfo | None = None
    ) -> Outcome:
        """Create or update a material by its code."""
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor)
            outcome = upsert_material(uow, material, self._clock.now())
            if outcome is not Outcome.UNCHANGED:
                uow.commit()
        return outcome

    def put_lot(self, actor: Actor, lot: MaterialLot, reason: str, request: RequestInfo | None = None) -> Outcome:
        """Create or update a lot by (material code, lot number); the material must be known."""
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor)
            outcome = upsert_lot(uow, lot, self._clock.now())
            if outcome is not Outcome.UNCHANGED:
                uow.commit()
        return outcome

    def put_container(
        self, actor: Actor, container: Container, reason: str, request: RequestInfo | None = None
    ) -> Outcome:
        """Create or update a container by barcode; its lot must be known and its unit be the material's."""
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor)
            if uow.lots.get(container.material_code, container.lot_number) is None:
                raise InvalidInput(f"Unknown lot {container.lot_number!r} of material {container.material_code!r}.")
            material = uow.materials.get(container.material_code)
            if material is not None and material.unit != container.unit:
                raise InvalidInput(f"{material.code} is counted in {material.unit}, not {container.unit}.")
            current = uow.containers.get(container.barcode)
            if current == container:
                return Outcome.UNCHANGED
            uow.containers.put(container, self._clock.now())
            uow.commit()
        return Outcome.CREATED if current is None else Outcome.UPDATED

    def materials(self) -> list[Material]:
        """Every material."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.materials.list()

    def lots(self, material_code: str | None = None) -> list[MaterialLot]:
        """Every lot, or those of one material."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.lots.list(material_code)

    def containers(self) -> list[Container]:
        """Every container."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.containers.list()

    def identify(self, barcode: str, expected_material: str, today: date | None = None) -> IdentityResult:
        """The identity check of a scanned container against the material a step needs (read only)."""
        day = today or self._clock.now().date()
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            container = uow.containers.get(barcode.strip())
            lot = uow.lots.get(container.material_code, container.lot_number) if container else None
        return check_container(barcode, container, lot, expected_material, day)
