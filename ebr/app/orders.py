"""Production orders: created by a supervisor (or later the ERP), released for execution, cancelled with a reason."""

from __future__ import annotations

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, StoredOrder, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.orders import OrderStatus, ProductionOrder, check_order_transition
from ebr.domain.procedure import VersionStatus


class OrderService:
    """Use cases of the supervisor on production orders."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _open(self, actor: Actor, reason: str, request: RequestInfo | None) -> UnitOfWork:
        return self._uow(AuditContext(actor, self._clock.now(), reason, request or RequestInfo()))

    def _authorise(self, uow: UnitOfWork, actor: Actor) -> None:
        if actor.user_id is not None:
            require(uow.users.get(actor.user_id), Permission.ORDER_MANAGE)

    def create(
        self,
        actor: Actor,
        order: ProductionOrder,
        reason: str = "order created",
        request: RequestInfo | None = None,
    ) -> StoredOrder:
        """A new planned order; its order number and batch id must both be new."""
        if order.status is not OrderStatus.PLANNED:
            raise InvalidInput("A new order starts planned.")
        with self._open(actor, require_reason(reason), request) as uow:
            self._authorise(uow, actor)
            if uow.orders.by_number(order.order_number) is not None:
                raise InvalidInput(f"Order number {order.order_number} already exists.")
            if uow.orders.by_batch_id(order.batch_id) is not None:
                raise InvalidInput(f"Batch id {order.batch_id} is already used by another order.")
            stored = uow.orders.add(order, actor.user_id, self._clock.now())
            uow.commit()
        return stored

    def release(self, actor: Actor, order_id: int, request: RequestInfo | None = None) -> StoredOrder:
        """Release a planned order for execution; its product needs an effective procedure version."""
        with self._open(actor, "released for execution", request) as uow:
            self._authorise(uow, actor)
            stored = uow.orders.get(order_id)
            check_order_transition(stored.order.status, OrderStatus.RELEASED)
            product = stored.order.product_code
            version = uow.procedures.product_version(product)
            if version is None or version.status != VersionStatus.EFFECTIVE:
                raise Conflict(
                    f"Order {stored.order.order_number} cannot be released: product {product} has no effective "
                    "procedure version."
                )
            uow.orders.set_status(
                order_id, str(OrderStatus.RELEASED), self._clock.now(), "released for execution", version.id
            )
            uow.commit()
            return uow.orders.get(order_id)

    def cancel(self, actor: Actor, order_id: int, reason: str, request: RequestInfo | None = None) -> StoredOrder:
        """Cancel a planned or released order, with the reason."""
        why = require_reason(reason)
        with self._open(actor, why, request) as uow:
            self._authorise(uow, actor)
            stored = uow.orders.get(order_id)
            check_order_transition(stored.order.status, OrderStatus.CANCELLED)
            uow.orders.set_status(order_id, str(OrderStatus.CANCELLED), self._clock.now(), why)
            uow.commit()
            return uow.orders.get(order_id)

    def get(self, order_id: int) -> StoredOrder:
        """One order."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.orders.get(order_id)

    def list(self, status: OrderStatus | None = None) -> list[StoredOrder]:
        """Orders, newest first; optionally only those in one status."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.orders.list(str(status) if status else None)
