"""Builders for the ERP outbox tests: postings of made-up batches, enqueued the way a use case does it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ebr.adapters.erp.http import ErpTimeouts, HttpErpTransport
from ebr.app.context import Actor, AuditContext
from ebr.app.dispatch import Dispatcher, DispatchSettings
from ebr.app.outbox import enqueue
from ebr.app.ports import ErpTransport
from ebr.bootstrap import Runtime, posting_encoder
from ebr.domain.erp import MaterialLine, MaterialUse, PerformanceState, Posting, PostingKind

SITE = "EBR-SITE-TEST"
QUICK = ErpTimeouts(connect=2.0, read=2.0, write=2.0, pool=2.0)


def lines(batch: str, produced: str = "118.5", material: str = "PARA-API") -> tuple[MaterialLine, ...]:
    """A goods receipt of the batch's lot into quality inspection, and one lot consumed."""
    return (
        MaterialLine(MaterialUse.PRODUCED, "PARA-500", batch, Decimal(produced), "kg", None, "QualityInspection"),
        MaterialLine(MaterialUse.CONSUMED, material, "PA-24001", Decimal("25"), "kg", "C-PA-0001"),
    )


def posting(
    batch: str,
    kind: PostingKind = PostingKind.COMPLETION,
    revision: int = 1,
    at: datetime | None = None,
    *,
    material: str = "PARA-API",
    produced: str = "118.5",
    reverses: str | None = None,
) -> Posting:
    """A posting of a batch; a usage decision says 'Released', a reversal names the key it cancels."""
    decided = kind is PostingKind.USAGE_DECISION
    return Posting(
        kind=kind,
        site=SITE,
        batch_id=batch,
        order_number=f"PO-{batch}",
        revision=revision,
        created_at=at or datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        procedure="granulation@3",
        state=PerformanceState.ABORTED if kind is PostingKind.ABORTED else PerformanceState.COMPLETED,
        lines=() if decided or kind is PostingKind.REVERSAL else lines(batch, produced, material),
        data=(("QualityDisposition", "Released"),) if decided else (("YieldPercent", "98.75"),),
        reverses=reverses,
    )


def enqueue_all(rt: Runtime, postings: Sequence[Posting]) -> list[int]:
    """Enqueue each posting in its own unit of work, as the state change that causes it would."""
    ids = []
    for item in postings:
        with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now(), "test set-up")) as uow:
            ids.append(enqueue(uow, item, posting_encoder(), batch_pk=None, record_hash=None))
            uow.commit()
    return ids


class Jitter:
    """The random draw of the backoff, fixed by the test; remembers what it was asked."""

    def __init__(self, value: float = 1.0) -> None:
        self.value = value
        self.calls: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.calls.append((low, high))
        return self.value


LEASE = timedelta(minutes=10)


def dispatcher(
    rt: Runtime,
    url: str,
    name: str = "dispatcher-1",
    jitter: Jitter | None = None,
    timeouts: ErpTimeouts = QUICK,
    transport: ErpTransport | None = None,
) -> Dispatcher:
    """A dispatcher of this runtime against the ERP at url (or through the given transport); close() it at the end."""
    s = rt.services
    sender = transport or HttpErpTransport(url, timeouts)
    settings = DispatchSettings(name, 20, LEASE)
    return Dispatcher(s.uow, sender, s.clock, s.alerts, s.incidents, settings, jitter or Jitter())


def set_settings(rt: Runtime, **values: int) -> None:
    """Arrange GMP settings directly (test set-up; a real change is a signed admin action), e.g. erp_max_attempts=3."""
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        for name, value in values.items():
            uow.settings.put(name.replace("_", ".", 1), value, now)
        uow.commit()
