"""FolderLibrary: which files a bundle freezes, its hash, definitions from the bundle's bytes, and problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ebr.app.ports import LintProblem, ProcedureLibrary
from ebr.domain.errors import InvalidInput, NotFound
from ebr.domain.procedure import ProcedureBundle, bundle_hash
from ebr.library.loader import FolderLibrary
from tests.unit.library.conftest import LIBRARY as LIBRARY_FILES
from tests.unit.library.conftest import call, equipment_class, form, process, reading, user_task, write

PACKING = {
    "workflows/packing/procedure.bpmn",
    "workflows/common/line_clearance.bpmn",
    "workflows/common/cleaning_check.bpmn",
    "forms/weigh.json",
    "forms/label.json",
    "forms/lc_check.json",
    "forms/cc_check.json",
    "equipment/classes/scale.toml",
    "equipment/classes/balance.toml",
    "reports/batch_record/template.html.j2",
    "reports/batch_record/fonts/readme.txt",
}


def test_it_is_a_procedure_library(library: FolderLibrary) -> None:
    port: ProcedureLibrary = library
    assert port.procedure_ids() == ["packing", "quick"]


def test_a_bundle_holds_exactly_the_files_the_procedure_uses(library: FolderLibrary, library_dir: Path) -> None:
    bundle = library.bundle("packing")
    assert bundle.procedure_id == "packing"
    assert bundle.title == "Packing of tablets"
    assert set(bundle.files) == PACKING  # transitive call, ebr:form, ebr:equipment, a form's source, the report
    for path, content in bundle.files.items():
        assert content == (library_dir / path).read_bytes()
    assert bundle.content_hash == bundle_hash(bundle.files)


def test_a_procedure_without_calls_or_equipment_takes_only_its_own_files(library: FolderLibrary) -> None:
    bundle = library.bundle("quick")
    assert bundle.title == "quick"  # no process name: the id
    assert set(bundle.files) == {
        "workflows/quick/procedure.bpmn",
        "forms/label.json",
        "reports/batch_record/template.html.j2",
        "reports/batch_record/fonts/readme.txt",
    }


def test_the_hash_is_stable_and_changes_with_one_byte_of_a_form(library_dir: Path) -> None:
    first = FolderLibrary(library_dir).bundle("packing")
    again = FolderLibrary(library_dir).bundle("packing")
    assert first.content_hash == again.content_hash
    form_path = library_dir / "forms/label.json"
    content = bytearray(form_path.read_bytes())
    content[content.index(b"Done")] = ord("d")
    form_path.write_bytes(bytes(content))
    changed = FolderLibrary(library_dir).bundle("packing")
    assert changed.content_hash != first.content_hash
    assert {p for p in changed.files if changed.files[p] != first.files[p]} == {"forms/label.json"}


def test_forms_and_equipment_are_read_from_the_bundle_not_the_disk(library: FolderLibrary, library_dir: Path) -> None:
    bundle = library.bundle("packing")
    shutil.rmtree(library_dir)
    forms = library.forms(bundle)
    assert sorted(forms) == ["cc_check", "label", "lc_check", "weigh"]
    source = forms["weigh"].fields[0].source
    assert source is not None
    assert source.equipment == "balance"
    equipment = library.equipment(bundle)
    assert sorted(equipment) == ["balance", "scale"]
    assert [tag.id for tag in equipment["balance"].tags] == ["net_mass", "tare"]
    assert library.problems(bundle) == []


def test_an_unknown_procedure_is_not_found(library: FolderLibrary) -> None:
    with pytest.raises(NotFound, match="no procedure 'nope'"):
        library.bundle("nope")
    with pytest.raises(NotFound):
        library.bundle("../forms")


def test_an_unreadable_procedure_is_left_out_of_the_list_and_refused_by_name(library_dir: Path) -> None:
    write(library_dir, {"workflows/broken/procedure.bpmn": "<bpmn:definitions"})
    library = FolderLibrary(library_dir)
    assert library.procedure_ids() == ["packing", "quick"]
    with pytest.raises(InvalidInput, match=r"workflows/broken/procedure.bpmn: is not well-formed XML"):
        library.bundle("broken")


def test_two_folders_with_one_process_id_are_both_refused(library_dir: Path) -> None:
    write(library_dir, {"workflows/quick2/procedure.bpmn": process("quick", user_task("x", "label"))})
    library = FolderLibrary(library_dir)
    assert library.procedure_ids() == ["packing"]
    with pytest.raises(InvalidInput, match="'quick' is used by workflows/quick/procedure.bpmn too"):
        library.bundle("quick")


def test_a_missing_form_is_a_problem_naming_the_step_and_the_file(library_dir: Path) -> None:
    write(library_dir, {"workflows/quick/procedure.bpmn": process("quick", user_task("weigh_x", "weigh_missing"))})
    library = FolderLibrary(library_dir)
    bundle = library.bundle("quick")
    assert "forms/weigh_missing.json" not in bundle.files
    assert library.problems(bundle) == [
        LintProblem("weigh_x", "ebr:form 'weigh_missing': forms/weigh_missing.json is not in the library")
    ]
    assert library.forms(bundle) == {}


def test_missing_equipment_sub_procedures_and_bad_references_are_problems(library_dir: Path) -> None:
    body = (
        user_task("a", "label", equipment="mixer"),
        user_task("b", "../../etc/passwd"),
        call("c", "no_such_process"),
        '<bpmn:callActivity id="d" />',
        user_task("e", "reads"),
    )
    write(
        library_dir,
        {
            "workflows/quick/procedure.bpmn": process("quick", *body),
            "forms/reads.json": form("reads", reading("r1", "thermometer", "t"), reading("r2", "balance", "gross")),
        },
    )
    library = FolderLibrary(library_dir)
    bundle = library.bundle("quick")
    assert not any("passwd" in path for path in bundle.files)
    assert [str(p) for p in library.problems(bundle)] == [
        "c: calls process 'no_such_process', which is not in workflows/common/",
        "d: the call activity names no calledElement",
        "b: ebr:form '../../etc/passwd' is not a valid id",
        "a: ebr:equipment 'mixer': equipment/classes/mixer.toml is not in the library",
        "forms/reads.json: fields[0].source.equipment: 'thermometer': equipment/classes/thermometer.toml is not in "
        "the library",
        "forms/reads.json: fields[1].source.tag: 'gross' is not a tag of equipment class 'balance'",
    ]


def test_invalid_forms_and_equipment_are_problems_and_left_out(library_dir: Path) -> None:
    write(
        library_dir,
        {
            "forms/label.json": form("label", {"id": "x", "label": "X", "type": "int"}),
            "equipment/classes/scale.toml": '[class]\nid = "scale"\n[tags.net_mass]\nregister = 0\ntype = "double"\n',
        },
    )
    library = FolderLibrary(library_dir)
    bundle = library.bundle("packing")
    found = [str(p) for p in library.problems(bundle)]
    assert any(p.startswith("forms/label.json: fields[0].type: 'int' is not one of") for p in found), found
    assert any(p.startswith("equipment/classes/scale.toml: tags.net_mass.type: 'double'") for p in found), found
    assert "label" not in library.forms(bundle)
    assert "scale" not in library.equipment(bundle)


def test_an_unreadable_common_file_named_after_the_call_is_bundled_and_reported(library_dir: Path) -> None:
    write(library_dir, {"workflows/common/line_clearance.bpmn": "<oops>"})
    library = FolderLibrary(library_dir)
    bundle = library.bundle("packing")
    assert "workflows/common/line_clearance.bpmn" in bundle.files
    assert "workflows/common/cleaning_check.bpmn" not in bundle.files
    found = [str(p) for p in library.problems(bundle)]
    assert any(p.startswith("workflows/common/line_clearance.bpmn: is not well-formed XML") for p in found), found


def test_problems_come_from_the_bundle_alone() -> None:
    files = {
        "workflows/x/procedure.bpmn": process("x", user_task("t", "f")).encode(),
        "forms/f.json": form("f").encode(),
    }
    bundle = ProcedureBundle.of("x", "X", files)
    library = FolderLibrary(Path("/nonexistent"))
    assert library.problems(bundle) == []
    assert list(library.forms(bundle)) == ["f"]


def test_links_out_of_the_library_are_not_followed(library_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(form("secret"), encoding="utf-8")
    (library_dir / "forms/secret.json").symlink_to(outside)
    write(library_dir, {"workflows/quick/procedure.bpmn": process("quick", user_task("t", "secret"))})
    library = FolderLibrary(library_dir)
    bundle = library.bundle("quick")
    assert "forms/secret.json" not in bundle.files
    assert [p.element_id for p in library.problems(bundle)] == ["t"]


def test_an_empty_or_missing_library_has_no_procedures(tmp_path: Path) -> None:
    assert FolderLibrary(tmp_path / "none").procedure_ids() == []


def test_a_second_equipment_reference_from_the_common_file_is_bundled(library_dir: Path) -> None:
    write(
        library_dir,
        {
            "workflows/common/cleaning_check.bpmn": process("cleaning_check", user_task("cc", "cc_check", "swab")),
            "equipment/classes/swab.toml": equipment_class("swab"),
        },
    )
    bundle = FolderLibrary(library_dir).bundle("packing")
    assert set(bundle.files) == PACKING | {"equipment/classes/swab.toml"}


def test_hidden_files_of_the_report_are_not_bundled(library_dir: Path) -> None:
    write(library_dir, {"reports/batch_record/.DS_Store": "junk", "reports/batch_record/.git/config": "[core]"})
    bundle = FolderLibrary(library_dir).bundle("quick")
    assert not any("/." in path for path in bundle.files)


def test_a_library_inside_a_hidden_folder_still_works(tmp_path: Path) -> None:
    root = tmp_path / ".config" / "library"
    write(root, LIBRARY_FILES)
    assert set(FolderLibrary(root).bundle("packing").files) == PACKING
