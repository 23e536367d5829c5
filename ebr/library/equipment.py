"""equipment/classes/<id>.toml → EquipmentClass, checked against schemas/equipment.schema.json and its register map."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from ebr.app.ports import LintProblem
from ebr.domain.steps import EquipmentClass, TagDefinition
from ebr.library import schema
from ebr.library.errors import ContentInvalid

FOLDER = "equipment/classes"
WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}  # holding registers a value occupies
LAST_REGISTER = 65535


def path_of(class_id: str) -> str:
    """The bundle path of an equipment class."""
    return f"{FOLDER}/{class_id}.toml"


def read(path: str, content: bytes) -> EquipmentClass:
    """The equipment class in these bytes; raises ContentInvalid naming every problem with its path."""
    equipment, found = _read(path, content)
    if equipment is None:
        raise ContentInvalid(found)
    return equipment


def problems(path: str, content: bytes) -> list[LintProblem]:
    """Every problem of one equipment class file; empty when it can be used."""
    return list(_read(path, content)[1])


@lru_cache(maxsize=256)
def _read(path: str, content: bytes) -> tuple[EquipmentClass | None, tuple[LintProblem, ...]]:
    try:
        document = tomllib.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return None, (LintProblem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})"),)
    except tomllib.TOMLDecodeError as exc:
        return None, (LintProblem(path, f"not valid TOML: {exc}"),)
    found = schema.problems(path, "equipment", document) or _rules(path, document)
    if found:
        return None, tuple(found)
    return _build(document), ()


def _rules(path: str, document: Mapping[str, Any]) -> list[LintProblem]:
    """File name, scale, range and registers: no two tags may share a holding register."""
    found: list[LintProblem] = []
    stem = PurePosixPath(path).stem
    if document["class"]["id"] != stem:
        found.append(schema.at(path, "class.id", f"{document['class']['id']!r} does not match the file name {stem!r}"))
    owner: dict[int, str] = {}
    for tag_id, tag in document["tags"].items():
        where = f"tags.{tag_id}"
        if Decimal(tag.get("scale", "1")) == 0:
            found.append(schema.at(path, f"{where}.scale", "a scale of zero would read every value as 0"))
        if "min" in tag and "max" in tag and Decimal(tag["min"]) > Decimal(tag["max"]):
            found.append(schema.at(path, where, f"min {tag['min']} is above max {tag['max']}"))
        registers = range(tag["register"], tag["register"] + WIDTH[tag["type"]])
        if registers[-1] > LAST_REGISTER:
            found.append(schema.at(path, f"{where}.register", f"a {tag['type']} at {tag['register']} runs past 65535"))
        clashes = sorted({owner[r] for r in registers if r in owner})
        if clashes:
            names = ", ".join(repr(other) for other in clashes)
            found.append(schema.at(path, f"{where}.register", f"register {tag['register']} overlaps tag {names}"))
        for register in registers:
            owner.setdefault(register, tag_id)
    return found


def _build(document: Mapping[str, Any]) -> EquipmentClass:
    tags = tuple(
        TagDefinition(
            id=tag_id,
            register=tag["register"],
            type=tag["type"],
            word_order=tag.get("word_order", "big"),
            scale=tag.get("scale", "1"),
            unit=tag.get("unit", ""),
            minimum=tag.get("min"),
            maximum=tag.get("max"),
        )
        for tag_id, tag in document["tags"].items()
    )
    return EquipmentClass(id=document["class"]["id"], description=document["class"].get("description", ""), tags=tags)
