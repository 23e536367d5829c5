"""equipment/classes/<id>.toml → EquipmentClass, checked against schemas/equipment.schema.json and its register map."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from ebr.app.ports import LintProblem
from ebr.domain.equipment import WIDTH
from ebr.domain.steps import EquipmentClass, TagDefinition
from ebr.library import schema
from ebr.library.errors import ContentInvalid

FOLDER = "equipment/classes"
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
    """File name, the class's stable and age tags, each tag's scale and range, and no overlapping registers."""
    found: list[LintProblem] = []
    stem = PurePosixPath(path).stem
    if document["class"]["id"] != stem:
        found.append(schema.at(path, "class.id", f"{document['class']['id']!r} does not match the file name {stem!r}"))
    tags: Mapping[str, Any] = document.get("tags", {})
    found.extend(_class_rules(path, document["class"], tags))
    owners: dict[str, dict[int, str]] = {"holding": {}, "input": {}}
    for tag_id, tag in tags.items():
        found.extend(_tag_rules(path, f"tags.{tag_id}", tag))
        found.extend(_overlaps(path, tag_id, tag, owners[tag.get("register_type", "holding")]))
    return found


def _class_rules(path: str, cls: Mapping[str, Any], tags: Mapping[str, Any]) -> list[LintProblem]:
    """The stable and age tags are tags of this class; an age tag is useless without the age it may reach."""
    found: list[LintProblem] = []
    for key in ("stable_tag", "age_tag"):
        if key in cls and cls[key] not in tags:
            found.append(schema.at(path, f"class.{key}", f"{cls[key]!r} is not a tag of this class"))
    if "age_tag" in cls and "max_age_s" not in cls:
        found.append(
            schema.at(path, "class", "an age_tag needs max_age_s, the age in seconds beyond which a value is stale")
        )
    return found


def _tag_rules(path: str, where: str, tag: Mapping[str, Any]) -> list[LintProblem]:
    found: list[LintProblem] = []
    if Decimal(tag.get("scale", "1")) == 0:
        found.append(schema.at(path, f"{where}.scale", "a scale of zero would read every value as 0"))
    if "min" in tag and "max" in tag and Decimal(tag["min"]) > Decimal(tag["max"]):
        found.append(schema.at(path, where, f"min {tag['min']} is above max {tag['max']}"))
    return found


def _overlaps(path: str, tag_id: str, tag: Mapping[str, Any], owner: dict[int, str]) -> list[LintProblem]:
    """Holding and input registers are separate tables: two tags may share an address only across them."""
    where = f"tags.{tag_id}.register"
    registers = range(tag["register"], tag["register"] + WIDTH[tag["type"]])
    if registers[-1] > LAST_REGISTER:
        return [schema.at(path, where, f"a {tag['type']} at {tag['register']} runs past {LAST_REGISTER}")]
    clashes = sorted({owner[r] for r in registers if r in owner})
    for register in registers:
        owner.setdefault(register, tag_id)
    if not clashes:
        return []
    names = ", ".join(repr(other) for other in clashes)
    kind = tag.get("register_type", "holding")
    return [schema.at(path, where, f"{kind} register {tag['register']} overlaps tag {names}")]


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
            register_type=tag.get("register_type", "holding"),
            byte_order=tag.get("byte_order", "big"),
            offset=tag.get("offset", "0"),
        )
        for tag_id, tag in document.get("tags", {}).items()
    )
    cls = document["class"]
    return EquipmentClass(
        id=cls["id"],
        description=cls.get("description", ""),
        tags=tags,
        stable_tag=cls.get("stable_tag", ""),
        age_tag=cls.get("age_tag", ""),
        max_age_s=cls.get("max_age_s"),
    )
