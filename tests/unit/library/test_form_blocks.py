"""The sample, device release, labelling and line clearance blocks of a form and attachment fields: read into the
form definition, and each misuse refused naming its file and JSON path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ebr.domain.steps import DeviceReleaseSpec, LabellingSpec, LineClearanceSpec, SampleSpec
from ebr.library import forms

PATH = "forms/pack.json"
TEXT = {"type": "text", "required": True}
COUNT = {"type": "quantity", "unit": "pcs", "required": True}
GOOD: dict[str, Any] = {
    "id": "pack",
    "title": "Pack",
    "fields": [
        {"id": "jar", "label": "Jar", "type": "barcode"},
        {"id": "mass", "label": "Sample mass", "type": "quantity", "unit": "g"},
        {"id": "pulled", "label": "Pulled at", "type": "datetime"},
        {"id": "made", "label": "Made", **COUNT},
        {"id": "approved", "label": "Approved", **COUNT},
        {"id": "di", "label": "UDI-DI", **TEXT},
        {"id": "lot", "label": "Lot", **TEXT},
        {"id": "serial", "label": "Serial", **TEXT},
        {"id": "expiry", "label": "Expiry", **TEXT},
        {"id": "version", "label": "Label version", **TEXT},
        {"id": "specimen", "label": "Specimen", "type": "attachment"},
        {"id": "clear", "label": "Line clear", "type": "boolean"},
    ],
    "sample": {"purpose": "Assay", "quantity": "mass", "reference": "jar", "time": "pulled"},
    "device_release": {
        "quantity_manufactured": "made",
        "quantity_approved": "approved",
        "udi_di": "di",
        "lot": "lot",
        "serial": "serial",
        "expiry": "expiry",
    },
    "labelling": {"version": "version", "specimen": "specimen", "material": "LBL-1"},
    "line_clearance": {"clear": "clear"},
}


def changed(path: str, value: object) -> dict[str, Any]:
    """GOOD with the value at a dotted path replaced; a value of ... deletes it."""
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


def reasons(document: object) -> list[str]:
    return [str(problem) for problem in forms.problems(PATH, json.dumps(document).encode())]


def test_the_blocks_are_read_into_the_form_with_their_defaults() -> None:
    form = forms.read(PATH, json.dumps(GOOD).encode())

    assert form.sample == SampleSpec("Assay", "mass", "", "jar", "pulled", True)
    assert form.device_release == DeviceReleaseSpec("made", "approved", "di", "lot", "expiry", "serial")
    assert form.labelling == LabellingSpec("version", "specimen", "LBL-1")
    assert form.line_clearance == LineClearanceSpec("clear")
    assert [f.type for f in form.fields if f.id == "specimen"] == ["attachment"]


@pytest.mark.parametrize(
    ("change", "value", "expected"),
    [
        ("sample.quantity", "nowhere", "sample.quantity: 'nowhere' is not a field of this form"),
        ("sample.quantity", "jar", "sample.quantity: 'jar' must be a field of type number or quantity"),
        ("sample.time", "jar", "sample.time: 'jar' must be a field of type datetime"),
        ("sample.unit", "kg", "sample.unit: 'kg' differs from the quantity's unit 'g'"),
        ("fields.1.required", False, "sample.quantity: 'mass' must be a required field"),
        ("sample.purpose", "x", "sample.purpose"),
        ("device_release.udi_di", "made", "device_release.udi_di: 'made' must be a field of type text or barcode"),
        ("device_release.lot", ..., "device_release"),
        ("fields.4.unit", "box", "device_release: both quantities must share one unit"),
        ("fields.7.required", False, "device_release.serial: 'serial' must be a required field"),
        ("labelling.specimen", "version", "labelling.specimen: 'version' must be a field of type attachment"),
        ("labelling.material", "no spaces", "labelling.material"),
        ("fields.10.required", False, "labelling.specimen: 'specimen' must be a required field"),
        ("line_clearance.clear", "lot", "line_clearance.clear: 'lot' must be a field of type boolean"),
    ],
)
def test_each_misused_block_is_refused_naming_where(change: str, value: object, expected: str) -> None:
    found = reasons(changed(change, value))

    assert any(expected in reason for reason in found), found


def test_a_count_without_a_unit_takes_the_unit_the_sample_block_names() -> None:
    document = changed("sample", {"purpose": "Appearance", "quantity": "made"})
    document["fields"][3] = {"id": "made", "label": "Tablets", "type": "number"}
    document.pop("device_release")
    assert any("sample.unit: the quantity field has no unit: name it here" in r for r in reasons(document))

    document["sample"]["unit"] = "pcs"
    assert reasons(document) == []
