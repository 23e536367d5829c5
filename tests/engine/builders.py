"""Plain builders for the engine tests: bundles from tests/engine/data, forms, equipment and a site policy."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from ebr.domain.limits import Limit
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.signatures import SitePolicy, parse_policy
from ebr.domain.steps import DeviceSource, EquipmentClass, FieldDefinition, FormDefinition, TagDefinition

DATA = Path(__file__).parent / "data"


def bundle(procedure_id: str, *files: str, common: tuple[str, ...] = ()) -> ProcedureBundle:
    """A bundle of fixture files: the first under workflows/<procedure_id>/, `common` ones under workflows/common/."""
    contents = {f"workflows/{procedure_id}/{Path(name).name}": (DATA / name).read_bytes() for name in files}
    contents.update({f"workflows/common/{Path(name).name}": (DATA / name).read_bytes() for name in common})
    return ProcedureBundle.of(procedure_id, procedure_id.replace("_", " ").title(), contents)


def bundle_of(procedure_id: str, *documents: bytes) -> ProcedureBundle:
    """A bundle of BPMN documents given as bytes."""
    files = {f"workflows/{procedure_id}/part{number}.bpmn": data for number, data in enumerate(documents)}
    return ProcedureBundle.of(procedure_id, procedure_id, files)


def _form(form_id: str, *fields: FieldDefinition) -> FormDefinition:
    return FormDefinition(form_id, form_id.replace("_", " ").title(), fields)


def _flag(field_id: str) -> FieldDefinition:
    return FieldDefinition(field_id, field_id.replace("_", " "), "boolean")


MASS = Limit(target=Decimal("25.000"), tolerance=Decimal("0.050"), unit="kg")

FORMS: dict[str, FormDefinition] = {
    form.id: form
    for form in (
        _form(
            "weigh_api",
            FieldDefinition("api_lot", "API lot", "barcode", check="material_lot"),
            FieldDefinition(
                "api_mass",
                "Net mass",
                "quantity",
                unit="kg",
                precision=3,
                limit=MASS,
                source=DeviceSource("balance", "net_mass"),
            ),
            FieldDefinition("yield_pct", "Yield", "calculated", unit="%", expression="api_mass / 25 * 100"),
        ),
        _form("record_yield", _flag("yield_ok")),
        _form(
            "blend",
            FieldDefinition(
                "blend_minutes", "Blend time", "number", limit=Limit(Decimal(10), None, Decimal(10), Decimal(20))
            ),
        ),
        _form("deviation", FieldDefinition("description", "Description", "text")),
        _form("room", _flag("room_clean")),
        _form("scale", _flag("scale_checked")),
        _form("sign_off", _flag("signed_off")),
        _form("clearance", _flag("line_clear")),
        _form("moisture", FieldDefinition("moisture", "Moisture", "number", unit="%", limit=Limit(maximum=Decimal(5)))),
        _form("redry", FieldDefinition("redry_minutes", "Drying time", "number")),
        _form("qa_decision", FieldDefinition("decision", "Decision", "choice", choices=("accept", "reject"))),
        _form("verify", _flag("mass_verified")),
        _form("gross", FieldDefinition("gross_mass", "Gross", "reading", source=DeviceSource("balance", "gross_mass"))),
        _form(
            "calc_bad",
            FieldDefinition("api_mass", "Mass", "number"),
            FieldDefinition("ratio", "Ratio", "calculated", expression="api_mass / unknown_factor"),
        ),
        _form(
            "probe",
            FieldDefinition("temperature", "Temperature", "reading", source=DeviceSource("thermometer", "celsius")),
        ),
    )
}

EQUIPMENT: dict[str, EquipmentClass] = {
    "balance": EquipmentClass("balance", "Floor scale", (TagDefinition("net_mass", 0, "float32", unit="kg"),)),
}


def site_policy() -> SitePolicy:
    """The demo site's rules for batch steps: operators and supervisors perform, supervisors and QA verify."""
    meanings = ("performed", "verified", "reviewed", "approved", "released", "rejected", "authored")
    document = {
        "policy": {"version": "test"},
        "meanings": {meaning: {"text": meaning.title()} for meaning in meanings},
        "rules": [
            {"object": "procedure_version", "meaning": "approved", "roles": ["qa"], "differs_from": ["authored"]},
            {"object": "signature_policy", "meaning": "approved", "roles": ["qa"], "differs_from": ["authored"]},
            {
                "object": "batch_release",
                "meaning": "released",
                "roles": ["qa"],
                "differs_from": ["performed", "verified"],
            },
            {
                "object": "batch_release",
                "meaning": "rejected",
                "roles": ["qa"],
                "differs_from": ["performed", "verified"],
            },
            {"object": "batch_step", "meaning": "performed", "roles": ["operator", "supervisor"]},
            {
                "object": "batch_step",
                "meaning": "verified",
                "roles": ["supervisor", "qa"],
                "differs_from": ["performed"],
            },
        ],
    }
    return parse_policy(document, "test-policy-hash")


def chain(process_id: str, length: int) -> bytes:
    """A process of `length` elements in a row: a start event, manual tasks, an end event."""
    tasks = [f"step_{number}" for number in range(length - 2)]
    names = ["start", *tasks, "end"]
    body = ['<bpmn:startEvent id="start" />']
    body += [f'<bpmn:manualTask id="{task}" />' for task in tasks]
    body += ['<bpmn:endEvent id="end" />']
    body += [
        f'<bpmn:sequenceFlow id="flow_{number}" sourceRef="{source}" targetRef="{target}" />'
        for number, (source, target) in enumerate(itertools.pairwise(names))
    ]
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'id="Definitions_{process_id}" targetNamespace="http://example.org/ebr">'
        f'<bpmn:process id="{process_id}" isExecutable="true">{"".join(body)}</bpmn:process></bpmn:definitions>'
    ).encode()
