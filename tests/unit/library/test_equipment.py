"""Equipment class files: TOML, the schema and the register map."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from ebr.domain.errors import InvalidInput
from ebr.domain.steps import TagDefinition
from ebr.library import equipment, schema

PATH = "equipment/classes/balance.toml"
GOOD = """
[class]
id = "balance"
description = "Floor scale, Modbus TCP"

[tags.net_mass]
register = 0
type = "float32"
word_order = "big"
scale = "1"
unit = "kg"
min = "0"
max = "150"

[tags.stable]
register = 2
type = "uint16"
"""


def reasons(text: str, path: str = PATH) -> list[str]:
    return [str(problem) for problem in equipment.problems(path, text.encode())]


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(schema.validator("equipment").schema)


def test_a_good_class_becomes_an_equipment_class() -> None:
    cls = equipment.read(PATH, GOOD.encode())
    assert cls.id == "balance"
    assert cls.description == "Floor scale, Modbus TCP"
    assert cls.tags == (
        TagDefinition("net_mass", 0, "float32", "big", "1", "kg", "0", "150"),
        TagDefinition("stable", 2, "uint16"),
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('type = "float32"', 'type = "float64"', "tags.net_mass.type: 'float64' is not one of"),
        ('word_order = "big"', 'word_order = "middle"', "tags.net_mass.word_order: 'middle' is not one of"),
        ('scale = "1"', "scale = 0.1", "tags.net_mass.scale: 0.1 is not a decimal"),
        ('scale = "1"', 'scale = "0"', "tags.net_mass.scale: a scale of zero would read every value as 0"),
        ('min = "0"', 'min = "200"', "tags.net_mass: min 200 is above max 150"),
        ('max = "150"', 'max = "lots"', "tags.net_mass.max: 'lots' is not a decimal"),
        ("register = 2", "register = 1", "tags.stable.register: register 1 overlaps tag 'net_mass'"),
        ("register = 2", "register = 0", "tags.stable.register: register 0 overlaps tag 'net_mass'"),
        ("register = 0", "register = 65535", "tags.net_mass.register: a float32 at 65535 runs past 65535"),
        ("register = 0", "register = 70000", "tags.net_mass.register: 70000 is greater than the maximum of 65535"),
        ("register = 0", 'register = "0"', "tags.net_mass.register: '0' is not of type 'integer'"),
        ('unit = "kg"', 'colour = "red"', "tags.net_mass: Additional properties are not allowed ('colour'"),
        ('id = "balance"', 'id = "scale"', "class.id: 'scale' does not match the file name 'balance'"),
        ('id = "balance"', 'name = "balance"', "class: 'id' is a required property"),
        ("[tags.stable]", "[tags.Stable]", "tags: 'Stable' is not an identifier"),
        ("[tags.stable]\nregister = 2", "[tags.stable]", "tags.stable: 'register' is a required property"),
        ("[class]", "[klass]", "'class' is a required property"),
    ],
)
def test_each_bad_class_is_refused_naming_the_path(old: str, new: str, expected: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    found = reasons(text)
    assert any(expected in reason for reason in found), found
    assert all(reason.startswith(f"{PATH}: ") for reason in found)
    with pytest.raises(InvalidInput, match="equipment/classes/balance.toml"):
        equipment.read(PATH, text.encode())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[class\nid = 1", "not valid TOML"),
        (GOOD.encode() + b'\n[tags.net_mass]\nregister = 9\ntype = "int16"\n', "not valid TOML"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"", "'class' is a required property"),
    ],
)
def test_unreadable_toml_is_refused(content: bytes, expected: str) -> None:
    found = [str(problem) for problem in equipment.problems(PATH, content)]
    assert any(expected in reason for reason in found), found


def test_a_16_bit_tag_next_to_a_32_bit_one_is_fine() -> None:
    text = GOOD.replace("register = 2", 'register = 2\nword_order = "little"')
    assert reasons(text) == []
