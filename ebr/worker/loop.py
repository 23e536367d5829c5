"""`ebr worker`: runs every background job in a loop (later capabilities add their jobs here)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ebr.app.integrity import IntegrityService
from ebr.app.ports.documents import RenderFailed
from ebr.bootstrap import Runtime, pdf_signature_check

log = logging.getLogger("ebr.worker")


@dataclass(frozen=True)
class Job:
    """A named job; one failing job never stops the others."""

    name: str
    run: Callable[[Runtime], object]


def deliver_alerts(rt: Runtime) -> object:
    """Retry alerts that could not be delivered at once."""
    return rt.services.alerts.deliver_pending()


def deliver_incidents(rt: Runtime) -> object:
    """Notify incidents once; a failed delivery is tried again next round."""
    return rt.services.incidents.deliver_pending()


def checkpoint_audit(rt: Runtime) -> object:
    """Sign the audit chain head periodically (AUD-06)."""
    minutes = rt.services.settings.current()["audit.checkpoint_minutes"]
    return rt.services.trail.checkpoint_if_due(minutes)


def verify_integrity(rt: Runtime) -> object:
    """The scheduled integrity check: audit chain, signatures and stored documents, its result recorded; a
    failure raises an alert and opens an incident (REC-07)."""
    return IntegrityService(rt.services, pdf_signature_check(rt.settings)).run_scheduled().summary()


def check_clock(rt: Runtime) -> object:
    """Compare the application clock with the database clock (TIME-02)."""
    return rt.services.system.check_clock(rt.database_now())


def overdue_holds(rt: Runtime) -> object:
    """A deviation for every step past its maximum hold time, whether or not anyone opens the batch (211.111)."""
    return rt.services.execution.raise_overdue_holds()


def render_candidates(rt: Runtime) -> object:
    """Render the release candidate PDF of every batch in review whose record changed since (MISSION: PDF
    signature); a batch whose rendering fails is named, and tried again next round."""
    report = rt.services.documents.render_pending()
    if report.failed:
        failed = "; ".join(f"{batch}: {why}" for batch, why in sorted(report.failed.items()))
        raise RenderFailed(f"release candidate rendering failed for {failed}")
    return len(report.rendered)


def dispatch_erp(rt: Runtime) -> object:
    """Deliver the due ERP postings, a few rounds at a time, so the other jobs keep their turn (ERP-02..ERP-05)."""
    report = rt.services.dispatcher.drain(max_rounds=ERP_ROUNDS)
    if report.disabled:
        return "no ERP endpoint configured (EBR_ERP_URL): postings stay pending"
    return f"{report.sent} sent, {report.retried} to retry, {report.dead} dead"


ERP_ROUNDS = 10

JOBS: tuple[Job, ...] = (
    Job("alerts", deliver_alerts),
    Job("holds", overdue_holds),
    Job("incidents", deliver_incidents),
    Job("audit-checkpoint", checkpoint_audit),
    Job("clock", check_clock),
    Job("documents", render_candidates),
    Job("erp", dispatch_erp),
)
HOURLY: tuple[Job, ...] = (Job("integrity-check", verify_integrity),)


def run_once(rt: Runtime, jobs: tuple[Job, ...] = JOBS) -> dict[str, object]:
    """Run each job once; returns each job's result or the error it raised."""
    results: dict[str, object] = {}
    for job in jobs:
        try:
            results[job.name] = job.run(rt)
        except Exception as exc:  # a failing job is logged and retried next round
            log.exception("job %s failed", job.name)
            results[job.name] = exc
    return results


def run_forever(rt: Runtime, stop: threading.Event | None = None) -> None:
    """Loop until stopped; the hourly jobs run every 360 rounds of the default 10 s interval."""
    stop = stop or threading.Event()
    rt.services.system.record_startup("worker")
    rounds = 0
    while not stop.is_set():
        run_once(rt, JOBS + HOURLY if rounds % 360 == 0 else JOBS)
        rounds += 1
        stop.wait(rt.settings.worker_interval_seconds)
