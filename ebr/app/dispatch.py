"""The dispatcher: delivers the outbox to the ERP at least once, in order per batch, never inside a transaction.

A round leases the due head posting of each batch in one short transaction, sends the leased postings with no
transaction open (side by side when configured: they are of different batches), then records each attempt and moves
each posting (ERP-02..ERP-05) by the rules of dispatch_rules. The answers of a round are recorded together in one
short transaction; a posting that dies gets a transaction of its own, with its audit entry, alert and incident.
Nothing is dropped: a crash before the record leaves the lease, which expires, and the same bytes go again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ebr.app.alerts import AlertService, raise_alert
from ebr.app.context import Actor, AuditContext
from ebr.app.dispatch_rules import MAX_ERROR, RetryPolicy, classify, describe
from ebr.app.incidents import IncidentService, Severity, open_incident
from ebr.app.outbox import OBJECT_TYPE
from ebr.app.ports import (
    ClaimedPosting,
    Clock,
    DeliveryAttempt,
    ErpTransport,
    PostingStatus,
    StoredPosting,
    TransportResult,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.app.ports.erp import Outcome
from ebr.domain.audit import Action
from ebr.domain.configuration import GmpSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchSettings:
    """How one dispatcher works: its name in the leases and attempts, how many postings it leases per round, for
    how long (longer than sending them all can take, so a live dispatcher never loses its lease), and how many it
    sends at once. A round holds at most one posting per batch, so sending them side by side keeps each batch's
    order; it only overlaps the ERP's answer times."""

    name: str
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=10)
    concurrency: int = 1


@dataclass(frozen=True)
class Answer:
    """What one attempt got back, and what it means, before it is recorded."""

    posting: ClaimedPosting
    result: TransportResult
    outcome: Outcome
    started: datetime
    finished: datetime


@dataclass
class DispatchReport:
    """What one or more rounds did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    disabled: bool = False
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (key, outcome) in the order leased

    def add(self, other: DispatchReport) -> None:
        """Fold another round into this report."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.disabled = self.disabled or other.disabled
        self.outcomes.extend(other.outcomes)


def _audited(answer: Answer, current: StoredPosting) -> bool:
    """Whether recording the answer changes the status in a way the audit trail must show (dead, or back from dead)."""
    return answer.outcome is Outcome.DEAD or (answer.outcome is Outcome.SENT and current.status is PostingStatus.DEAD)


