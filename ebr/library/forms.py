"""forms/<id>.json → FormDefinition, checked against schemas/form.schema.json and the rules a schema cannot say."""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from ebr.app.ports import LintProblem
from ebr.domain.calculations import FUNCTION_NAMES, ExpressionRefused, parse
from ebr.domain.limits import Limit
from ebr.domain.materials import CODE_RE, UNITS
from ebr.domain.steps import (
    DeviceReleaseSpec,
    DeviceSource,
    DispenseSpec,
    FieldDefinition,
    FormDefinition,
    LabellingSpec,
    LineClearanceSpec,
    ReconciliationLine,
    SampleSpec,
    YieldSpec,
)
from ebr.library import schema
from ebr.library.dispense import dispense_problems
from ebr.library.errors import ContentInvalid
from ebr.library.form_blocks import block_problems

FOLDER = "forms"
YIELD_AMOUNTS = ("produced", "theoretical", "scrap", "samples")
RECONCILIATION_AMOUNTS = ("issued", "used", "returned", "waste")


def path_of(form_id: str) -> str:
    """The bundle path of a form."""
    return f"{FOLDER}/{form_id}.json"


def read(path: str, content: bytes) -> FormDefinition:
    """The form in these bytes; raises ContentInvalid naming every problem with its JSON path."""
    form, found = _read(path, content)
    if form is None:
        raise ContentInvalid(found)
    return form


def problems(path: str, content: bytes) -> list[LintProblem]:
    """Every problem of one form file; empty when it can be used."""
    return list(_read(path, content)[1])


def sources(content: bytes) -> list[str]:
    """The equipment classes a form's fields read from, read leniently (the schema check comes later)."""
    try:
        document = load_json(content)
    except ValueError:
        return []
    fields = document.get("fields") if isinstance(document, dict) else None
    found = []
    for item in fields if isinstance(fields, list) else []:
        source = item.get("source") if isinstance(item, dict) else None
        equipment = source.get("equipment") if isinstance(source, dict) else None
        if isinstance(equipment, str):
            found.append(equipment)
        scanned = item.get("equipment") if isinstance(item, dict) else None
        if isinstance(scanned, str):
            found.append(scanned)  # the class a scanned instance must be of
    return list(dict.fromkeys(found))


def load_json(content: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN or Infinity; raises ValueError with the reason."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, col {exc.colno})") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicate = next((key for key in keys if keys.count(key) > 1), None)
    if duplicate is not None:
        raise ValueError(f"the key {duplicate!r} appears twice in one object")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@lru_cache(maxsize=1024)
def _read(path: str, content: bytes) -> tuple[FormDefinition | None, tuple[LintProblem, ...]]:
    try:
        document = load_json(content)
    except ValueError as exc:
        return None, (LintProblem(path, str(exc)),)
    found = schema.problems(path, "form", document)
    if found:
        return None, tuple(found)
    found = _rules(path, document)
    if found:
        return None, tuple(found)
    return _build(document), ()


def _rules(path: str, document: Mapping[str, Any]) -> list[LintProblem]:
    """What the schema cannot say: file name, unique ids, reserved names, consistent limits, valid expressions."""
    found: list[LintProblem] = []
    stem = PurePosixPath(path).stem
    if document["id"] != stem:
        found.append(schema.at(path, "id", f"{document['id']!r} does not match the file name {stem!r}"))
    found.extend(_field_problems(path, document["fields"]))
    if "yield" in document:
        found.extend(_yield_problems(path, document["yield"]))
    found.extend(_reconciliation_problems(path, document.get("reconciliation", [])))
    if "dispense" in document:
        found.extend(dispense_problems(path, document["dispense"], document["fields"]))
    found.extend(block_problems(path, document))
    return found


def _field_problems(path: str, fields: list[Mapping[str, Any]]) -> list[LintProblem]:
    found: list[LintProblem] = []
    first: dict[str, int] = {}
    for index, item in enumerate(fields):
        where = f"fields[{index}]"
        field_id = item["id"]
        if field_id in first:
            found.append(schema.at(path, f"{where}.id", f"{field_id!r} is already the id of fields[{first[field_id]}]"))
        first.setdefault(field_id, index)
        if keyword.iskeyword(field_id) or field_id in FUNCTION_NAMES:
            found.append(schema.at(path, f"{where}.id", f"{field_id!r} is a reserved word of the expression language"))
        if "limits" in item:
            found.extend(schema.at(path, f"{where}.limits", reason) for reason in _limit_problems(item["limits"]))
        if "expression" in item:
            found.extend(schema.at(path, f"{where}.expression", reason) for reason in _expression_problems(item))
    return found


def _limit_problems(limits: Mapping[str, Any]) -> list[str]:
    reasons = []
    tolerance = Decimal(limits["tolerance"]) if "tolerance" in limits else None
    if tolerance is not None and tolerance < 0:
        reasons.append(f"tolerance {limits['tolerance']} is negative")
    limit = _limit(limits, "")
    if limit.minimum is not None and limit.maximum is not None and limit.minimum > limit.maximum:
        reasons.append(f"min {limits['min']} is above max {limits['max']}")
    elif tolerance is None or tolerance >= 0:
        low, high = limit.bounds()
        exclusive = limit.min_exclusive or limit.max_exclusive
        if low is not None and high is not None and (low > high or (low == high and exclusive)):
            reasons.append(f"no value can be within these limits ({limit.describe()})")
    return reasons


