"""The record's control recipe: the master's nominal batch scaled to this batch (BR-02, ISA-88, 211.188(a)).

The master's quantities are written for its nominal batch size; the batch runs them times planned ÷ nominal. The record
shows both, so a reviewer sees what the master said and what this batch was held to, plus the equipment allocated.
"""

from __future__ import annotations

from decimal import Decimal

from ebr.app.record_evidence import Evidence
from ebr.app.record_sections import Json
from ebr.domain.scaling import scale_factor


def control_recipe(evidence: Evidence) -> Json:
    """Nominal and planned size, the scale factor, every scaled quantity or setpoint, the equipment allocated."""
    procedure, order = evidence.procedure, evidence.order.order
    nominal = procedure.nominal
    factor = scale_factor(nominal, order.planned_quantity, order.unit)
    return {
        "nominal_batch_size": {"quantity": str(nominal.quantity), "unit": nominal.unit} if nominal else None,
        "planned_batch_size": {"quantity": str(order.planned_quantity), "unit": order.unit},
        "scale_factor": str(factor),
        "scaled": _scaled(evidence, factor),
        "equipment": _equipment(evidence),
    }


def _scaled(evidence: Evidence, factor: Decimal) -> list[Json]:
    """Each field whose limit the master marks as scaled, in step order: master and scaled target and tolerance."""
    procedure = evidence.procedure
    lines: list[Json] = []
    for step_id in sorted(procedure.steps):
        step = procedure.steps[step_id]
        form = procedure.forms.get(step.form_id)
        for field in form.fields if form else ():
            limit = field.limit
            if limit is None or not limit.scaled or limit.target is None or limit.tolerance is None:
                continue
            scaled = limit.times(factor)
            lines.append(
                {
                    "step_id": step_id,
                    "field_id": field.id,
                    "label": field.label,
                    "unit": field.unit,
                    "master_target": str(limit.target),
                    "master_tolerance": str(limit.tolerance),
                    "target": str(scaled.target),
                    "tolerance": str(scaled.tolerance),
                }
            )
    return lines


def _equipment(evidence: Evidence) -> list[Json]:
    """The classes the steps name, each with the instances the batch used of it."""
    classes = sorted({s.equipment_class for s in evidence.procedure.steps.values() if s.equipment_class})
    classes += sorted({u.class_id for u in evidence.uses} - set(classes))
    return [
        {"class_id": c, "instances": sorted({u.equipment_code for u in evidence.uses if u.class_id == c})}
        for c in classes
    ]
