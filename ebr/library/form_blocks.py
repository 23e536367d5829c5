"""What the schema cannot state about a form's sample, device release, labelling and line clearance blocks: the
fields they name, their kinds, and that each is required, so the step cannot be signed without them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ebr.app.ports import LintProblem
from ebr.library import schema

QUANTITY = ("number", "quantity", "reading", "calculated")
IDENTIFIER = ("text", "barcode")


def _named(
    path: str,
    block: str,
    spec: Mapping[str, Any],
    by_id: Mapping[str, Mapping[str, Any]],
    kinds: Mapping[str, tuple[str, ...]],
) -> list[LintProblem]:
    """Each role of the block names a required field of one of the allowed types."""
    found = []
    for role, allowed in kinds.items():
        if role not in spec:
            continue
        where = f"{block}.{role}"
        item = by_id.get(spec[role])
        if item is None:
            found.append(schema.at(path, where, f"{spec[role]!r} is not a field of this form"))
        elif item["type"] not in allowed:
            found.append(schema.at(path, where, f"{spec[role]!r} must be a field of type {' or '.join(allowed)}"))
        elif item["type"] != "calculated" and not item.get("required", True):
            found.append(schema.at(path, where, f"{spec[role]!r} must be a required field"))
    return found


def sample_problems(path: str, spec: Mapping[str, Any], fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    """The quantity is a number with a unit (its own or the block's), the reference a text or barcode, the time a
    datetime."""
    by_id = {item["id"]: item for item in fields}
    kinds = {"quantity": QUANTITY, "reference": IDENTIFIER, "time": ("datetime",)}
    found = _named(path, "sample", spec, by_id, kinds)
    quantity = by_id.get(spec["quantity"])
    if quantity is not None and not found:
        own, given = quantity.get("unit", ""), spec.get("unit", "")
        if not own and not given:
            found.append(schema.at(path, "sample.unit", "the quantity field has no unit: name it here"))
        elif own and given and own != given:
            found.append(schema.at(path, "sample.unit", f"{given!r} differs from the quantity's unit {own!r}"))
    return found


def device_problems(path: str, spec: Mapping[str, Any], fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    """Both quantities are numbers in one unit; the identifiers are text or barcode; the expiry a text date."""
    by_id = {item["id"]: item for item in fields}
    kinds = {
        "quantity_manufactured": QUANTITY,
        "quantity_approved": QUANTITY,
        "udi_di": IDENTIFIER,
        "lot": IDENTIFIER,
        "serial": IDENTIFIER,
        "expiry": IDENTIFIER,
    }
    found = _named(path, "device_release", spec, by_id, kinds)
    if not found:
        units = {by_id[spec[role]].get("unit", "") for role in ("quantity_manufactured", "quantity_approved")}
        if len(units) != 1:
            found.append(schema.at(path, "device_release", f"both quantities must share one unit, not {sorted(units)}"))
    return found


def labelling_problems(path: str, spec: Mapping[str, Any], fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    """The version is a text or barcode field, the specimen an attachment field; both required."""
    by_id = {item["id"]: item for item in fields}
    return _named(path, "labelling", spec, by_id, {"version": IDENTIFIER, "specimen": ("attachment",)})


def line_clearance_problems(path: str, spec: Mapping[str, Any], fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    """The confirmation is a required yes/no field."""
    by_id = {item["id"]: item for item in fields}
    return _named(path, "line_clearance", spec, by_id, {"clear": ("boolean",)})


def block_problems(path: str, document: Mapping[str, Any]) -> list[LintProblem]:
    """The problems of every sample, device release and labelling block of the form."""
    fields = document["fields"]
    found: list[LintProblem] = []
    if "sample" in document:
        found.extend(sample_problems(path, document["sample"], fields))
    if "device_release" in document:
        found.extend(device_problems(path, document["device_release"], fields))
    if "labelling" in document:
        found.extend(labelling_problems(path, document["labelling"], fields))
    if "line_clearance" in document:
        found.extend(line_clearance_problems(path, document["line_clearance"], fields))
    return found
