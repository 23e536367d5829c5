"""What the schema cannot state about a form's weigh-and-dispense block: the fields it names and their kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ebr.app.ports import LintProblem
from ebr.library import schema

NUMERIC = ("number", "quantity", "reading")


def dispense_problems(path: str, spec: Mapping[str, str], fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    """The container is a material_lot scan, tare and gross are numbers in one unit, net is calculated to a target."""
    by_id = {item["id"]: item for item in fields}
    found: list[LintProblem] = []
    for role, field_id in spec.items():
        if field_id not in by_id:
            found.append(schema.at(path, f"dispense.{role}", f"{field_id!r} is not a field of this form"))
    if found:
        return found
    container, tare, gross, net = (by_id[spec[key]] for key in ("container", "tare", "gross", "net"))
    if container["type"] != "barcode" or container.get("check") != "material_lot":
        found.append(schema.at(path, "dispense.container", "must be a barcode field with the material_lot check"))
    for role, item in (("tare", tare), ("gross", gross)):
        if item["type"] not in NUMERIC:
            found.append(schema.at(path, f"dispense.{role}", f"{item['id']!r} is not a number, quantity or reading"))
    units = {item.get("unit", "") for item in (tare, gross, net)}
    if len(units) != 1:
        found.append(schema.at(path, "dispense", f"tare, gross and net must share one unit, not {sorted(units)}"))
    limits = net.get("limits", {})
    if net["type"] != "calculated" or "target" not in limits:
        found.append(schema.at(path, "dispense.net", "must be a calculated field with a target and tolerance"))
    return found
