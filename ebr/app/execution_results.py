"""Values the server computes when a step is signed: calculated fields, the yield and the reconciliation.

Each is computed with Decimal by the one expression evaluator from the stored values, stored with its inputs'
formula, and opens a deviation when outside its limits (SEQ-09, SEQ-10, QA-06). Review, the PDF and the ERP
read these rows, never the form.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from ebr.app.context import AuditContext, RequestInfo
from ebr.app.deviations import open_in
from ebr.app.execution_context import COMPLETED, PERFORMED, StepContext, reads, stored_text, variables
from ebr.app.ports import StoredDeviation, StoredReconciliation, StoredValue, StoredYield, UnitOfWork
from ebr.domain.batch import RECONCILIATION_FORMULA, YIELD_FORMULA, reconcile, yield_percent
from ebr.domain.calculations import parse
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.expression_terms import ExpressionError
from ebr.domain.records import LimitCheck, Source, evaluate_limits
from ebr.domain.steps import FieldDefinition, ReconciliationLine, YieldSpec


class CalculationFailed(Conflict):
    """A server-side calculation could not be made from the recorded values: the step cannot be signed yet."""


def terminal_of(request: RequestInfo) -> str:
    """The terminal an entry came from: the registered terminal, else the workstation or address (DEV-05)."""
    return (request.terminal or request.workstation or request.address or "unknown terminal")[:200]


def evaluate(context: StepContext, uow: UnitOfWork, source: str, what: str) -> Decimal:
    """One expression over the batch's recorded values, as an exact decimal."""
    try:
        value = parse(source).evaluate(variables(context, uow, reads(source)))
    except (InvalidInput, ExpressionError) as exc:
        raise CalculationFailed(f"{what} cannot be calculated: {exc}") from None
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise CalculationFailed(f"{what} is not a number ({value!r}).")
    return value


def open_out_of_limit(
    uow: UnitOfWork,
    context: StepContext,
    field: FieldDefinition,
    value: object,
    check: LimitCheck,
    at: datetime,
    by: int,
) -> StoredDeviation:
    """The deviation a value outside its field's limits opens, linked to its step and field (SEQ-09, QA-01)."""
    return open_in(
        uow,
        context.batch,
        context.record.id,
        DeviationKind.OUT_OF_LIMIT,
        Severity.MAJOR,
        f"{field.label} = {value} {field.unit} is outside {check.limit} ({check.reason}).",
        "",
        at,
        by,
        field.id,
    )


def _rounded(field: FieldDefinition, value: Decimal) -> Decimal:
    if field.precision is None:
        return value
    return value.quantize(Decimal(1).scaleb(-field.precision), rounding=ROUND_HALF_UP)


def record_calculated(uow: UnitOfWork, context: StepContext, by: int, ctx: AuditContext) -> None:
    """Compute each calculated field in form order and store it with its limit check."""
    for field in context.form.fields:
        if field.type != "calculated":
            continue
        value = _rounded(field, evaluate(context, uow, field.expression, field.label))
        check = evaluate_limits(field, value)
        deviation = None if check.within else open_out_of_limit(uow, context, field, value, check, ctx.at, by)
        uow.step_values.add(
            StoredValue(
                0,
                context.batch.id,
                context.record.id,
                field.id,
                stored_text(value),
                field.unit,
                str(Source.CALCULATED),
                ctx.at,
                by,
                terminal_of(ctx.request),
                raw=field.expression,
                within_limits=check.within if field.limit is not None else None,
                limit_text=check.limit,
                deviation_id=deviation.id if deviation else None,
            )
        )


def _bound(limit: Decimal | None) -> str:
    return "-" if limit is None else str(limit)


