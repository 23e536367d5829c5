"""`ebr validation-report`: the trace matrix generated from the requirements, the test markers' results and the
evidence map, as HTML and PDF (VAL-01); and the coverage check that fails the test run on an untested ID."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from ebr.app.validation_report import parse_requirements
from ebr.cli import main
from tests import requirements, requirements_coverage

REQUIREMENTS = """# Requirements

### A. Section

1. **AAA-01** · 11.10(a)
   **Requirement:** The first thing works.
   **Check:** [auto] A test proves it.
2. **AAA-02** · Annex 11 §4
   **Requirement:** The second thing works.
   **Check:** [auto] A test proves it. [review] A reviewer reads the plan.
3. **AAA-03** · 11.10(i) (P)
   **Requirement:** People are trained.
   **Check:** [review] The SOP.

### B. Another

4. **BBB-01** · 11.10(b)
   **Requirement:** The fourth thing works.
   **Check:** [auto] Nobody has written its test yet.
"""

RESULTS = {
    "tests": {
        "tests/a.py::test_first": {"outcome": "passed", "requirements": ["AAA-01"], "location": "tests/a.py:10"},
        "tests/a.py::test_second": {"outcome": "failed", "requirements": ["AAA-02"], "location": "tests/a.py:20"},
        "tests/a.py::test_second_again": {"outcome": "passed", "requirements": ["AAA-02"], "location": "tests/a.py:30"},
    }
}
EVIDENCE = 'AAA-02 = ["docs/test-plan.md"]\nAAA-03 = ["docs/sop-training.md"]\n'


def write(tmp_path: Path, results: str | None = None) -> dict[str, Path]:
    files = {"req": tmp_path / "REQUIREMENTS.md", "results": tmp_path / "results.json", "ev": tmp_path / "ev.toml"}
    files["req"].write_text(REQUIREMENTS, encoding="utf-8")
    files["results"].write_text(json.dumps(RESULTS) if results is None else results, encoding="utf-8")
    files["ev"].write_text(EVIDENCE, encoding="utf-8")
    return files


def report(files: dict[str, Path], out: Path, *extra: str) -> Result:
    args = ["validation-report", str(files["req"]), "--evidence", str(files["ev"]), "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


def rows(html: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """ID → (status, [(test, outcome)]) from the report's table."""
    found = {}
    for rid, body in re.findall(r'<tr id="([A-Z]+-\d+)"[^>]*>(.*?)</tr>', html, re.DOTALL):
        status = re.search(r'<td class="status">(\w+)</td>', body)
        assert status is not None
        tests = re.findall(r'<span class="node">([^<]+)</span> → <span class="outcome">(\w+)</span>', body)
        found[rid] = (status.group(1), tests)
    return found


@pytest.mark.req("VAL-01")
def test_the_matrix_lists_each_requirement_with_its_tagged_tests_and_their_outcome(tmp_path: Path) -> None:
    files = write(tmp_path)
    result = report(files, tmp_path / "out", "--results", str(files["results"]))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "validation-report.html").read_text(encoding="utf-8")
    assert rows(html) == {
        "AAA-01": ("passed", [("tests/a.py::test_first", "passed")]),
        "AAA-02": ("failed", [("tests/a.py::test_second", "failed"), ("tests/a.py::test_second_again", "passed")]),
        "AAA-03": ("review", []),
        "BBB-01": ("untested", []),
    }
    assert "evidence: docs/test-plan.md" in html
    assert "evidence: docs/sop-training.md (not found)" in html
    assert "tests/a.py:20" in html
    assert "Flagged (an automated check failed or has no test): AAA-02, BBB-01" in html
    assert "2 flagged: AAA-02, BBB-01" in result.output


def test_the_pdf_is_pdfa_and_holds_every_requirement_id(tmp_path: Path) -> None:
    files = write(tmp_path)
    assert report(files, tmp_path / "out", "--results", str(files["results"])).exit_code == 0
    pdf = PdfReader(io.BytesIO((tmp_path / "out" / "validation-report.pdf").read_bytes()))
    text = "".join(page.extract_text() for page in pdf.pages)
    for rid in ("AAA-01", "AAA-02", "AAA-03", "BBB-01"):
        assert rid in text
    assert pdf.xmp_metadata is not None
    assert b"pdfaid" in pdf.xmp_metadata.stream.get_data()


