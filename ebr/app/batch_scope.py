"""The batch's audit trail: which audited objects belong to one batch (AUD-09).

One definition, used by the record (and so the PDF) and by QA's trail review, so the trail QA signs as reviewed and
the trail the released record prints can never differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The object type under which the signature service audits signing a step; an action is audited as batch_action.
STEP_SIGNATURES = "batch_step"


@dataclass(frozen=True)
class BatchRows:
    """The ids of every row of one batch's record, by kind."""

    batch: int
    order: int
    steps: Iterable[int]
    values: Iterable[int]
    deviations: Iterable[int]
    actions: Iterable[int]
    yields: Iterable[int]
    reconciliations: Iterable[int]
    uses: Iterable[int]
    checks: Iterable[int]
    dispensings: Iterable[int]
    labels: Iterable[str]  # the containers a dispensing filled and labelled
    signatures: Iterable[int]  # of the steps and actions
    samples: Iterable[int] = ()
    attachments: Iterable[int] = ()  # files attached to step fields (label specimens)


def batch_objects(rows: BatchRows) -> dict[str, set[str]]:
    """(object type → ids) of every audited object that belongs to the batch.

    Row entries name the table's object type and primary key; signing entries name what was signed (batch_step,
    batch_action); a dispensing also creates the labelled container it filled."""
    steps = {str(i) for i in rows.steps}
    return {
        "batch": {str(rows.batch)},
        "production_order": {str(rows.order)},
        "step_record": steps,
        STEP_SIGNATURES: steps,  # the signatures of the steps, and refused attempts to sign them
        "step_value": {str(i) for i in rows.values},
        "deviation": {str(i) for i in rows.deviations},
        "batch_action": {str(i) for i in rows.actions},
        "batch_yield": {str(i) for i in rows.yields},
        "material_reconciliation": {str(i) for i in rows.reconciliations},
        "equipment_use": {str(i) for i in rows.uses},
        "identity_check": {str(i) for i in rows.checks},
        "dispensing": {str(i) for i in rows.dispensings},
        "container": {str(label) for label in rows.labels},
        "signature": {str(i) for i in rows.signatures},
        "batch_sample": {str(i) for i in rows.samples},
        "step_attachment": {str(i) for i in rows.attachments},
    }


def flat(objects: dict[str, set[str]]) -> frozenset[tuple[str, str]]:
    """The same objects as (type, id) pairs."""
    return frozenset((kind, key) for kind, keys in objects.items() for key in keys)
