"""Reading a bundle: safe XML, clear problems for files the engine cannot use, specs cached by content hash."""

from __future__ import annotations

import re
import time

import pytest

from ebr.app.ports import LintProblem
from ebr.domain.procedure import ProcedureBundle
from ebr.engine import documents
from ebr.engine.documents import MAX_FILE_BYTES
from ebr.engine.parser import PATH_TOO_LONG, EbrParser, parse_bundle
from ebr.engine.runtime import SpiffRuntime
from ebr.engine.scripting import EbrServiceTask
from tests.engine.builders import DATA, bundle, bundle_of, chain

ENTITIES = "a DTD or entity declaration is not allowed (XML bombs, external entities)"


def test_the_main_process_and_every_called_process_become_specs(runtime: SpiffRuntime) -> None:
    parsed = runtime.parse(bundle("granulation", "call/procedure.bpmn", common=("call/line_clearance.bpmn",)))
    assert parsed.problems == ()
    assert parsed.spec.name == "granulation"
    assert set(parsed.subprocess_specs) == {"line_clearance"}


def test_a_bundle_is_parsed_once_per_content_hash(runtime: SpiffRuntime) -> None:
    first = runtime.parse(bundle("linear", "linear/procedure.bpmn"))
    again = runtime.parse(bundle("linear", "linear/procedure.bpmn"))
    changed = (DATA / "linear/procedure.bpmn").read_bytes().replace(b"Weigh API", b"Weigh the API")
    other = runtime.parse(ProcedureBundle.of("linear", "Linear", {"workflows/linear/procedure.bpmn": changed}))
    assert again is first
    assert other is not first


def test_the_parser_copies_spiffworkflows_class_table_instead_of_changing_it() -> None:
    from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    assert EbrParser.OVERRIDE_PARSER_CLASSES is not SpiffBpmnParser.OVERRIDE_PARSER_CLASSES
    assert EbrParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1] is EbrServiceTask
    assert SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1] is not EbrServiceTask


@pytest.mark.parametrize("name", ["billion_laughs", "external_entity"])
def test_a_file_declaring_entities_is_refused_before_any_entity_is_expanded(name: str) -> None:
    started = time.perf_counter()
    parsed = parse_bundle(bundle(name, f"bad/{name}.bpmn"))
    assert parsed.problems == (LintProblem(f"workflows/{name}/{name}.bpmn", ENTITIES),)
    assert parsed.spec is None
    assert "root:" not in str(parsed.problems)  # nothing of /etc/passwd
    assert time.perf_counter() - started < 1


def test_a_doctype_in_utf16_is_refused_as_well() -> None:
    text = (DATA / "bad/external_entity.bpmn").read_text().replace('<?xml version="1.0"?>', "")
    document = '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + text.encode("utf-16")[2:]
    parsed = parse_bundle(bundle_of("xxe", document))
    assert [problem.reason for problem in parsed.problems] == [ENTITIES]


def test_a_declaration_the_byte_scan_missed_is_refused_by_the_parsed_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "_DECLARATION", re.compile(b"(?!)"))
    document = b"<!DOCTYPE definitions>" + (DATA / "linear/procedure.bpmn").read_bytes().split(b"?>", 1)[1]
    root, problems = documents.load("doctype.bpmn", document)
    assert root is None
    assert problems == [LintProblem("doctype.bpmn", ENTITIES)]


def test_a_file_that_is_not_xml_is_named_with_the_parser_message() -> None:
    (problem,) = parse_bundle(bundle("not_xml", "bad/not_xml.bpmn")).problems
    assert problem.element_id == "workflows/not_xml/not_xml.bpmn"
    assert problem.reason.startswith("not XML: Start tag expected")


def test_a_file_that_is_not_bpmn_is_named_with_its_root_element() -> None:
    (problem,) = parse_bundle(bundle("not_bpmn", "bad/not_bpmn.bpmn")).problems
    assert problem.reason == "not BPMN: the root element is <html>, not bpmn:definitions"


def test_a_file_larger_than_the_limit_is_refused_unread() -> None:
    padding = b"<!-- " + b"x" * MAX_FILE_BYTES + b" -->"
    (problem,) = parse_bundle(bundle_of("big", chain("big", 3) + padding)).problems
    assert problem.reason == f"the file is larger than {MAX_FILE_BYTES} bytes"


def test_a_bundle_without_bpmn_files_is_refused() -> None:
    parsed = parse_bundle(ProcedureBundle.of("empty", "Empty", {"forms/x.json": b"{}"}))
    assert parsed.problems == (LintProblem("empty", "the bundle has no BPMN file"),)


def test_an_id_used_twice_in_a_file_is_named() -> None:
    problems = parse_bundle(bundle("duplicate_ids", "bad/duplicate_ids.bpmn")).problems
    assert LintProblem("end", "the id is used twice in workflows/duplicate_ids/duplicate_ids.bpmn") in problems


def test_ids_shared_by_two_processes_are_named_because_steps_are_keyed_by_id() -> None:
    problems = parse_bundle(bundle("linear", "linear/procedure.bpmn", common=("timer/procedure.bpmn",))).problems
    named = {problem.element_id for problem in problems}
    assert {"start", "weigh_api", "end", "f1", "f2", "f3"} <= named
    assert all(problem.reason == "the id is used in processes 'settling' and 'linear'" for problem in problems)


def test_a_missing_main_process_is_named_with_the_processes_found() -> None:
    problems = parse_bundle(bundle_of("granulation", (DATA / "linear/procedure.bpmn").read_bytes())).problems
    assert problems == (LintProblem("granulation", "no process with this id in the bundle (found: linear)"),)


def test_a_call_to_a_process_outside_the_bundle_names_the_call_activity() -> None:
    problems = parse_bundle(bundle("granulation", "call/procedure.bpmn")).problems
    assert problems == (LintProblem("clearance", "calls process 'line_clearance', which is not in the bundle"),)


def test_bpmn_the_schema_refuses_is_named_with_file_and_line() -> None:
    broken = (DATA / "linear/procedure.bpmn").read_bytes().replace(b"</bpmn:process>", b"<bpmn:step /></bpmn:process>")
    (problem,) = parse_bundle(bundle_of("linear", broken)).problems
    assert problem.element_id == "workflows/linear/part0.bpmn"
    assert re.match(r"not valid BPMN \(line \d+\): Element 'bpmn:step': This element is not expected", problem.reason)


def test_a_flow_to_an_element_that_does_not_exist_is_named() -> None:
    broken = (DATA / "linear/procedure.bpmn").read_bytes().replace(b'targetRef="end"', b'targetRef="the_end"')
    problems = parse_bundle(bundle_of("linear", broken)).problems
    assert problems == (
        LintProblem("f3", "the flow connects 'the_end', which is not an event, activity or gateway of this process"),
    )


def test_a_path_too_long_for_spiffworkflows_recursive_parser_asks_for_call_activities() -> None:
    (problem,) = parse_bundle(bundle_of("long", chain("long", 700))).problems
    assert problem.reason == PATH_TOO_LONG
