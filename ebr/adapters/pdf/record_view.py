"""Look-ups the batch-record template needs beside the record: what belongs to each step, and what each entry
refers to. Presentation only: nothing here adds to or changes the record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Record sections whose entries belong to a step record, by the key the template reads them under.
PER_STEP = {
    "actions": "actions",
    "deviations": "deviations",
    "checks": "identity_checks",
    "uses": "equipment_uses",
    "dispensings": "dispensings",
    "yields": "yields",
    "reconciliations": "reconciliations",
}


def _items(record: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    found = record.get(section) or []
    return [item for item in found if isinstance(item, dict)]


def _per_step(record: Mapping[str, Any]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    per_step: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for step in _items(record, "steps"):
        per_step[step["id"]] = {key: [] for key in PER_STEP}
    for key, section in PER_STEP.items():
        for item in _items(record, section):
            owner = per_step.get(item.get("step_record_id") or 0)
            if owner is not None:
                owner[key].append(item)
    return per_step


def _signature_count(record: Mapping[str, Any]) -> int:
    steps = sum(len(step["signatures"]) for step in _items(record, "steps"))
    actions = sum(1 for action in _items(record, "actions") if action.get("signature"))
    approvals = len(record.get("procedure", {}).get("approvals", []))
    return steps + actions + approvals


def record_index(record: Mapping[str, Any]) -> dict[str, Any]:
    """Entries by id and by step record, and the counts the summary prints."""
    steps = _items(record, "steps")
    values = {value["id"]: value for step in steps for value in step["values"]}
    return {
        "steps": {step["id"]: step for step in steps},
        "values": values,
        "deviations": {d["id"]: d for d in _items(record, "deviations")},
        "per_step": _per_step(record),
        "holds": [a for a in _items(record, "actions") if a.get("kind") == "hold"],
        "refused_checks": [c for c in _items(record, "identity_checks") if c.get("refused")],
        "counts": {
            "steps": len(steps),
            "value_entries": len(values),
            "signatures": _signature_count(record),
            "deviations": len(_items(record, "deviations")),
            "actions": len(_items(record, "actions")),
            "audit_entries": len(_items(record, "audit_trail")),
        },
    }
