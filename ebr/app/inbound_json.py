"""JSON bodies of inbound ERP messages: read, checked against their published JSON Schema, turned into domain objects.

A body that cannot be read or lacks a required field is malformed (HTTP 400); one that breaks a rule of the schema or
of the domain is invalid (HTTP 422). Every message names the field by its JSON path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, TypeVar, cast

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ebr.app.ports.inbound import MalformedMessage
from ebr.domain.erp import BomLine, InboundOrder
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import Material, MaterialLot, QcStatus

ORDERS_SCHEMA = "erp_orders"
MASTER_DATA_SCHEMA = "erp_master_data"
MAX_PROBLEMS = 10  # enough to fix a message; a flood of errors helps nobody
_MISSING = frozenset({"required", "minProperties"})
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
T = TypeVar("T")


@cache
def schema(name: str) -> dict[str, Any]:
    """The packaged JSON Schema (Draft 2020-12) of one inbound message kind, as published in the OpenAPI document."""
    text = resources.files("ebr.app").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    loaded = json.loads(text)
    Draft202012Validator.check_schema(loaded)
    return cast(dict[str, Any], loaded)


@cache
def _validator(name: str) -> Any:
    return Draft202012Validator(schema(name))


def read_json(body: bytes) -> object:
    """The parsed body; not UTF-8 JSON, a duplicate key or a bare NaN is malformed."""
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise MalformedMessage(f"The body is not UTF-8 text (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise MalformedMessage(
            f"The body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}."
        ) from None
    except RecursionError:
        raise MalformedMessage("The body nests arrays or objects too deeply.") from None


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    doubled = sorted({key for key in keys if keys.count(key) > 1})
    if doubled:
        raise MalformedMessage(f"The body names the field {doubled[0]!r} twice.")
    return dict(pairs)


def _no_constant(name: str) -> object:
    raise MalformedMessage(f"The body contains {name}, which JSON does not allow.")


def check(name: str, document: object) -> None:
    """Refuse a document the schema refuses: a missing field is malformed, any other violation invalid."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    missing = [e for e in errors if e.validator in _MISSING or (e.validator == "type" and not e.absolute_path)]
    chosen = missing or errors
    text = "; ".join(dict.fromkeys(_problem(e) for e in chosen[:MAX_PROBLEMS]))
    raise (MalformedMessage if missing else InvalidInput)(text)


def _problem(error: Any) -> str:
    """One violation in words, the field named by its JSON path."""
    node: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    explain = _EXPLAIN.get(error.validator)
    detail = explain(error, node) if explain else None
    if error.validator == "required":
        return str(detail)  # each missing field carries its own path
    return f"{json_path(error.absolute_path) or 'the body'}: {detail or error.message}"


def _missing(error: Any, node: dict[str, Any]) -> str:
    absent = [name for name in error.validator_value if name not in error.instance]
    return "; ".join(f"{json_path([*error.absolute_path, name])}: required field missing" for name in absent)


def _none_of(error: Any, node: dict[str, Any]) -> str:
    return f"names none of the fields {', '.join(sorted(node.get('properties', {})))}"


def _wrong_type(error: Any, node: dict[str, Any]) -> str:
    # A named value type (code, decimal, unit) reads better than "string"; the document's own title does not.
    named = node.get("title") and "$id" not in node
    expected = f"a {node['title']}" if named else _article(error.validator_value)
    return f"expected {expected}, got {_json_type(error.instance)}"


def _unknown_field(error: Any, node: dict[str, Any]) -> str:
    extra = sorted(set(error.instance) - set(node.get("properties", {})))
    return f"unknown field {', '.join(repr(e) for e in extra)}"


def _not_listed(error: Any, node: dict[str, Any]) -> str:
    return f"{_show(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"


def _no_match(error: Any, node: dict[str, Any]) -> str | None:
    if not node.get("title"):
        return None
    return f"{_show(error.instance)} is not a {node['title']} ({node.get('description', '')})"


_EXPLAIN: dict[str, Callable[[Any, dict[str, Any]], str | None]] = {
    "required": _missing,
    "minProperties": _none_of,
    "type": _wrong_type,
    "additionalProperties": _unknown_field,
    "enum": _not_listed,
    "pattern": _no_match,
}


def json_path(parts: Iterable[object]) -> str:
    """orders[2].bom[0].unit from the parts of a path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _article(kind: object) -> str:
    return "an " + str(kind) if str(kind)[:1] in "aeiou" else "a " + str(kind)


def _json_type(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value}"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(path: str, build: Callable[[], T]) -> T:
    """Build one domain object, naming its path in a refusal."""
    try:
        return build()
    except InvalidInput as refused:
        raise InvalidInput(f"{path}: {refused}") from None


def _moment(path: str, value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{path}: {_show(value)} is not a valid date-time.") from None


def _day(path: str, value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{path}: {_show(value)} is not a valid date.") from None


def orders_from_json(document: object) -> tuple[InboundOrder, ...]:
    """The orders of a checked orders message."""
    check(ORDERS_SCHEMA, document)
    items = cast(dict[str, list[dict[str, Any]]], document)["orders"]
    return tuple(_order(f"orders[{i}]", item) for i, item in enumerate(items))


def _bom_line(line: dict[str, Any]) -> Callable[[], BomLine]:
    return lambda: BomLine(line["material_code"], Decimal(line["quantity"]), line["unit"])


def _material(item: dict[str, Any]) -> Callable[[], Material]:
    return lambda: Material(item["code"], item["name"], item["unit"])


def _order(path: str, item: dict[str, Any]) -> InboundOrder:
    bom = tuple(_at(f"{path}.bom[{i}]", _bom_line(line)) for i, line in enumerate(item.get("bom", [])))
    start = _moment(f"{path}.planned_start", item.get("planned_start"))
    end = _moment(f"{path}.planned_end", item.get("planned_end"))
    return _at(
        path,
        lambda: InboundOrder(
            item["order_number"],
            item["product_code"],
            Decimal(item["planned_quantity"]),
            item["unit"],
            item["batch_id"],
            start,
            end,
            bom,
        ),
    )


def master_data_from_json(document: object) -> tuple[tuple[Material, ...], tuple[MaterialLot, ...]]:
    """The materials and lots of a checked master data message."""
    check(MASTER_DATA_SCHEMA, document)
    body = cast(dict[str, list[dict[str, Any]]], document)
    materials = tuple(_at(f"materials[{i}]", _material(m)) for i, m in enumerate(body.get("materials", [])))
    lots = tuple(_lot(f"lots[{i}]", lot) for i, lot in enumerate(body.get("lots", [])))
    return materials, lots


def _lot(path: str, item: dict[str, Any]) -> MaterialLot:
    expiry = _day(f"{path}.expiry", item["expiry"])
    quantity = Decimal(item["quantity"]) if "quantity" in item else None
    return _at(
        path,
        lambda: MaterialLot(item["material_code"], item["lot_number"], QcStatus(item["qc_status"]), expiry, quantity),
    )
