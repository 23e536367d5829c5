"""`ebr validation-report`: the requirement → test → result trace matrix as HTML and PDF (VAL-01)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import click

from ebr.app.validation_report import (
    TestResult,
    TraceMatrix,
    build_matrix,
    parse_evidence,
    parse_junit,
    parse_requirements,
    parse_results_json,
)
from ebr.domain.errors import InvalidInput

HTML_NAME = "validation-report.html"
PDF_NAME = "validation-report.pdf"
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read the {what} {path}: {exc}") from None


def _results(results: Path | None, junit: Path | None) -> list[TestResult]:
    found: list[TestResult] = []
    if results is not None:
        found += parse_results_json(_read(results, "results file"))
    if junit is not None:
        found += parse_junit(_read(junit, "JUnit file"))
    return found


def _matrix(requirements: Path, results: Path | None, junit: Path | None, evidence: Path | None) -> TraceMatrix:
    try:
        listed = parse_requirements(_read(requirements, "requirements file"))
        tests = _results(results, junit)
        where = parse_evidence(_read(evidence, "evidence map")) if evidence is not None else {}
        return build_matrix(listed, tests, where)
    except InvalidInput as exc:
        raise click.ClickException(f"{exc} Nothing was written.") from None


@click.command("validation-report")
@click.argument("requirements_file", type=_FILE)
@click.option("--results", type=_FILE, help="The test run's per-test results (test-results/requirements.json).")
@click.option("--junit", type=_FILE, help="A JUnit XML report whose test cases carry 'req' properties.")
@click.option("--evidence", type=_FILE, help="TOML map: requirement ID = [documents holding its evidence].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
@click.option("--strict", is_flag=True, help="Exit 1 when an automated requirement failed or has no test.")
def validation_report(
    requirements_file: Path, results: Path | None, junit: Path | None, evidence: Path | None, out: Path, strict: bool
) -> None:
    """Write validation-report.html and .pdf: every requirement, its tests and their outcome, and the evidence of
    reviewed and procedural items."""
    import ebr
    from ebr.adapters.pdf.validation_report import ValidationReportRenderer

    if results is None and junit is None:
        raise click.UsageError("name the test results: --results FILE and/or --junit FILE")
    matrix = _matrix(requirements_file, results, junit, evidence)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page is noise here
    meta = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "requirements": str(requirements_file),
        "results": ", ".join(str(p) for p in (results, junit) if p is not None),
        "evidence": str(evidence or "none"),
    }
    documents = {e for row in matrix.rows for e in row.evidence}
    missing = frozenset(e for e in documents if not Path(e).exists())
    renderer = ValidationReportRenderer(ebr.__version__)
    html = renderer.html(matrix, meta, missing)
    pdf = renderer.pdf(html)  # both made before either is written: a failure leaves no half report
    out.mkdir(parents=True, exist_ok=True)
    (out / HTML_NAME).write_text(html, encoding="utf-8")
    (out / PDF_NAME).write_bytes(pdf)
    flagged = [row.requirement.id for row in matrix.flagged]
    click.echo(
        f"{len(matrix.rows)} requirements, {len(flagged)} flagged{': ' + ', '.join(flagged) if flagged else ''}; "
        f"wrote {out / HTML_NAME} and {out / PDF_NAME}"
    )
    if strict and flagged:
        raise SystemExit(1)
