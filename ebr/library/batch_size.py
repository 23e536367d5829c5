"""The procedure's nominal batch size: an ebr:batchSize property on the main process, e.g. "120 kg"."""

from __future__ import annotations

import re
from decimal import Decimal

from ebr.app.ports import LintProblem
from ebr.domain.materials import UNITS
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.scaling import NominalBatch
from ebr.library import bpmn

MAIN_FILE = "workflows/{}/procedure.bpmn"
SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s+(\S+)")


def nominal_batch(bundle: ProcedureBundle) -> NominalBatch | None:
    """The main process's nominal batch size; None when it declares none or declares it wrongly (see problems)."""
    main = _main(bundle)
    if main is None:
        return None
    sizes = _own(main)
    if len(sizes) != 1 or _reason(sizes[0].value):
        return None
    quantity, unit = sizes[0].value.split()
    return NominalBatch(Decimal(quantity), unit)


def problems(bundle: ProcedureBundle) -> list[LintProblem]:
    """A batch size that is malformed, repeated, or on an element other than the main process."""
    main = _main(bundle)
    if main is None:
        return []
    own = _own(main)
    found = [
        LintProblem(ref.element_id, f"{bpmn.BATCH_SIZE} belongs on the process, not on an element of it")
        for ref in main.batch_sizes
        if ref not in own
    ]
    if len(own) > 1:
        found.append(LintProblem(own[1].element_id, f"{bpmn.BATCH_SIZE} is declared more than once"))
    found.extend(LintProblem(ref.element_id, _reason(ref.value)) for ref in own if _reason(ref.value))
    return found


def _main(bundle: ProcedureBundle) -> bpmn.BpmnFile | None:
    content = bundle.files.get(MAIN_FILE.format(bundle.procedure_id))
    parsed = bpmn.try_read("procedure.bpmn", content) if content is not None else None
    return parsed if isinstance(parsed, bpmn.BpmnFile) else None


def _own(main: bpmn.BpmnFile) -> list[bpmn.Reference]:
    process_id = main.main().id
    return [ref for ref in main.batch_sizes if ref.element_id == process_id]


def _reason(value: str) -> str:
    """Why a batch size text is not usable; empty when it is."""
    match = SIZE.fullmatch(value)
    if match is None:
        return f"{bpmn.BATCH_SIZE} {value!r} is not a quantity and unit such as '120 kg'"
    if Decimal(match.group(1)) <= 0:
        return f"{bpmn.BATCH_SIZE} {value!r} is not a positive quantity"
    if match.group(2) not in UNITS:
        return f"{bpmn.BATCH_SIZE} unit {match.group(2)!r} is not one of {', '.join(sorted(UNITS))}"
    return ""
