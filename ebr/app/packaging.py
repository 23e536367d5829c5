"""Packaging and labelling (21 CFR 211.130, 211.188(b)(6), (8); BR-06).

Design: a packaging procedure is built from what the library already has. Line clearance before and after is the
common line clearance sub-procedure called twice; its release form carries a `line_clearance` block naming the
yes/no confirmation, and that step is signed only when the line is confirmed clear. A labelling step's form has a
`labelling` block naming the label version field, the specimen (an attachment field, so a missing specimen blocks
signing like any missing value, and the step's signature covers the specimen's SHA-256) and the label stock's
material code. Label reconciliation is the ordinary reconciliation of that material in pieces (issued - used -
returned - destroyed, beyond its tolerance a deviation). The record gathers these into one packaging section.
"""

from __future__ import annotations

from ebr.app.execution_context import StepContext
from ebr.app.ports import UnitOfWork
from ebr.domain.errors import Conflict


class LineNotClear(Conflict):
    """A line clearance cannot be signed while the line is not confirmed clear (211.130(e))."""


def check_line_clear(uow: UnitOfWork, context: StepContext) -> None:
    """A line clearance release is signed only when its confirmation says the line is clear."""
    spec = context.form.line_clearance
    if spec is None:
        return
    value = uow.step_values.current(context.record.id, spec.clear)
    if value is None or value.value != "true":
        raise LineNotClear(f"Step {context.step.name!r} cannot be signed: the line is not confirmed clear.")
