"""The control recipe's batch size: a master written for a nominal batch, scaled to the order's planned quantity
(ISA-88 control recipe, 211.188(a)). Scaled limits are the master's target and tolerance times the scale factor."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ebr.domain.errors import InvalidInput
from ebr.domain.steps import FormDefinition


@dataclass(frozen=True)
class NominalBatch:
    """The batch size the master's quantities are written for."""

    quantity: Decimal
    unit: str


def scale_factor(nominal: NominalBatch | None, planned: Decimal, unit: str) -> Decimal:
    """Planned ÷ nominal, exact in Decimal; 1 for a master without a nominal size; refused across units."""
    if nominal is None:
        return Decimal(1)
    if unit != nominal.unit:
        raise InvalidInput(
            f"The order is planned in {unit!r}, but the procedure's nominal batch size is "
            f"{nominal.quantity} {nominal.unit}: the quantities cannot be scaled across units."
        )
    if nominal.quantity <= 0:
        raise InvalidInput(f"The procedure's nominal batch size {nominal.quantity} {nominal.unit} is not positive.")
    return planned / nominal.quantity


def scaled_form(form: FormDefinition, factor: Decimal) -> FormDefinition:
    """The form with every scaled limit multiplied by the factor; the same form when nothing changes."""
    if factor == 1 or not any(f.limit is not None and f.limit.scaled for f in form.fields):
        return form
    fields = tuple(replace(f, limit=f.limit.times(factor)) if f.limit is not None else f for f in form.fields)
    return replace(form, fields=fields)
