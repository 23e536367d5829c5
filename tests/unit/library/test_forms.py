"""Form files: the JSON schema and the rules beyond it, each problem named with its file and JSON path."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ebr.domain.errors import InvalidInput
from ebr.domain.limits import Limit
from ebr.domain.steps import DeviceSource, ReconciliationLine, YieldSpec
from ebr.library import forms, schema
from ebr.library.errors import ContentInvalid

PATH = "forms/weigh_api.json"
GOOD: dict[str, Any] = {
    "id": "weigh_api",
    "title": "Weigh API",
    "fields": [
        {
            "id": "api_lot",
            "label": "API lot",
            "type": "barcode",
            "required": True,
            "check": "material_lot",
            "material": "PARA-API",
            "verify": "double_entry",
        },
        {
            "id": "api_mass",
            "label": "Net mass",
            "type": "quantity",
            "unit": "kg",
            "precision": 3,
            "limits": {"target": "25.000", "tolerance": "0.050"},
            "source": {"equipment": "balance", "tag": "net_mass"},
        },
        {"id": "yield_pct", "label": "Yield", "type": "calculated", "unit": "%", "expression": "api_mass / 25 * 100"},
        {"id": "grade", "label": "Grade", "type": "choice", "choices": ["A", "B"], "help": "From the label."},
        {"id": "temp", "label": "Temperature", "type": "reading", "source": {"equipment": "probe", "tag": "t"}},
        {"id": "sealed", "label": "Container sealed", "type": "boolean"},
    ],
    "yield": {
        "produced": "api_mass",
        "theoretical": "25.000",
        "unit": "kg",
        "scrap": "0.010",
        "limits": {"min": "95.0", "max": "100.5"},
    },
    "reconciliation": [
        {"material": "PARA-API", "unit": "kg", "issued": "api_mass + 5", "used": "api_mass", "returned": "5"},
        {
            "material": "MCC-101",
            "unit": "kg",
            "issued": "30",
            "used": "api_mass",
            "returned": "4",
            "waste": "1",
            "tolerance": "0.050",
        },
    ],
}


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def changed(path: str, value: object) -> dict[str, Any]:
    """GOOD with the value at a dotted path (fields.1.limits.target) replaced; a value of ... deletes it."""
    document = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return document


def reasons(document: object, path: str = PATH) -> list[str]:
    return [str(problem) for problem in forms.problems(path, encode(document))]


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(schema.validator("form").schema)
    assert schema.validator("form").schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_good_form_becomes_a_form_definition_with_exact_decimals() -> None:
    form = forms.read(PATH, encode(GOOD))
    assert form.id == "weigh_api"
    assert [f.id for f in form.fields] == ["api_lot", "api_mass", "yield_pct", "grade", "temp", "sealed"]
    mass = form.field("api_mass")
    assert mass is not None
    assert mass.limit == Limit(target=Decimal("25.000"), tolerance=Decimal("0.050"), unit="kg")
    assert mass.source == DeviceSource("balance", "net_mass")
    assert mass.precision == 3
    assert form.fields[0].check == "material_lot"
    assert form.fields[2].expression == "api_mass / 25 * 100"
    assert form.fields[3].choices == ("A", "B")
    assert form.fields[3].help == "From the label."
    assert all(f.required for f in form.fields)
    assert [f.double_entry for f in form.fields] == [True, False, False, False, False, False]


def test_yield_and_reconciliation_are_read_with_their_defaults() -> None:
    form = forms.read(PATH, encode(GOOD))
    assert form.yield_spec == YieldSpec(
        produced="api_mass",
        theoretical="25.000",
        unit="kg",
        scrap="0.010",
        samples="0",
        low=Decimal("95.0"),
        high=Decimal("100.5"),
    )
    assert form.reconciliation == (
        ReconciliationLine("PARA-API", "kg", "api_mass + 5", "api_mass", "5", "0", Decimal("0")),
        ReconciliationLine("MCC-101", "kg", "30", "api_mass", "4", "1", Decimal("0.050")),
    )


def test_a_form_without_yield_or_reconciliation_has_none() -> None:
    document = changed("yield", ...)
    del document["reconciliation"]
    form = forms.read(PATH, encode(document))
    assert form.yield_spec is None
    assert form.reconciliation == ()


def test_yield_limits_may_be_one_sided() -> None:
    form = forms.read(PATH, encode(changed("yield.limits", {"min": "90"})))
    assert form.yield_spec is not None
    assert (form.yield_spec.low, form.yield_spec.high) == (Decimal("90"), None)
    assert forms.read(PATH, encode(changed("yield.limits", ...))).yield_spec == YieldSpec(
        "api_mass", "25.000", "kg", scrap="0.010"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            changed("fields.1.limits.target", "abc"),
            "forms/weigh_api.json: fields[1].limits.target: 'abc' is not a decimal",
        ),
        (changed("fields.1.limits.tolerance", 0.05), "fields[1].limits.tolerance: 0.05 is not a decimal"),
        (changed("fields.1.limits.target", "1e3"), "fields[1].limits.target: '1e3' is not a decimal"),
        (changed("fields.1.unit", ...), "fields[1]: a quantity field needs a 'unit'"),
        (changed("fields.3.choices", ...), "fields[3]: a choice field needs 'choices'"),
        (changed("fields.3.choices", []), "fields[3].choices: [] should be non-empty"),
        (changed("fields.4.source", ...), "fields[4]: a reading field needs a 'source'"),
        (changed("fields.4.source", {"equipment": "probe"}), "fields[4].source: 'tag' is a required property"),
        (changed("fields.2.expression", ...), "fields[2]: a calculated field needs an 'expression'"),
        (changed("fields.2.expression", "api_mass.real"), "fields[2].expression: attribute access is not allowed"),
        (changed("fields.2.expression", "__import__('os')"), "fields[2].expression:"),
        (changed("fields.2.expression", "api_mass +"), "fields[2].expression: not a valid expression"),
        (changed("fields.2.expression", "yield_pct + 1"), "fields[2].expression: the expression uses its own field"),
        (changed("fields.0.type", "int"), "fields[0].type: 'int' is not one of"),
        (changed("fields.0.check", "serial"), "fields[0].check: 'serial' is not one of"),
        (changed("fields.3.check", "equipment"), "fields[3]: 'check' belongs to barcode fields only"),
        (changed("fields.0.expression", "1"), "fields[0]: 'expression' belongs to calculated fields only"),
        (changed("fields.0.choices", ["a"]), "fields[0]: 'choices' belong to choice fields only"),
        (changed("fields.3.limits", {"min": "1"}), "fields[3]: 'limits' belong to number, quantity, reading"),
        (changed("fields.0.source", {"equipment": "b", "tag": "t"}), "fields[0]: 'source' belongs to number"),
        (changed("fields.1.limits.target", ...), "fields[1].limits: 'target' and 'tolerance' go together"),
        (changed("fields.1.limits", {}), "fields[1].limits: limits need 'target' with 'tolerance', 'min' or 'max'"),
        (changed("fields.1.limits.min_exclusive", True), "fields[1].limits: 'min_exclusive' needs a 'min'"),
        (changed("fields.1.limits.tolerance", "-0.050"), "fields[1].limits: tolerance -0.050 is negative"),
        (changed("fields.1.limits", {"min": "10", "max": "5"}), "fields[1].limits: min 10 is above max 5"),
        (
            changed("fields.1.limits", {"min": "5", "max": "5", "max_exclusive": True}),
            "fields[1].limits: no value can be within these limits",
        ),
        (
            changed("fields.1.limits", {"target": "25", "tolerance": "1", "min": "30"}),
            "fields[1].limits: no value can be within these limits",
        ),
        (changed("fields.1.precision", -1), "fields[1].precision: -1 is less than the minimum of 0"),
        (
            changed("fields.1.colour", "red"),
            "fields[1]: Additional properties are not allowed ('colour' was unexpected)",
        ),
        (changed("fields.1.required", "yes"), "fields[1].required: 'yes' is not of type 'boolean'"),
        (changed("fields.4.id", "api_mass"), "fields[4].id: 'api_mass' is already the id of fields[1]"),
        (changed("fields.0.id", "Api Lot"), "fields[0].id: 'Api Lot' is not an identifier"),
        (changed("fields.0.id", "sum"), "fields[0].id: 'sum' is a reserved word of the expression language"),
        (changed("fields.0.id", "if"), "fields[0].id: 'if' is a reserved word of the expression language"),
        (changed("fields.0.label", ""), "fields[0].label: '' should be non-empty"),
        (changed("fields", []), "fields: [] should be non-empty"),
        (changed("fields", ...), "forms/weigh_api.json: 'fields' is a required property"),
        (changed("id", "weigh_other"), "forms/weigh_api.json: id: 'weigh_other' does not match the file name"),
        (changed("title", 5), "title: 5 is not of type 'string'"),
        ([1, 2], "[1, 2] is not of type 'object'"),
    ],
)
def test_each_bad_form_is_refused_naming_the_json_path(document: object, expected: str) -> None:
    found = reasons(document)
    assert any(expected in reason for reason in found), found
    with pytest.raises(InvalidInput, match="forms/weigh_api.json"):
        forms.read(PATH, encode(document))


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (changed("fields.5.verify", "double_entry"), "fields[5]: 'verify' belongs to number, quantity, text and"),
        (changed("fields.2.verify", "double_entry"), "fields[2]: 'verify' belongs to number, quantity, text and"),
        (changed("fields.0.verify", "twice"), "fields[0].verify: 'twice' is not one of ['double_entry']"),
        (changed("yield.theoretical", ...), "forms/weigh_api.json: yield: 'theoretical' is a required property"),
        (changed("yield.unit", "kgs"), "yield.unit: 'kgs' is not a unit of measure (one of"),
        (changed("yield.limits", {"min": "101", "max": "95"}), "yield.limits: min 101 is above max 95"),
        (changed("yield.limits", {"min": "-1"}), "yield.limits: min -1 is negative"),
        (changed("yield.limits", {}), "yield.limits: yield limits need 'min' or 'max'"),
        (changed("yield.limits.max", 100.5), "yield.limits.max: 100.5 is not a decimal"),
        (changed("yield.limits.target", "98"), "yield.limits: Additional properties are not allowed ('target'"),
        (changed("yield.produced", "__import__('os').system('id')"), "yield.produced: calling a computed value"),
        (changed("yield.samples", "api_mass.real"), "yield.samples: attribute access is not allowed"),
        (changed("yield.scrap", "api_mass +"), "yield.scrap: not a valid expression"),
        (changed("yield.theoretical", ""), "yield.theoretical: '' should be non-empty"),
        (changed("yield.bonus", "1"), "yield: Additional properties are not allowed ('bonus' was unexpected)"),
        (changed("reconciliation.0.colour", "red"), "reconciliation[0]: Additional properties are not allowed"),
        (changed("reconciliation.0.used", ...), "reconciliation[0]: 'used' is a required property"),
        (changed("reconciliation.1.issued", "(lambda: 1)()"), "reconciliation[1].issued: calling a computed value"),
        (changed("reconciliation.1.waste", "open('x')"), "reconciliation[1].waste:"),
        (changed("reconciliation.1.tolerance", "-0.050"), "reconciliation[1].tolerance: tolerance -0.050 is negative"),
        (changed("reconciliation.1.tolerance", 0.05), "reconciliation[1].tolerance: 0.05 is not a decimal"),
        (changed("reconciliation.1.unit", "tablets"), "reconciliation[1].unit: 'tablets' is not a unit of measure"),
        (changed("reconciliation.1.material", "PARA-API"), "reconciliation[1].material: 'PARA-API' is already"),
        (changed("reconciliation.0.material", "PARA API"), "reconciliation[0].material: 'PARA API' is not a material"),
        (changed("reconciliation", []), "reconciliation: [] should be non-empty"),
    ],
)
def test_each_bad_verify_yield_or_reconciliation_is_refused_naming_the_json_path(
    document: object, expected: str
) -> None:
    found = reasons(document)
    assert any(expected in reason for reason in found), found
    with pytest.raises(ContentInvalid, match="forms/weigh_api.json"):
        forms.read(PATH, encode(document))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "forms/weigh_api.json: not valid JSON: Expecting property name"),
        (b'{"id": "a", "id": "b"}', "the key 'id' appears twice in one object"),
        (b'{"x": NaN}', "NaN is not a JSON number"),
        (b"\xff\xfe{", "not UTF-8 text"),
    ],
)
def test_unreadable_json_is_refused(content: bytes, expected: str) -> None:
    found = [str(problem) for problem in forms.problems(PATH, content)]
    assert len(found) == 1
    assert expected in found[0]


def test_every_problem_is_reported_at_once() -> None:
    document = changed("fields.1.limits.target", "abc")
    document["fields"][2]["label"] = ""
    document["fields"][3].pop("choices")
    with pytest.raises(ContentInvalid) as refused:
        forms.read(PATH, encode(document))
    paths = [problem.reason.split(":")[0] for problem in refused.value.problems]
    assert paths == ["fields[1].limits.target", "fields[2].label", "fields[3]"]
    assert {problem.element_id for problem in refused.value.problems} == {PATH}


def test_exclusive_limits_and_optional_fields_are_read() -> None:
    document = changed("fields.1.limits", {"min": "0", "max": "30", "min_exclusive": True})
    document["fields"][0]["required"] = False
    form = forms.read(PATH, encode(document))
    assert not form.fields[0].required
    limit = form.fields[1].limit
    assert limit is not None
    assert limit.min_exclusive
    assert not limit.evaluate(Decimal("0")).within
    assert limit.evaluate(Decimal("30")).within


def test_sources_are_read_leniently_for_bundling() -> None:
    assert forms.sources(encode(GOOD)) == ["balance", "probe"]
    assert forms.sources(b"not json") == []
    assert forms.sources(encode({"fields": [{"source": "balance"}, 3]})) == []


DISPENSING: dict[str, Any] = {
    "id": "weigh_api",
    "title": "Dispense API",
    "fields": [
        {"id": "lot", "label": "Container", "type": "barcode", "check": "material_lot", "material": "PARA-API"},
        {"id": "tare", "label": "Tare", "type": "reading", "unit": "kg", "source": {"equipment": "b", "tag": "t"}},
        {"id": "gross", "label": "Gross", "type": "reading", "unit": "kg", "source": {"equipment": "b", "tag": "g"}},
        {
            "id": "net",
            "label": "Net",
            "type": "calculated",
            "unit": "kg",
            "expression": "gross - tare",
            "limits": {"target": "10.000", "tolerance": "0.050"},
        },
        {"id": "scale", "label": "Scale", "type": "barcode", "check": "equipment", "equipment": "balance"},
    ],
    "dispense": {"container": "lot", "tare": "tare", "gross": "gross", "net": "net"},
}


def test_a_dispense_block_and_scan_expectations_are_read() -> None:
    form = forms.read(PATH, encode(DISPENSING))
    assert form.dispense is not None and (form.dispense.container, form.dispense.net) == ("lot", "net")
    assert (form.fields[0].material, form.fields[0].on_fail) == ("PARA-API", "block")
    assert form.fields[4].equipment == "balance"
    assert forms.sources(encode(DISPENSING)) == ["b", "balance"]  # the scanned class is bundled too


def _dispensing(change: str, value: object) -> dict[str, Any]:
    document = copy.deepcopy(DISPENSING)
    *parents, last = change.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return document


@pytest.mark.parametrize(
    ("change", "value", "expected"),
    [
        ("fields.0.material", ..., "a material_lot check needs the 'material' code it expects"),
        ("fields.4.material", "PARA-API", "'material' belongs to material_lot checks only"),
        ("fields.0.equipment", "balance", "'equipment' belongs to equipment checks only"),
        ("fields.1.on_fail", "deviation", "'on_fail' belongs to fields with a 'check'"),
        ("fields.0.on_fail", "warn", "fields[0].on_fail"),
        ("dispense.net", "nowhere", "dispense.net: 'nowhere' is not a field of this form"),
        ("dispense.container", "scale", "dispense.container: must be a barcode field with the material_lot check"),
        ("dispense.tare", "lot", "dispense.tare: 'lot' is not a number, quantity or reading"),
        ("fields.2.unit", "g", "tare, gross and net must share one unit"),
        ("fields.3.limits", {"min": "1"}, "dispense.net: must be a calculated field with a target and tolerance"),
    ],
)
def test_each_bad_scan_or_dispense_rule_is_refused_naming_where(change: str, value: object, expected: str) -> None:
    found = reasons(_dispensing(change, value))
    assert any(expected in reason for reason in found), found
