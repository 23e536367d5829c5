"""Procedure versions: the bundle, its content hash, the signed lifecycle and the comparison of two versions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ebr.domain.errors import Conflict, InvalidTransition
from ebr.domain.steps import FormDefinition, StepDefinition


class VersionStatus(StrEnum):
    """draft → in review → approved → effective → superseded / retired (VAL-08)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    RETIRED = "retired"


def check_startable(version_label: str, status: VersionStatus, effective_from: datetime | None, now: datetime) -> None:
    """A batch starts only on a version effective on the start date (SEQ-06); the refusal names the state."""
    if status is not VersionStatus.EFFECTIVE:
        raise Conflict(f"A batch cannot start on {version_label}: it is {status.replace('_', ' ')}, not effective.")
    if effective_from is not None and effective_from > now:
        raise Conflict(
            f"A batch cannot start on {version_label}: it becomes effective only on {effective_from.isoformat()}."
        )


ALLOWED: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.DRAFT: frozenset({VersionStatus.IN_REVIEW, VersionStatus.RETIRED}),
    VersionStatus.IN_REVIEW: frozenset({VersionStatus.APPROVED, VersionStatus.DRAFT, VersionStatus.RETIRED}),
    VersionStatus.APPROVED: frozenset({VersionStatus.EFFECTIVE, VersionStatus.RETIRED}),
    VersionStatus.EFFECTIVE: frozenset({VersionStatus.SUPERSEDED, VersionStatus.RETIRED}),
    VersionStatus.SUPERSEDED: frozenset({VersionStatus.RETIRED}),
    VersionStatus.RETIRED: frozenset(),
}
IMMUTABLE = frozenset(
    {
        VersionStatus.IN_REVIEW,
        VersionStatus.APPROVED,
        VersionStatus.EFFECTIVE,
        VersionStatus.SUPERSEDED,
        VersionStatus.RETIRED,
    }
)


def check_transition(current: VersionStatus, target: VersionStatus) -> None:
    """Refuse a lifecycle move the state machine does not allow."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"A procedure version cannot go from {current} to {target}.")


def bundle_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 over a canonical manifest: every path with the SHA-256 of its bytes, sorted by path."""
    manifest = "".join(f"{path}\0{hashlib.sha256(files[path]).hexdigest()}\n" for path in sorted(files))
    return hashlib.sha256(manifest.encode()).hexdigest()


@dataclass(frozen=True)
class ProcedureBundle:
    """Everything one procedure version needs, content-addressed as a whole."""

    procedure_id: str
    title: str
    files: Mapping[str, bytes]
    content_hash: str

    @classmethod
    def of(cls, procedure_id: str, title: str, files: Mapping[str, bytes]) -> ProcedureBundle:
        """A bundle with its hash computed from the files."""
        return cls(procedure_id, title, dict(files), bundle_hash(files))


@dataclass(frozen=True)
class Change:
    """One difference between two versions (VAL-10)."""

    kind: str  # added, removed, changed
    what: str  # step, field, limit, unit, binding, roles, instructions, hold
    where: str  # step id or step id / field id
    old: str = ""
    new: str = ""


def compare(
    old_steps: Mapping[str, StepDefinition],
    old_forms: Mapping[str, FormDefinition],
    new_steps: Mapping[str, StepDefinition],
    new_forms: Mapping[str, FormDefinition],
) -> list[Change]:
    """Steps, fields, limits, units, bindings and roles added, removed or changed between two versions."""
    changes: list[Change] = []
    for step_id in sorted(set(old_steps) | set(new_steps)):
        before, after = old_steps.get(step_id), new_steps.get(step_id)
        if before is None or after is None:
            step = after or before
            assert step is not None
            changes.append(
                Change(
                    "added" if before is None else "removed",
                    "step",
                    step_id,
                    "" if after else step.name,
                    step.name if after else "",
                )
            )
            continue
        changes.extend(_step_changes(before, after))
        changes.extend(_form_changes(step_id, old_forms.get(before.form_id), new_forms.get(after.form_id)))
    return changes


def _step_changes(before: StepDefinition, after: StepDefinition) -> list[Change]:
    pairs = [
        ("roles", "performer", ",".join(sorted(before.performer_roles)), ",".join(sorted(after.performer_roles))),
        ("roles", "verifier", ",".join(sorted(before.verifier_roles)), ",".join(sorted(after.verifier_roles))),
        ("binding", "equipment", before.equipment_class, after.equipment_class),
        ("step", "name", before.name, after.name),
        ("step", "form", before.form_id, after.form_id),
        ("hold", "minimum", before.hold_min, after.hold_min),
        ("hold", "maximum", before.hold_max, after.hold_max),
        ("instructions", "text", before.instructions, after.instructions),
    ]
    return [
        Change("changed", what, f"{before.id}/{detail}", old, new) for what, detail, old, new in pairs if old != new
    ]


def _form_changes(step_id: str, before: FormDefinition | None, after: FormDefinition | None) -> list[Change]:
    old_fields = {f.id: f for f in before.fields} if before else {}
    new_fields = {f.id: f for f in after.fields} if after else {}
    changes = []
    for field_id in sorted(set(old_fields) | set(new_fields)):
        a, b = old_fields.get(field_id), new_fields.get(field_id)
        where = f"{step_id}/{field_id}"
        if a is None or b is None:
            changes.append(
                Change("added" if a is None else "removed", "field", where, a.label if a else "", b.label if b else "")
            )
            continue
        limit_a, limit_b = (a.limit.describe() if a.limit else ""), (b.limit.describe() if b.limit else "")
        for what, old, new in (
            ("limit", limit_a, limit_b),
            ("unit", a.unit, b.unit),
            ("binding", _source(a), _source(b)),
            ("field", a.type, b.type),
            ("field", a.expression, b.expression),
        ):
            if old != new:
                changes.append(Change("changed", what, where, old, new))
    return changes


def _source(field: object) -> str:
    source = getattr(field, "source", None)
    return f"{source.equipment}.{source.tag}" if source else ""