def test_strict_exits_1_when_an_automated_requirement_is_untested(tmp_path: Path) -> None:
    files = write(tmp_path)
    result = report(files, tmp_path / "out", "--results", str(files["results"]), "--strict")
    assert result.exit_code == 1
    assert (tmp_path / "out" / "validation-report.html").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"other": 1}', "needs a 'tests' object"),
        ('{"tests": {"t": {"outcome": "great"}}}', "outcome must be one of"),
        ('{"tests": {"t": {"outcome": "passed", "requirements": "AAA-01"}}}', "must be a list"),
    ],
)
def test_a_malformed_results_file_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    files = write(tmp_path, results=content)
    result = report(files, tmp_path / "out", "--results", str(files["results"]))
    assert result.exit_code == 1
    assert message in result.output
    assert "Nothing was written." in result.output
    assert not (tmp_path / "out").exists()


def test_an_evidence_entry_for_an_unknown_id_is_refused(tmp_path: Path) -> None:
    files = write(tmp_path)
    files["ev"].write_text('ZZZ-99 = ["docs/x.md"]\n', encoding="utf-8")
    result = report(files, tmp_path / "out", "--results", str(files["results"]))
    assert result.exit_code == 1
    assert "ZZZ-99" in result.output
    assert not (tmp_path / "out").exists()


def test_a_junit_report_with_req_properties_feeds_the_same_matrix(tmp_path: Path) -> None:
    files = write(tmp_path)
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="tests.a" name="test_first"><properties><property name="req" value="AAA-01"/>'
        '</properties></testcase><testcase classname="tests.a" name="test_fourth"><properties>'
        '<property name="req" value="BBB-01"/></properties><failure message="boom"/></testcase>'
        '<testcase classname="tests.a" name="test_untagged"/></testsuite></testsuites>',
        encoding="utf-8",
    )
    assert report(files, tmp_path / "out", "--junit", str(junit)).exit_code == 0
    found = rows((tmp_path / "out" / "validation-report.html").read_text(encoding="utf-8"))
    assert found["AAA-01"] == ("passed", [("tests.a::test_first", "passed")])
    assert found["BBB-01"] == ("failed", [("tests.a::test_fourth", "failed")])
    assert found["AAA-02"] == ("untested", [])


def test_a_junit_file_with_a_dtd_is_refused(tmp_path: Path) -> None:
    files = write(tmp_path)
    junit = tmp_path / "junit.xml"
    junit.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites/>', encoding="utf-8")
    result = report(files, tmp_path / "out", "--junit", str(junit))
    assert result.exit_code == 1
    assert "DTD" in result.output


def test_the_report_reads_the_same_ids_and_automated_checks_as_the_coverage_check() -> None:
    product = parse_requirements(requirements.REQUIREMENTS.read_text(encoding="utf-8"))
    assert {r.id: r.auto for r in product} == {rid: r.automated for rid, r in requirements.load().items()}
    assert {r.id for r in product if r.procedural} >= {"ACC-09", "PWD-08", "SIG-13", "OPS-02"}


@pytest.mark.req("VAL-01")
def test_the_coverage_check_fails_on_an_untested_automated_id_unless_it_is_pending() -> None:
    listed = {
        "AAA-01": requirements.Requirement("AAA-01", True, "proven"),
        "BBB-01": requirements.Requirement("BBB-01", True, "untested"),
        "CCC-01": requirements.Requirement("CCC-01", False, "review only"),
    }
    passed = {"AAA-01": ["tests/a.py::test_first"]}
    assert requirements_coverage.check(listed, passed, {}, []) == [
        "BBB-01 has no passing tagged test and is not in pending.txt"
    ]
    assert requirements_coverage.check(listed, passed, {}, ["BBB-01"]) == []
    assert requirements_coverage.check(listed, passed, {"AAA-01": ["tests/a.py::test_first"]}, ["BBB-01"]) == [
        "AAA-01 has no passing tagged test and is not in pending.txt"
    ]
    assert requirements_coverage.check(listed, passed, {}, ["BBB-01", "AAA-01"]) == [
        "AAA-01 is proven now: remove it from pending.txt (the list only shrinks)"
    ]