def _yield(uow: UnitOfWork, context: StepContext, spec: YieldSpec, by: int, at: datetime) -> None:
    produced = evaluate(context, uow, spec.produced, "The produced quantity")
    theoretical = evaluate(context, uow, spec.theoretical, "The theoretical quantity")
    scrap = evaluate(context, uow, spec.scrap, "The scrap quantity")
    samples = evaluate(context, uow, spec.samples, "The sample quantity")
    percent = yield_percent(produced, theoretical)
    within = (spec.low is None or percent >= spec.low) and (spec.high is None or percent <= spec.high)
    deviation = None
    if not within:
        deviation = open_in(
            uow,
            context.batch,
            context.record.id,
            DeviationKind.YIELD,
            Severity.MAJOR,
            f"Yield {percent} % of theoretical is outside {_bound(spec.low)} to {_bound(spec.high)} %.",
            "",
            at,
            by,
        )
    uow.yields.add_yield(
        StoredYield(
            0,
            context.batch.id,
            context.record.id,
            spec.unit,
            str(produced),
            str(scrap),
            str(samples),
            str(theoretical),
            str(percent),
            "" if spec.low is None else str(spec.low),
            "" if spec.high is None else str(spec.high),
            within,
            YIELD_FORMULA,
            deviation.id if deviation else None,
            at,
            by,
        )
    )


def _reconciliation(uow: UnitOfWork, context: StepContext, line: ReconciliationLine, by: int, at: datetime) -> None:
    amounts = [
        evaluate(context, uow, source, f"The {what} quantity of {line.material}")
        for what, source in zip(
            ("issued", "used", "returned", "waste"), (line.issued, line.used, line.returned, line.waste), strict=True
        )
    ]
    balance = reconcile(*amounts)
    if balance.exceeds(line.tolerance):
        open_in(
            uow,
            context.batch,
            context.record.id,
            DeviationKind.FAILED_CHECK,
            Severity.MAJOR,
            f"Reconciliation of {line.material}: discrepancy {balance.discrepancy} {line.unit} "
            f"exceeds the tolerance of {line.tolerance} {line.unit}.",
            "",
            at,
            by,
        )
    uow.yields.add_reconciliation(
        StoredReconciliation(
            0,
            context.batch.id,
            context.record.id,
            line.material,
            line.unit,
            str(balance.issued),
            str(balance.used),
            str(balance.returned),
            str(balance.waste),
            str(balance.discrepancy),
            RECONCILIATION_FORMULA,
            at,
            _lots(uow, context, line.material),
        )
    )


def _lots(uow: UnitOfWork, context: StepContext, material: str) -> str:
    """Which lots the batch drew the material from, as its dispensings recorded them (211.184(c), BR-03)."""
    drawn = [d for d in uow.dispensings.for_batch(context.batch.id) if d.material_code == material]
    return "; ".join(f"{d.lot_number} ({d.source_container}, {d.net} {d.unit})" for d in drawn)


def rerecord_yield(uow: UnitOfWork, context: StepContext, field_id: str, by: int, at: datetime) -> None:
    """A signed correction of a value a yield is computed from: that yield is recorded again from the corrected
    values (the earlier row stays, append-only), so the record and the ERP posting show the corrected quantities."""
    signed = [r for r in uow.batches.steps(context.batch.id) if r.status in (PERFORMED, COMPLETED)]
    latest: dict[str, StepContext] = {}
    for record in sorted(signed, key=lambda r: r.id):  # a repeated step: its last pass is the one that counts
        step = context.procedure.steps.get(record.step_id)
        if step is not None:
            latest[record.step_id] = StepContext(
                context.batch, record, step, context.procedure.form(step), context.procedure
            )
    for other in latest.values():
        spec = other.form.yield_spec
        sources = (spec.produced, spec.theoretical, spec.scrap, spec.samples) if spec else ()
        if spec is not None and any(re.search(rf"\b{re.escape(field_id)}\b", source) for source in sources):
            _yield(uow, other, spec, by, at)


def record_yield(uow: UnitOfWork, context: StepContext, by: int, at: datetime) -> None:
    """The completion step's yield and material balances, when its form declares them."""
    if context.form.yield_spec is not None:
        _yield(uow, context, context.form.yield_spec, by, at)
    for line in context.form.reconciliation:
        _reconciliation(uow, context, line, by, at)
