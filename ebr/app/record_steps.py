"""Step records with their values and signatures, and the ISA-88 procedural tree built from them (BR-01).

The tree is procedure (the batch) → unit procedure (the BPMN process a step belongs to: the main process or a
called one) → operation (a step of the procedure) → phase (one execution of that step; a rework loop adds one).
So the phases are exactly the executed tasks, repeats included, and each carries its start, end, status,
equipment, performer and verifier; the levels above aggregate their children.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ebr.app.batch_scope import STEP_SIGNATURES
from ebr.app.execution_context import CANCELLED, PERFORMED, READY, SKIPPED
from ebr.app.ports import StoredStep
from ebr.app.record_evidence import Evidence
from ebr.app.record_sections import Json, People, signature, value, when
from ebr.domain.steps import StepDefinition

OPEN = frozenset({READY, PERFORMED})
RUNNING = "in_progress"


def _labels(evidence: Evidence) -> dict[str, dict[str, str]]:
    """Field labels per step, from the pinned (immutable) procedure version."""
    procedure = evidence.procedure
    return {
        step.id: {f.id: f.label for f in procedure.forms[step.form_id].fields}
        for step in procedure.steps.values()
        if step.form_id in procedure.forms
    }


def _values(evidence: Evidence, people: People) -> dict[int, list[Json]]:
    """Every value row per step record, in entry order, each marked current or superseded."""
    labels = _labels(evidence)
    step_of = {s.id: s.step_id for s in evidence.steps}
    superseded_by = {v.supersedes_id: v.id for v in evidence.values if v.supersedes_id is not None}
    current: dict[tuple[int, str], int] = {}
    for row in evidence.values:  # the value in force is the last entered per field, as execution reads it
        current[(row.step_record_id, row.field_id)] = row.id
    found: dict[int, list[Json]] = defaultdict(list)
    for row in evidence.values:
        label = labels.get(step_of.get(row.step_record_id, ""), {}).get(row.field_id, row.field_id)
        is_current = current[(row.step_record_id, row.field_id)] == row.id
        found[row.step_record_id].append(value(row, label, superseded_by.get(row.id), is_current, people))
    return found


def _equipment(evidence: Evidence) -> dict[int, list[str]]:
    """The instances each step record used: scanned ones and the ones its device values were read from."""
    codes: dict[int, set[str]] = defaultdict(set)
    for use in evidence.uses:
        codes[use.step_record_id].add(use.equipment_code)
    for row in evidence.values:
        if row.equipment_code:
            codes[row.step_record_id].add(row.equipment_code)
    return {step: sorted(found) for step, found in codes.items()}


def _definition(evidence: Evidence, step: StoredStep) -> StepDefinition | None:
    return evidence.procedure.steps.get(step.step_id)


def steps(evidence: Evidence, people: People) -> list[Json]:
    """Every step record in order, with its values and the signatures given on it."""
    values = _values(evidence, people)
    equipment = _equipment(evidence)
    signed: dict[str, list[Json]] = defaultdict(list)
    for stored in evidence.signatures:
        if stored.object_type == STEP_SIGNATURES:
            signed[stored.object_id].append(signature(stored))
    return [_step(s, _definition(evidence, s), values, equipment, signed, people) for s in evidence.steps]


def _step(
    step: StoredStep,
    definition: StepDefinition | None,
    values: dict[int, list[Json]],
    equipment: dict[int, list[str]],
    signed: dict[str, list[Json]],
    people: People,
) -> Json:
    return {
        "id": step.id,
        "step_id": step.step_id,
        "name": definition.name if definition else step.step_id,
        "unit_procedure": step.process_id,
        "iteration": step.iteration,
        "status": step.status,
        "critical": definition.critical if definition else False,
        "needs_verifier": bool(definition.verifier_roles) if definition else False,
        "became_ready_at": when(step.became_ready_at),
        "performed_at": when(step.performed_at),
        "verified_at": when(step.verified_at),
        "completed_at": when(step.completed_at),
        "assigned_to": people(step.assigned_to),
        "performer": people(step.performed_by),
        "verifier": people(step.verified_by),
        "hold_earliest": when(step.hold_earliest),
        "hold_latest": when(step.hold_latest),
        "hold_deviation_id": step.hold_deviation_id,
        "equipment": equipment.get(step.id, []),
        "values": values.get(step.id, []),
        "signatures": signed.get(str(step.id), []),
    }


def _aggregate_status(statuses: Sequence[str]) -> str:
    if any(s in OPEN or s == RUNNING for s in statuses):
        return RUNNING
    for final in (CANCELLED, SKIPPED):
        if all(s == final for s in statuses):
            return final
    return "completed"


def _node(level: str, node_id: str, name: str, children: list[Json], status: str | None = None) -> Json:
    """A node above the phases: its span, status, equipment and signatures are its children's."""
    state = status or _aggregate_status([str(c["status"]) for c in children])
    starts = sorted(str(c["started_at"]) for c in children if c["started_at"] is not None)
    ends = [c["ended_at"] for c in children]
    finished = state not in OPEN and state != RUNNING and all(e is not None for e in ends)
    return {
        "level": level,
        "id": node_id,
        "name": name,
        "status": state,
        "started_at": starts[0] if starts else None,
        "ended_at": max(str(e) for e in ends) if finished and ends else None,
        "equipment": sorted({str(code) for c in children for code in _list(c["equipment"])}),
        "signature_ids": sorted({int(str(i)) for c in children for i in _list(c["signature_ids"])}),
        "children": children,
    }


def _list(items: object) -> Iterable[object]:
    assert isinstance(items, list)
    return items


def _phase(step: Json) -> Json:
    return {
        "level": "phase",
        "id": str(step["id"]),
        "name": step["name"],
        "step_record_id": step["id"],
        "iteration": step["iteration"],
        "status": step["status"],
        "started_at": step["became_ready_at"],
        "ended_at": step["completed_at"],
        "equipment": step["equipment"],
        "performer": step["performer"],
        "verifier": step["verifier"],
        "signature_ids": [s["id"] for s in _signatures(step)],
        "children": [],
    }


def _signatures(step: Json) -> list[Json]:
    found = step["signatures"]
    assert isinstance(found, list)
    return found


def procedure_tree(evidence: Evidence, step_lines: list[Json]) -> Json:
    """Procedure → unit procedures → operations → phases, each level in the order it first ran."""
    units: dict[str, dict[str, list[Json]]] = {}
    for step in step_lines:  # step records are in id order, so first-run order falls out
        units.setdefault(str(step["unit_procedure"]), {}).setdefault(str(step["step_id"]), []).append(_phase(step))
    names = {s.id: s.name for s in evidence.procedure.steps.values()}
    unit_nodes = [
        _node(
            "unit_procedure",
            unit,
            unit,
            [_node("operation", op, names.get(op, op), phases) for op, phases in operations.items()],
        )
        for unit, operations in units.items()
    ]
    status = str(evidence.batch.batch.status)
    return _node("procedure", evidence.procedure.bundle.procedure_id, evidence.version.title, unit_nodes, status)
