"""The outage fallback (OPS-02; docs/sop-system-outage.md): a controlled, numbered paper form for a step, issued in
advance with who and when in the audit trail, and the check that a value transcribed from paper names a form issued
for exactly that batch and step. A transcribed entry is flagged for review by exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ebr.app.accounts import require
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import READY, ProcedureCache, StepContext, load_step
from ebr.app.ports import Clock, StoredBatch, StoredStep, UnitOfWork, UnitOfWorkFactory
from ebr.app.ports.paper_forms import StoredPaperForm
from ebr.domain.accounts import Permission
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.domain.steps import FieldDefinition, StepDefinition

MAX_NUMBER = 32
ISSUABLE = (BatchStatus.IN_PROGRESS, BatchStatus.HELD)  # printed ahead of an outage, also while a batch is held


@dataclass(frozen=True)
class PaperFormSheet:
    """What the printed form shows: its number, the batch and step, and every field with unit and limits."""

    form: StoredPaperForm
    batch: StoredBatch
    record: StoredStep
    step: StepDefinition
    fields: list[FieldDefinition]
    issued_by: str


def form_number(site: str, sequence: int) -> str:
    """The printed number: the site and its running sequence, e.g. SITE-1-PF-000042."""
    return f"{site}-PF-{sequence:06d}"


def check_transcription(uow: UnitOfWork, context: StepContext, number: str) -> str:
    """The form number an entry is transcribed from, if it was issued for this batch and step; else refused."""
    wanted = number.strip()
    if not wanted:
        raise InvalidInput("A value transcribed from paper needs the number of the paper form it was written on.")
    issued = uow.paper_forms.by_number(wanted[:MAX_NUMBER])
    if issued is None or issued.batch_id != context.batch.id or issued.step_record_id != context.record.id:
        raise InvalidInput(
            f"Paper form {wanted[:MAX_NUMBER]!r} was not issued for step {context.step.name!r} of batch "
            f"{context.batch.batch.id}: enter the number printed on the form issued for this step."
        )
    return issued.number


class PaperFormService:
    """Issue numbered paper forms for a step and show them for printing."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache, site: str) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._site = site

    def issue(self, actor: Actor, batch_id: str, step_pk: int, request: RequestInfo | None = None) -> StoredPaperForm:
        """A new form for the step, numbered in the site's sequence; who issued it and when go to the audit trail."""
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, "paper form issued for an outage", request or RequestInfo())) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_EXECUTE)
            context = load_step(uow, self._cache, batch_id, step_pk)  # locks the batch
            if context.batch.batch.status not in ISSUABLE or context.record.status != READY:
                raise Conflict(
                    f"Step {context.step.name!r} is {context.record.status} in a batch that is "
                    f"{context.batch.batch.status}: paper forms are issued for a ready step of a running batch."
                )
            sequence = uow.paper_forms.next_sequence()
            issued = uow.paper_forms.add(
                StoredPaperForm(
                    0, form_number(self._site, sequence), sequence, context.batch.id, step_pk, actor.user_id, now
                )
            )
            uow.commit()
        return issued

    def sheet(self, batch_id: str, step_pk: int, number: str) -> PaperFormSheet:
        """An issued form of this step, as printed."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            context = load_step(uow, self._cache, batch_id, step_pk, lock=False)
            issued = uow.paper_forms.by_number(number[:MAX_NUMBER])
            if issued is None or issued.step_record_id != step_pk:
                raise NotFound(f"Step {step_pk} of batch {batch_id} has no paper form {number[:MAX_NUMBER]!r}.")
            fields = [f for f in context.form.fields if f.type != "calculated"]
            who = uow.users.get(issued.issued_by)
            return PaperFormSheet(
                issued, context.batch, context.record, context.step, fields, f"{who.full_name} ({who.username})"
            )

    def issued_for(self, step_pk: int) -> list[StoredPaperForm]:
        """The forms issued for a step, oldest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.paper_forms.for_step(step_pk)


def issued_at_text(at: datetime) -> str:
    """How the printed form shows its issue time."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
