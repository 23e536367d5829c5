"""Samples and their results (21 CFR 211.188(b)(10), 211.194; BatchML Samples; BR-07).

Design, chosen to be the smallest an auditor accepts:
* A form with a `sample` block makes its step a sampling step. When the performer signs it, the same transaction
  records the sample: a generated ID unique in the plant (`<batch>-S<n>`, printed on the sample's label), the time
  it was pulled, its quantity and unit, who pulled it (the signer), its purpose, the container or LIMS reference
  where the form asks for one, and whether a laboratory result must be linked to it. The row is append-only.
* A result is linked later by QA as a signed batch action of kind `result` (the house pattern for acts that take
  effect when signed): requested with the result, whether it conforms and the reason, then signed "approved" under
  the site policy's `batch_sample` rule. It may arrive after completion, while the batch is in review; a released
  or rejected record takes no result (that is an addendum). A result that does not conform opens a deviation.
  Several results may be linked to one sample (a retest); all stay in the record, oldest first.
* A sample whose form says `result_required` (the default) and that has no signed result blocks release, the
  blocker naming the sample ID; `"result_required": false` is how QA configures a sample that needs none (an
  in-process test whose result is the step's own value).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.deviations import open_in
from ebr.app.device_release import device_release
from ebr.app.execution_context import ProcedureCache, StepContext, current_values
from ebr.app.execution_results import terminal_of
from ebr.app.ports import Clock, StoredAction, StoredBatch, StoredSample, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.batch import check_not_decided
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.domain.udi import DeviceIdentification

RESULT = "result"  # the batch action kind that links a result to a sample
APPLIED = "applied"
MAX_RESULT = 500


def sample_id_of(batch_id: str, number: int) -> str:
    """The sample's ID: the batch and its running number, unique because batch IDs are."""
    return f"{batch_id}-S{number}"


def _text(values: dict[str, str | None], field_id: str) -> str:
    value = values.get(field_id)
    return "" if value is None else str(value)


def _quantity(context: StepContext, text: str) -> str:
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        quantity = Decimal(0)
    if not quantity.is_finite() or quantity <= 0:
        raise Conflict(f"Step {context.step.name!r}: a sample needs a quantity above 0, not {text or 'none'}.")
    return text


def _taken_at(context: StepContext, text: str, now: datetime) -> datetime:
    if not text:
        return now
    taken = datetime.fromisoformat(text)  # validated as an aware ISO time when it was entered
    if taken > now:
        raise Conflict(f"Step {context.step.name!r}: the sample time {text} is in the future.")
    return taken


def record_sample(uow: UnitOfWork, context: StepContext, by: int, ctx: AuditContext) -> StoredSample | None:
    """The sample of a sampling step, recorded as its performer signs; None for any other step."""
    spec = context.form.sample
    if spec is None:
        return None
    values = {k: v.value for k, v in current_values(uow.step_values.for_step(context.record.id)).items()}
    unit = context.field(spec.quantity).unit or spec.unit
    number = len(uow.samples.for_batch(context.batch.id)) + 1  # the batch is locked while its step is signed
    return uow.samples.add(
        StoredSample(
            0,
            context.batch.id,
            context.record.id,
            sample_id_of(context.batch.batch.id, number),
            _quantity(context, _text(values, spec.quantity)),
            unit,
            spec.purpose,
            _text(values, spec.reference) if spec.reference else "",
            spec.result_required,
            _taken_at(context, _text(values, spec.time) if spec.time else "", ctx.at),
            by,
            terminal_of(ctx.request),
            ctx.at,
        )
    )


@dataclass(frozen=True)
class SampleResult:
    """A result linked to a sample: what was found, whether it conforms, and the signed action that linked it."""

    action: StoredAction
    result: str
    conforms: bool

    @property
    def applied(self) -> bool:
        """Signed "approved", so in force."""
        return self.action.status == APPLIED


def result_of(action: StoredAction) -> tuple[str, SampleResult]:
    """The sample ID an action of kind result names, and the result it links."""
    params = json.loads(action.payload or "{}")
    return str(params.get("sample", "")), SampleResult(
        action, str(params.get("result", "")), params.get("conforms") == "yes"
    )


