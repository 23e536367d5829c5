"""A small library folder built per test: procedures, common sub-procedures, forms, equipment and a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ebr.library.loader import FolderLibrary

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" '
    'targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def user_task(task_id: str, form: str, equipment: str = "") -> str:
    extra = f'<spiffworkflow:property name="ebr:equipment" value="{equipment}" />' if equipment else ""
    return (
        f'<bpmn:userTask id="{task_id}" name="{task_id}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="ebr:form" value="{form}" />'
        f'<spiffworkflow:property name="ebr:performer" value="operator" />{extra}'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n"
    )


def call(task_id: str, called: str) -> str:
    return f'<bpmn:callActivity id="{task_id}" calledElement="{called}" />\n'


def process(process_id: str, *body: str, name: str = "") -> str:
    """A BPMN file with one process; the flows do not matter to the library."""
    title = f' name="{name}"' if name else ""
    return (
        HEADER
        + f'<bpmn:process id="{process_id}"{title} isExecutable="true">\n'
        + "".join(body)
        + "</bpmn:process>\n</bpmn:definitions>\n"
    )


def form(form_id: str, *fields: dict[str, object]) -> str:
    items = list(fields) or [{"id": f"{form_id}_done", "label": "Done", "type": "boolean"}]
    return json.dumps({"id": form_id, "title": form_id.title(), "fields": items}, indent=2)


def reading(field_id: str, equipment: str, tag: str) -> dict[str, object]:
    return {
        "id": field_id,
        "label": field_id,
        "type": "reading",
        "unit": "kg",
        "source": {"equipment": equipment, "tag": tag},
    }


def equipment_class(class_id: str, *tags: str) -> str:
    body = "".join(
        f'\n[tags.{tag}]\nregister = {2 * i}\ntype = "float32"\nunit = "kg"\n'
        for i, tag in enumerate(tags or ("value",))
    )
    return f'[class]\nid = "{class_id}"\ndescription = "{class_id}"\n{body}'


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


LIBRARY = {
    "workflows/packing/procedure.bpmn": process(
        "packing",
        call("clear", "line_clearance"),
        user_task("weigh", "weigh", equipment="scale"),
        user_task("label", "label"),
        name="Packing of tablets",
    ),
    "workflows/quick/procedure.bpmn": process("quick", user_task("label", "label")),
    "workflows/common/line_clearance.bpmn": process(
        "line_clearance", user_task("lc_check", "lc_check"), call("clean", "cleaning_check")
    ),
    "workflows/common/cleaning_check.bpmn": process("cleaning_check", user_task("cc_check", "cc_check")),
    "workflows/common/unused.bpmn": process("unused_sub", user_task("u", "unused")),
    "workflows/README.md": "not a procedure",
    "forms/weigh.json": form("weigh", reading("net_mass_value", "balance", "net_mass")),
    "forms/label.json": form("label"),
    "forms/lc_check.json": form("lc_check"),
    "forms/cc_check.json": form("cc_check"),
    "forms/unused.json": form("unused"),
    "equipment/classes/scale.toml": equipment_class("scale", "net_mass"),
    "equipment/classes/balance.toml": equipment_class("balance", "net_mass", "tare"),
    "equipment/classes/unused.toml": equipment_class("unused"),
    "reports/batch_record/template.html.j2": "<h1>{{ batch }}</h1>",
    "reports/batch_record/fonts/readme.txt": "fonts",
    "reports/README.md": "not part of the template",
}


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    write(root, LIBRARY)
    return root


@pytest.fixture
def library(library_dir: Path) -> FolderLibrary:
    return FolderLibrary(library_dir)
