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
from ebr.domain.steps import DeviceSource, FieldDefinition, FormDefinition
from ebr.library import schema
from ebr.library.errors import ContentInvalid

FOLDER = "forms"


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
    first: dict[str, int] = {}
    for index, item in enumerate(document["fields"]):
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
    )


def _build(document: Mapping[str, Any]) -> FormDefinition:
    fields = []
    for item in document["fields"]:
        source = item.get("source")
        unit = item.get("unit", "")
        fields.append(
            FieldDefinition(
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
            )
        )
    return FormDefinition(id=document["id"], title=document["title"], fields=tuple(fields))