class Dispatcher:
    """Delivers due postings; several may run at once against one database (ERP-04)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        transport: ErpTransport | None,
        clock: Clock,
        alerts: AlertService,
        incidents: IncidentService,
        settings: DispatchSettings,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        self._uow = uow
        self._transport = transport
        self._clock = clock
        self._alerts = alerts
        self._incidents = incidents
        self.settings = settings
        self._uniform = uniform or random.SystemRandom().uniform
        self._said_disabled = False

    @property
    def enabled(self) -> bool:
        """False when no ERP endpoint is configured: postings then wait, pending."""
        return self._transport is not None

    def close(self) -> None:
        """Release the transport's connections."""
        if self._transport is not None:
            self._transport.close()

    def run_once(self, limit: int | None = None) -> DispatchReport:
        """Lease what is due, send it, record each attempt; returns what happened."""
        if self._transport is None:
            if not self._said_disabled:
                log.warning("No ERP endpoint is configured (EBR_ERP_URL): ERP postings stay pending, none is sent.")
                self._said_disabled = True
            return DispatchReport(disabled=True)
        transport = self._transport
        policy, claimed = self._claim(limit or self.settings.batch_size)
        if self.settings.concurrency > 1 and len(claimed) > 1:
            with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="erp-dispatch") as pool:
                answers = list(pool.map(lambda posting: self._send(transport, posting, policy), claimed))
        else:
            answers = [self._send(transport, posting, policy) for posting in claimed]
        outcomes = self._record(answers, policy)
        report = DispatchReport(claimed=len(claimed))
        for posting, outcome in zip(claimed, outcomes, strict=True):
            report.outcomes.append((posting.key, outcome))
            report.sent += outcome is Outcome.SENT
            report.retried += outcome is Outcome.RETRY
            report.dead += outcome is Outcome.DEAD
        if report.dead:
            self._alerts.deliver_pending()
            self._incidents.deliver_pending()
        return report

    def drain(self, max_rounds: int = 100, limit: int | None = None) -> DispatchReport:
        """Rounds until one finds nothing due (the next posting of a batch becomes due when its predecessor is sent)."""
        total = DispatchReport()
        for _ in range(max_rounds):
            report = self.run_once(limit)
            total.add(report)
            if report.claimed == 0:
                break
        return total

    def _system(self, now: datetime, batch: str = "") -> UnitOfWork:
        return self._uow(AuditContext(Actor.system(), now, extra={"batch": batch} if batch else {}))

    def _claim(self, limit: int) -> tuple[RetryPolicy, list[ClaimedPosting]]:
        now = self._clock.now()
        with self._system(now) as uow:
            policy = RetryPolicy.from_settings(GmpSettings.from_stored(uow.settings.stored()))
            claimed = uow.outbox.claim_due(self.settings.name, now, now + self.settings.lease, limit)
            uow.commit()  # the lease is durable before anything is sent; no transaction stays open during the call
        return policy, claimed

    def _send(self, transport: ErpTransport, posting: ClaimedPosting, policy: RetryPolicy) -> Answer:
        started = self._clock.now()
        try:
            result = transport.send(posting.key, posting.content_type, posting.payload)
        except Exception as exc:  # a transport must not raise; if one does, the posting is retried, not stranded
            log.exception("ERP transport raised for posting %s", posting.key)
            result = TransportResult(None, f"{type(exc).__name__}: {exc}")
        outcome = classify(result)
        if outcome is Outcome.RETRY and posting.attempt >= policy.max_attempts:
            outcome = Outcome.DEAD
        return Answer(posting, result, outcome, started, self._clock.now())

    def _record(self, answers: Sequence[Answer], policy: RetryPolicy) -> list[Outcome]:
        """The round's answers in one transaction; each that needs an audit entry in one of its own."""
        if not answers:
            return []
        outcomes: dict[int, Outcome] = {}
        alone: list[Answer] = []
        with self._system(self._clock.now()) as uow:
            ids = [a.posting.id for a in answers]
            current = uow.outbox.lock_many(ids)  # finishers of one posting go one at a time
            logged = uow.outbox.attempt_counts(ids)
            for answer in answers:
                held = current[answer.posting.id]
                if _audited(answer, held):
                    alone.append(answer)
                    continue
                outcomes[held.id] = self._move(uow, held, answer, policy, logged.get(held.id, 0) + 1)
            uow.commit()
        for answer in alone:
            outcomes[answer.posting.id] = self._record_alone(answer, policy)
        return [outcomes[a.posting.id] for a in answers]

    def _record_alone(self, answer: Answer, policy: RetryPolicy) -> Outcome:
        with self._system(answer.finished, answer.posting.aggregate) as uow:
            current = uow.outbox.lock(answer.posting.id)
            outcome = self._move(uow, current, answer, policy, uow.outbox.attempt_count(current.id) + 1)
            uow.commit()
        return outcome

    def _move(
        self, uow: UnitOfWork, current: StoredPosting, answer: Answer, policy: RetryPolicy, number: int
    ) -> Outcome:
        """Move the posting as the answer says and log the attempt as number `number` of the posting."""
        posting, result, outcome, at = answer.posting, answer.result, answer.outcome, answer.finished
        error = describe(result)
        if outcome is Outcome.SENT:
            self._sent(uow, current, result, at)
        elif current.status is not PostingStatus.PENDING or current.claimed_by != self.settings.name:
            # Our lease lapsed and another dispatcher holds the posting now: the evidence is kept, the state is
            # theirs to move.
            outcome, error = Outcome.RETRY, f"lease lost before the answer came; {error}"[:MAX_ERROR]
        elif outcome is Outcome.RETRY:
            wait = policy.delay(posting.attempt, self._uniform(0.5, 1.0), result.retry_after)
            uow.outbox.schedule_retry(posting.id, result.status, error, at + timedelta(seconds=wait))
        else:
            self._dead(uow, current, (posting.attempt, number), result, error, at)
        uow.outbox.record_attempt(
            DeliveryAttempt(
                posting.id,
                number,
                self.settings.name,
                answer.started,
                at,
                posting.payload_sha256,
                result.status,
                outcome,
                error,
            )
        )
        return outcome

    @staticmethod
    def _sent(uow: UnitOfWork, current: StoredPosting, result: TransportResult, at: datetime) -> None:
        uow.outbox.mark_sent(current.id, result.status, at)
        if current.status is PostingStatus.DEAD:
            # Declared dead on another attempt, yet the ERP has it: the record must say so.
            uow.audit.append(
                Action.STATE_CHANGE,
                OBJECT_TYPE,
                str(current.id),
                field="status",
                old=str(PostingStatus.DEAD),
                new=str(PostingStatus.SENT),
                reason=f"the ERP acknowledged key {current.key} on an attempt still under way",
            )

    def _dead(
        self,
        uow: UnitOfWork,
        current: StoredPosting,
        numbers: tuple[int, int],
        result: TransportResult,
        error: str,
        at: datetime,
    ) -> None:
        attempt, logged = numbers  # the attempt of this round, and its number in the posting's attempt log
        uow.outbox.mark_dead(current.id, result.status, error)
        what = f"ERP posting {current.key} ({current.kind} {current.revision} of batch {current.aggregate})"
        why = f"dead after attempt {attempt}: {error}"
        uow.audit.append(
            Action.STATE_CHANGE,
            OBJECT_TYPE,
            str(current.id),
            field="status",
            old=str(PostingStatus.PENDING),
            new=str(PostingStatus.DEAD),
            reason=f"{why} (key {current.key}, payload sha256 {current.payload_sha256})"[:MAX_ERROR],
        )
        message = f"{what} is {why}. Fix the cause, then replay it: the same key and bytes are sent again."
        raise_alert(uow, "erp-dead", message, self._clock)
        open_incident(
            uow,
            f"erp-dead:{current.id}:{logged}",
            "erp_dead",
            Severity.CRITICAL,
            f"ERP posting dead: {current.kind} of batch {current.aggregate}",
            message,
            at,
            current.key,  # the posting's idempotency key: what the ERP's own logs name it by
        )