def _expression_problems(item: Mapping[str, Any]) -> list[str]:
    try:
        expression = parse(item["expression"])
    except ExpressionRefused as exc:
        return [str(exc)]
    if item["id"] in expression.names:
        return [f"the expression uses its own field {item['id']!r}"]
    return []


def _amount_problems(path: str, where: str, spec: Mapping[str, Any], keys: tuple[str, ...]) -> list[LintProblem]:
    """Each amount expression through the one evaluator, so a malformed or hostile one is refused at import."""
    found = []
    for key in (key for key in keys if key in spec):
        try:
            parse(spec[key])
        except ExpressionRefused as exc:
            found.append(schema.at(path, f"{where}.{key}", str(exc)))
    return found


def _unit_problems(path: str, where: str, unit: str) -> list[LintProblem]:
    # Yield and reconciliation amounts are compared with stock, so only the material master's units make sense.
    if unit in UNITS:
        return []
    return [schema.at(path, where, f"{unit!r} is not a unit of measure (one of {', '.join(sorted(UNITS))})")]


def _yield_problems(path: str, spec: Mapping[str, Any]) -> list[LintProblem]:
    found = _amount_problems(path, "yield", spec, YIELD_AMOUNTS) + _unit_problems(path, "yield.unit", spec["unit"])
    limits = spec.get("limits", {})
    for key in ("min", "max"):
        if key in limits and Decimal(limits[key]) < 0:
            found.append(schema.at(path, "yield.limits", f"{key} {limits[key]} is negative"))
    if "min" in limits and "max" in limits and Decimal(limits["min"]) > Decimal(limits["max"]):
        found.append(schema.at(path, "yield.limits", f"min {limits['min']} is above max {limits['max']}"))
    return found


def _reconciliation_problems(path: str, lines: list[Mapping[str, Any]]) -> list[LintProblem]:
    found: list[LintProblem] = []
    first: dict[str, int] = {}
    for index, line in enumerate(lines):
        where = f"reconciliation[{index}]"
        material = line["material"]
        if material in first:
            reason = f"{material!r} is already reconciled in reconciliation[{first[material]}]"
            found.append(schema.at(path, f"{where}.material", reason))
        first.setdefault(material, index)
        if not CODE_RE.fullmatch(material):
            reason = f"{material!r} is not a material code (a letter or digit, then letters, digits, . _ / -)"
            found.append(schema.at(path, f"{where}.material", reason))
        found.extend(_unit_problems(path, f"{where}.unit", line["unit"]))
        found.extend(_amount_problems(path, where, line, RECONCILIATION_AMOUNTS))
        if "tolerance" in line and Decimal(line["tolerance"]) < 0:
            found.append(schema.at(path, f"{where}.tolerance", f"tolerance {line['tolerance']} is negative"))
    return found


def _limit(limits: Mapping[str, Any], unit: str) -> Limit:
    def number(key: str) -> Decimal | None:
        return Decimal(limits[key]) if key in limits else None

    return Limit(
        target=number("target"),
        tolerance=number("tolerance"),
        minimum=number("min"),
        maximum=number("max"),
        min_exclusive=bool(limits.get("min_exclusive", False)),
        max_exclusive=bool(limits.get("max_exclusive", False)),
        unit=unit,
        scaled=bool(limits.get("scale", False)),
    )


def _build(document: Mapping[str, Any]) -> FormDefinition:
    return FormDefinition(
        id=document["id"],
        title=document["title"],
        fields=tuple(_field(item) for item in document["fields"]),
        yield_spec=_yield(document["yield"]) if "yield" in document else None,
        reconciliation=tuple(_line(line) for line in document.get("reconciliation", ())),
        dispense=DispenseSpec(**document["dispense"]) if "dispense" in document else None,
        sample=SampleSpec(**document["sample"]) if "sample" in document else None,
        device_release=DeviceReleaseSpec(**document["device_release"]) if "device_release" in document else None,
        labelling=LabellingSpec(**document["labelling"]) if "labelling" in document else None,
        line_clearance=LineClearanceSpec(**document["line_clearance"]) if "line_clearance" in document else None,
    )


def _field(item: Mapping[str, Any]) -> FieldDefinition:
    source = item.get("source")
    unit = item.get("unit", "")
    return FieldDefinition(
        id=item["id"],
        label=item["label"],
        type=item["type"],
        unit=unit,
        required=item.get("required", True),
        precision=item.get("precision"),
        limit=_limit(item["limits"], unit) if "limits" in item else None,
        expression=item.get("expression", ""),
        choices=tuple(item.get("choices", ())),
        check=item.get("check", ""),
        source=DeviceSource(source["equipment"], source["tag"]) if source else None,
        help=item.get("help", ""),
        double_entry=item.get("verify") == "double_entry",
        equipment=item.get("equipment", ""),
        material=item.get("material", ""),
        on_fail=item.get("on_fail", "block"),
    )


def _yield(spec: Mapping[str, Any]) -> YieldSpec:
    limits = spec.get("limits", {})
    return YieldSpec(
        produced=spec["produced"],
        theoretical=spec["theoretical"],
        unit=spec["unit"],
        scrap=spec.get("scrap", "0"),
        samples=spec.get("samples", "0"),
        low=Decimal(limits["min"]) if "min" in limits else None,
        high=Decimal(limits["max"]) if "max" in limits else None,
    )


def _line(line: Mapping[str, Any]) -> ReconciliationLine:
    return ReconciliationLine(
        material=line["material"],
        unit=line["unit"],
        issued=line["issued"],
        used=line["used"],
        returned=line.get("returned", "0"),
        waste=line.get("waste", "0"),
        tolerance=Decimal(line.get("tolerance", "0")),
    )
