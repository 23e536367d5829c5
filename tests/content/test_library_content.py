"""The demo plant's library (workflows/, forms/, equipment/): every file loads, bundles hash stably, and the
granulation procedure shows what the authoring format can model."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ebr.demo.materials import DEMO_MATERIALS
from ebr.domain.calculations import parse
from ebr.domain.procedure import ProcedureBundle
from ebr.library import bpmn, equipment, forms
from ebr.library.loader import FolderLibrary

ROOT = Path(__file__).resolve().parents[2]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "scriptTask",
    "manualTask",
    "serviceTask",
    "callActivity",
    "exclusiveGateway",
    "parallelGateway",
    "boundaryEvent",
    "intermediateCatchEvent",
)
LIBRARY = FolderLibrary(ROOT)


def files(folder: str, pattern: str) -> list[Path]:
    return sorted((ROOT / folder).glob(pattern))


def ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


BPMN_FILES = files("workflows", "**/*.bpmn")
FORM_FILES = files("forms", "*.json")
EQUIPMENT_FILES = files("equipment/classes", "*.toml")


def tree(path: Path) -> Any:
    bpmn.read(path.name, path.read_bytes())  # the safe read first: no DTD, UTF-8
    return etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))


def properties(task: Any) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}


def bundles() -> dict[str, ProcedureBundle]:
    return {procedure_id: LIBRARY.bundle(procedure_id) for procedure_id in LIBRARY.procedure_ids()}


def test_the_demo_library_has_its_procedures() -> None:
    assert LIBRARY.procedure_ids() == ["granulation", "quick_check"]
    assert ids(BPMN_FILES) == [
        "workflows/common/line_clearance.bpmn",
        "workflows/granulation/procedure.bpmn",
        "workflows/quick_check/procedure.bpmn",
    ]
    classes = ["balance", "bin_blender", "fluid_bed_dryer", "granulator", "ibc", "mill", "ph_probe", "tablet_press"]
    assert ids(EQUIPMENT_FILES) == [f"equipment/classes/{c}.toml" for c in [*classes, "temperature_probe"]]


@pytest.mark.parametrize("path", FORM_FILES, ids=ids(FORM_FILES))
def test_every_form_loads(path: Path) -> None:
    form = forms.read(path.relative_to(ROOT).as_posix(), path.read_bytes())
    assert form.id == path.stem
    assert form.title


@pytest.mark.parametrize("path", EQUIPMENT_FILES, ids=ids(EQUIPMENT_FILES))
def test_every_equipment_class_loads(path: Path) -> None:
    cls = equipment.read(path.relative_to(ROOT).as_posix(), path.read_bytes())
    assert cls.id == path.stem
    assert cls.description  # a class without tags is gated by scan only: it has no device to read


@pytest.mark.parametrize("path", BPMN_FILES, ids=ids(BPMN_FILES))
def test_every_bpmn_file_loads_with_a_complete_diagram(path: Path) -> None:
    root = tree(path)
    nodes = [el.get("id") for name in FLOW_NODES for el in root.iter(f"{BPMN}{name}")]
    flows = [el.get("id") for el in root.iter(f"{BPMN}sequenceFlow")]
    shapes = {el.get("bpmnElement") for el in root.iter(f"{BPMNDI}BPMNShape")}
    edges = {el.get("bpmnElement") for el in root.iter(f"{BPMNDI}BPMNEdge")}
    assert set(nodes) <= shapes, "every flow node is drawn"
    assert set(flows) <= edges, "every sequence flow is drawn"
    for edge in root.iter(f"{BPMNDI}BPMNEdge"):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.mark.parametrize("path", BPMN_FILES, ids=ids(BPMN_FILES))
def test_every_step_follows_the_authoring_rules(path: Path) -> None:
    root = tree(path)
    for task in root.iter(f"{BPMN}userTask"):
        props = properties(task)
        assert (ROOT / "forms" / f"{props['ebr:form']}.json").is_file(), task.get("id")
        assert set(props["ebr:performer"].split(",")) <= {"operator", "supervisor"}, task.get("id")
        assert set(props.get("ebr:verifier", "qa").split(",")) <= {"supervisor", "qa"}, task.get("id")
        assert props.get("ebr:critical", "false") in ("true", "false")
    for gateway in root.iter(f"{BPMN}exclusiveGateway"):
        default = gateway.get("default")
        assert default, f"{gateway.get('id')} has a default flow"
        flow = root.find(f".//{BPMN}sequenceFlow[@id='{default}']")
        assert flow is not None
        assert flow.get("sourceRef") == gateway.get("id")
        assert flow.find(f"{BPMN}conditionExpression") is None
    for condition in root.iter(f"{BPMN}conditionExpression"):
        parse(condition.text or "")
    for script in root.iter(f"{BPMN}script"):
        parse(script.text or "", kind="script")


@pytest.mark.parametrize("procedure_id", ["granulation", "quick_check"])
def test_every_procedure_bundles_without_problems(procedure_id: str) -> None:
    bundle = LIBRARY.bundle(procedure_id)
    assert LIBRARY.problems(bundle) == []
    form_ids = {p.removeprefix("forms/").removesuffix(".json") for p in bundle.files if p.startswith("forms/")}
    assert set(LIBRARY.forms(bundle)) == form_ids


def test_every_form_and_equipment_class_is_used_by_a_procedure() -> None:
    used = {path for bundle in bundles().values() for path in bundle.files}
    assert set(ids(FORM_FILES) + ids(EQUIPMENT_FILES)) <= used


def test_bundle_hashes_are_stable_across_runs() -> None:
    here = {procedure_id: bundle.content_hash for procedure_id, bundle in bundles().items()}
    code = (
        "from pathlib import Path; from ebr.library.loader import FolderLibrary; lib = FolderLibrary(Path('.'))\n"
        "for p in lib.procedure_ids(): print(p, lib.bundle(p).content_hash)"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        assert dict(line.split() for line in out.stdout.splitlines()) == here
    manifest = "".join(
        f"{p}\0{hashlib.sha256((ROOT / p).read_bytes()).hexdigest()}\n"
        for p in sorted(LIBRARY.bundle("quick_check").files)
    )
    assert here["quick_check"] == hashlib.sha256(manifest.encode()).hexdigest()


class TestGranulation:
    """The showcase procedure: what a process engineer needs, modelled in the authoring format."""

    path = ROOT / "workflows/granulation/procedure.bpmn"

    def root(self) -> Any:
        return tree(self.path)

    def test_it_has_at_least_30_steps(self) -> None:
        assert len(list(self.root().iter(f"{BPMN}userTask"))) >= 30

    def test_line_clearance_is_a_call_to_a_common_sub_procedure_of_3_to_5_steps(self) -> None:
        calls = [c.get("calledElement") for c in self.root().iter(f"{BPMN}callActivity")]
        assert calls == ["line_clearance"]
        common = tree(ROOT / "workflows/common/line_clearance.bpmn")
        assert 3 <= len(list(common.iter(f"{BPMN}userTask"))) <= 5
        assert "workflows/common/line_clearance.bpmn" in LIBRARY.bundle("granulation").files

    def test_set_up_and_binder_preparation_run_in_parallel(self) -> None:
        root = self.root()
        gateways = [g.get("id") for g in root.iter(f"{BPMN}parallelGateway")]
        assert len(gateways) == 2
        split = [f.get("targetRef") for f in root.iter(f"{BPMN}sequenceFlow") if f.get("sourceRef") == gateways[0]]
        assert sorted(split) == ["prepare_binder", "setup_granulator"]

    def test_the_lod_rework_loop_is_bounded_by_a_counter(self) -> None:
        root = self.root()
        scripts = {s.get("id"): (s.findtext(f"{BPMN}script") or "") for s in root.iter(f"{BPMN}scriptTask")}
        assert scripts == {"init_rework": "rework_count = 0", "count_rework": "rework_count = rework_count + 1"}
        loop_back = [
            f
            for f in root.iter(f"{BPMN}sequenceFlow")
            if f.get("targetRef") == "dry_granules" and f.get("sourceRef") != "load_dryer"
        ]
        assert len(loop_back) == 1
        assert loop_back[0].findtext(f"{BPMN}conditionExpression") == "rework_count < 3"
        gateway = root.find(f".//{BPMN}exclusiveGateway[@id='{loop_back[0].get('sourceRef')}']")
        assert gateway is not None
        default = root.find(f".//{BPMN}sequenceFlow[@id='{gateway.get('default')}']")
        assert default is not None
        assert default.get("targetRef") == "record_drying_deviation"

    def test_a_weighed_mass_decides_between_going_on_and_a_deviation(self) -> None:
        root = self.root()
        gateway = root.find(f".//{BPMN}exclusiveGateway[@id='gw_api_mass']")
        assert gateway is not None
        default = root.find(f".//{BPMN}sequenceFlow[@id='{gateway.get('default')}']")
        assert default is not None
        deviation = root.find(f".//{BPMN}userTask[@id='{default.get('targetRef')}']")
        assert deviation is not None
        assert properties(deviation)["ebr:form"] == "deviation"
        fields = {f.id for f in LIBRARY.forms(LIBRARY.bundle("granulation"))["deviation"].fields}
        assert {"deviation_description", "deviation_impact"} <= fields

    def test_drying_has_a_hold_time_and_a_probe_reading(self) -> None:
        task = self.root().find(f".//{BPMN}userTask[@id='dry_granules']")
        assert task is not None
        props = properties(task)
        assert props["ebr:holdMin"] == "PT30M"
        assert props["ebr:equipment"] == "temperature_probe"
        form = LIBRARY.forms(LIBRARY.bundle("granulation"))["dry_granules"]
        readings = [f for f in form.fields if f.type == "reading"]
        assert readings
        assert all(f.source is not None and f.source.equipment == "temperature_probe" for f in readings)

    def test_dispensing_weighs_tare_and_gross_on_the_balance_and_checks_the_net_against_its_target(self) -> None:
        bundle = LIBRARY.bundle("granulation")
        all_forms = LIBRARY.forms(bundle)
        for name in ("dispense_api", "dispense_mcc", "dispense_povidone", "dispense_croscarmellose"):
            form = all_forms[name]
            assert form.dispense is not None
            tare, gross = form.field(form.dispense.tare), form.field(form.dispense.gross)
            assert tare is not None and tare.source is not None and tare.source.tag == "tare_mass"
            assert gross is not None and gross.source is not None and gross.source.tag == "gross_mass"
            net, container = form.field(form.dispense.net), form.field(form.dispense.container)
            assert net is not None and net.limit is not None and net.limit.tolerance is not None
            assert container is not None and container.check == "material_lot" and container.material
        assert set(LIBRARY.equipment(bundle)) == {
            "balance",
            "bin_blender",
            "fluid_bed_dryer",
            "granulator",
            "ibc",
            "mill",
            "ph_probe",
            "tablet_press",
            "temperature_probe",
        }

    def test_critical_steps_need_a_second_person(self) -> None:
        tasks = {t.get("id"): properties(t) for t in self.root().iter(f"{BPMN}userTask")}
        verified = {task_id for task_id, props in tasks.items() if "ebr:verifier" in props}
        assert {"dispense_api", "sample_lod", "calculate_yield", "final_reconciliation"} <= verified
        assert any("qa" in tasks[task_id]["ebr:verifier"] for task_id in verified)

    def test_in_process_checks_and_yield(self) -> None:
        all_forms = LIBRARY.forms(LIBRARY.bundle("granulation"))
        for form_id, field_id in (
            ("ipc_weight", "mean_tablet_weight"),
            ("ipc_hardness", "mean_hardness"),
            ("ipc_thickness", "mean_thickness"),
        ):
            field = all_forms[form_id].field(field_id)
            assert field is not None
            assert field.limit is not None
            assert field.limit.minimum is not None
            assert field.limit.maximum is not None
        yield_pct = all_forms["calculate_yield"].field("yield_pct")
        assert yield_pct is not None
        assert yield_pct.type == "calculated"
        assert "final_reconciliation" in {t.get("id") for t in self.root().iter(f"{BPMN}userTask")}

    def test_the_yield_step_declares_its_yield_with_the_limits_of_its_yield_field(self) -> None:
        form = LIBRARY.forms(LIBRARY.bundle("granulation"))["calculate_yield"]
        spec = form.yield_spec
        assert spec is not None
        assert (spec.produced, spec.scrap, spec.samples) == ("tablets_mass", "rejects_mass", "samples_mass")
        assert parse(spec.theoretical).names == {"api_mass", "mcc_mass", "pvp_mass", "crosc_mass", "mgst_mass"}
        field = form.field("yield_pct")
        assert field is not None
        assert field.limit is not None
        assert (spec.low, spec.high) == (field.limit.minimum, field.limit.maximum)

    def test_the_final_reconciliation_balances_the_api_of_the_demo_material_master(self) -> None:
        form = LIBRARY.forms(LIBRARY.bundle("granulation"))["final_reconciliation"]
        units = {material.code: material.unit for material in DEMO_MATERIALS}
        assert [(line.material, line.unit) for line in form.reconciliation] == [("PARA-API", units["PARA-API"])]
        line = form.reconciliation[0]
        assert (line.issued, line.used, line.returned, line.waste) == (
            "api_issued",
            "api_mass",
            "api_returned",
            "api_waste",
        )
        assert line.tolerance > 0

    def test_the_batch_order_number_is_entered_twice(self) -> None:
        form = LIBRARY.forms(LIBRARY.bundle("granulation"))["confirm_batch_order"]
        assert [f.id for f in form.fields if f.double_entry] == ["batch_order"]


def test_the_equipment_tag_maps_match_the_readme_format() -> None:
    balance = tomllib.loads((ROOT / "equipment/classes/balance.toml").read_text(encoding="utf-8"))
    assert balance["tags"]["net_mass"] | {} == {
        "register": 0,
        "type": "float32",
        "word_order": "big",
        "scale": "1",
        "unit": "kg",
        "min": "0",
        "max": "150",
    }