def results_by_sample(actions: Iterable[StoredAction]) -> dict[str, list[SampleResult]]:
    """Every result requested for the batch's samples, signed or pending, oldest first."""
    found: dict[str, list[SampleResult]] = {}
    for action in sorted((a for a in actions if a.kind == RESULT), key=lambda a: a.id):
        sample_id, result = result_of(action)
        found.setdefault(sample_id, []).append(result)
    return found


def result_status(sample: StoredSample, results: Sequence[SampleResult]) -> str:
    """recorded (a signed result), pending (one is required, none signed yet) or not required."""
    if any(r.applied for r in results):
        return "recorded"
    return "pending" if sample.result_required else "not required"


def pending_results(samples: Iterable[StoredSample], actions: Iterable[StoredAction]) -> list[str]:
    """The IDs of the samples whose required result is not linked and signed yet."""
    results = results_by_sample(actions)
    return [s.sample_id for s in samples if result_status(s, results.get(s.sample_id, [])) == "pending"]


def check_result(uow: UnitOfWork, batch: StoredBatch, params: dict[str, str]) -> StoredSample:
    """The sample the result is for (of this batch), with a result text and a yes/no conformance."""
    sample = uow.samples.by_sample_id(params.get("sample", ""))
    if sample is None or sample.batch_id != batch.id:
        raise NotFound(f"Batch {batch.batch.id} has no sample {params.get('sample', '')[:80]!r}.")
    result = params.get("result", "").strip()
    if not result or len(result) > MAX_RESULT or not result.isprintable():
        raise InvalidInput(f"The result of sample {sample.sample_id}: 1 to {MAX_RESULT} printable characters.")
    if params.get("conforms") not in ("yes", "no"):
        raise InvalidInput(f"Does the result of sample {sample.sample_id} conform? Answer yes or no.")
    return sample


def apply_result(uow: UnitOfWork, batch: StoredBatch, action: StoredAction, by: int, at: datetime) -> None:
    """A signed result: in force from now; one that does not conform opens a deviation (211.192)."""
    sample_id, result = result_of(action)
    sample = check_result(uow, batch, {"sample": sample_id, "result": result.result, "conforms": _yes(result)})
    if not result.conforms:
        open_in(
            uow,
            batch,
            sample.step_record_id,
            DeviationKind.FAILED_CHECK,
            Severity.MAJOR,
            f"Sample {sample.sample_id} ({sample.purpose}): result {result.result!r} does not conform.",
            "",
            at,
            by,
        )


def _yes(result: SampleResult) -> str:
    return "yes" if result.conforms else "no"


@dataclass(frozen=True)
class SampleView:
    """A sample with its results, as the batch page shows it."""

    sample: StoredSample
    results: list[SampleResult]
    status: str


class SampleService:
    """QA links laboratory results to a batch's samples; the batch page lists them with the device identification
    of a device batch."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache

    def record_result(
        self,
        actor: Actor,
        batch_id: str,
        sample_id: str,
        result: str,
        conforms: bool,
        reason: str,
        request: RequestInfo | None = None,
    ) -> StoredAction:
        """A result for the sample, pending its "approved" signature by QA (BR-07)."""
        why = require_reason(reason)
        ctx = AuditContext(actor, self._clock.now(), why, request or RequestInfo())
        params = {"sample": sample_id.strip(), "result": result.strip(), "conforms": "yes" if conforms else "no"}
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_REVIEW)
            batch = uow.batches.lock(batch_id)
            check_not_decided(batch.batch)
            check_result(uow, batch, params)
            payload = json.dumps(params, sort_keys=True)
            stored = uow.batch_actions.add(
                StoredAction(0, batch.id, None, None, RESULT, why, payload, actor.user_id, ctx.at, "pending")
            )
            uow.commit()
        return stored

    def samples(self, batch_id: str) -> list[SampleView]:
        """The batch's samples with their results, oldest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            samples = uow.samples.for_batch(batch.id)
            results = results_by_sample(uow.batch_actions.for_batch(batch.id))
        return [
            SampleView(s, results.get(s.sample_id, []), result_status(s, results.get(s.sample_id, []))) for s in samples
        ]

    def device(self, batch_id: str) -> DeviceIdentification | None:
        """The device identification of a device batch as recorded so far; None for any other batch."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            procedure = self._cache.get(uow, batch.batch.procedure_version_id)
            found = device_release(procedure, uow.batches.steps(batch.id), uow.step_values.for_batch(batch.id))
        return found.identification if found is not None else None
