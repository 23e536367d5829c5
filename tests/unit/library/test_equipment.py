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
        ('type = "float32"', 'type = "float128"', "tags.net_mass.type: 'float128' is not one of"),
        ('word_order = "big"', 'word_order = "middle"', "tags.net_mass.word_order: 'middle' is not one of"),
        ('scale = "1"', "scale = 0.1", "tags.net_mass.scale: 0.1 is not a decimal"),
        ('scale = "1"', 'scale = "0"', "tags.net_mass.scale: a scale of zero would read every value as 0"),
        ('min = "0"', 'min = "200"', "tags.net_mass: min 200 is above max 150"),
        ('max = "150"', 'max = "lots"', "tags.net_mass.max: 'lots' is not a decimal"),
        ("register = 2", "register = 1", "tags.stable.register: holding register 1 overlaps tag 'net_mass'"),
        ("register = 2", "register = 0", "tags.stable.register: holding register 0 overlaps tag 'net_mass'"),
        ("register = 0", "register = 65535", "tags.net_mass.register: a float32 at 65535 runs past 65535"),
        ("register = 0", "register = 70000", "tags.net_mass.register: 70000 is greater than the maximum of 65535"),
        ("register = 0", 'register = "0"', "tags.net_mass.register: '0' is not of type 'integer'"),
        ('unit = "kg"', 'colour = "red"', "tags.net_mass: Additional properties are not allowed ('colour'"),
        ('id = "balance"', 'id = "scale"', "class.id: 'scale' does not match the file name 'balance'"),
        ('id = "balance"', 'name = "balance"', "class: 'id' is a required property"),
        ("[tags.stable]", "[tags.Stable]", "tags: 'Stable' is not an identifier"),
        ("[tags.stable]\nregister = 2", "[tags.stable]", "tags.stable: 'register' is a required property"),
        ("[class]", "[klass]", "'class' is a required property"),
        ('word_order = "big"', 'byte_order = "middle"', "tags.net_mass.byte_order: 'middle' is not one of"),
        ('word_order = "big"', 'register_type = "coil"', "tags.net_mass.register_type: 'coil' is not one of"),
        ('scale = "1"', 'offset = "-273,15"', "tags.net_mass.offset: '-273,15' is not a decimal"),
        ('type = "float32"', 'type = "float64"', "tags.stable.register: holding register 2 overlaps tag 'net_mass'"),
        ('description = "Floor scale, Modbus TCP"', 'stable_tag = "steady"', "class.stable_tag: 'steady' is not a tag"),
        (
            'description = "Floor scale, Modbus TCP"',
            'age_tag = "age"\nmax_age_s = 5',
            "class.age_tag: 'age' is not a tag",
        ),
        ('description = "Floor scale, Modbus TCP"', 'age_tag = "stable"', "class: an age_tag needs max_age_s"),
        (
            'description = "Floor scale, Modbus TCP"',
            "max_age_s = 0",
            "class.max_age_s: 0 is less than the minimum of 1",
        ),
        ('description = "Floor scale, Modbus TCP"', 'max_age_s = "5"', "class.max_age_s: '5' is not of type 'integer'"),
        ('description = "Floor scale, Modbus TCP"', "max_age_s = 2.5", "class.max_age_s: 2.5 is not of type 'integer'"),
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


def test_float64_occupies_four_registers() -> None:
    text = GOOD.replace('type = "float32"', 'type = "float64"').replace("register = 2", "register = 4")
    assert reasons(text) == []
    assert reasons(text.replace("register = 0", "register = 65532")) == []  # 65532-65535, the last four
    assert reasons(text.replace("register = 0", "register = 65533")) == [
        f"{PATH}: tags.net_mass.register: a float64 at 65533 runs past 65535"
    ]


def test_holding_and_input_registers_are_separate_tables() -> None:
    both = GOOD.replace("register = 2", 'register = 1\nregister_type = "input"')
    assert reasons(both) == []
    inputs = both.replace('type = "float32"', 'type = "float32"\nregister_type = "input"')
    assert reasons(inputs) == [f"{PATH}: tags.stable.register: input register 1 overlaps tag 'net_mass'"]


def test_the_new_tag_and_class_fields_become_the_equipment_class() -> None:
    text = GOOD.replace(
        'description = "Floor scale, Modbus TCP"',
        'description = "Floor scale, Modbus TCP"\nstable_tag = "stable"\nage_tag = "value_age"\nmax_age_s = 5',
    ).replace('scale = "1"', 'scale = "0.01"\noffset = "-273.15"\nbyte_order = "little"\nregister_type = "input"')
    text += '\n[tags.value_age]\nregister = 3\ntype = "uint16"\nunit = "s"\n'
    cls = equipment.read(PATH, text.encode())
    assert (cls.stable_tag, cls.age_tag, cls.max_age_s) == ("stable", "value_age", 5)
    net = cls.tag("net_mass")
    assert net is not None
    assert (net.scale, net.offset, net.byte_order, net.register_type) == ("0.01", "-273.15", "little", "input")
    assert cls.tag("value_age") == TagDefinition("value_age", 3, "uint16", unit="s")


@pytest.mark.parametrize("tags", ["", "\n[tags]\n"], ids=["no tags table", "empty tags table"])
def test_equipment_with_no_device_is_a_class_without_tags(tags: str) -> None:
    text = f'[class]\nid = "ibc"\ndescription = "Intermediate bulk container"\n{tags}'
    cls = equipment.read("equipment/classes/ibc.toml", text.encode())
    assert (cls.id, cls.tags, cls.stable_tag, cls.age_tag, cls.max_age_s) == ("ibc", (), "", "", None)


def test_a_class_without_tags_cannot_name_a_stable_tag() -> None:
    text = '[class]\nid = "ibc"\nstable_tag = "stable"\n'
    assert reasons(text, "equipment/classes/ibc.toml") == [
        "equipment/classes/ibc.toml: class.stable_tag: 'stable' is not a tag of this class"
    ]
