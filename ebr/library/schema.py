"""JSON Schema (draft 2020-12) validation of library content, with messages that name the JSON path."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, cast

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ebr.app.ports import LintProblem

_TITLED = {
    "decimal": 'is not a decimal (numbers are written as strings, e.g. "25.000")',
    "identifier": "is not an identifier (lower-case letters, digits and '_', starting with a letter)",
}
_DESCRIBED = frozenset({"required", "not", "anyOf", "dependentRequired"})


@cache
def validator(name: str) -> Any:
    """The checked validator of ebr/library/schemas/<name>.schema.json."""
    text = resources.files("ebr.library").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(parts: Iterable[object]) -> str:
    """fields[2].limits.target from the parts of a path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def at(file: str, path: str, reason: str) -> LintProblem:
    """A problem of one file, its JSON path in front of the reason."""
    return LintProblem(file, f"{path}: {reason}" if path else reason)


def problems(file: str, name: str, document: object) -> list[LintProblem]:
    """Every schema violation of the document, sorted by path, each message naming the path."""
    found: list[tuple[str, str]] = []
    for error in validator(name).iter_errors(document):
        found.append((json_path(error.absolute_path), _message(error)))
    return [at(file, path, reason) for path, reason in sorted(dict.fromkeys(found))]


def _message(error: Any) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title")
    if title in _TITLED and error.validator in ("type", "pattern", "maxLength"):
        return f"{_show(error.instance)} {_TITLED[title]}"
    if error.validator in _DESCRIBED and isinstance(schema.get("description"), str):
        detail = "" if error.validator in ("not", "anyOf", "required") else f" ({error.message})"
        return cast(str, schema["description"]) + detail
    return cast(str, error.message)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
